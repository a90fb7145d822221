// Command ingest-mailchimp is the Lambda function behind the Mailchimp
// webhook endpoint: it queues each delivery as a change.
package main

import (
	"github.com/apmc-sync/apmc/internal/edge"
	"github.com/apmc-sync/apmc/internal/ingest"
)

func main() {
	edge.StartIngest("ingest-mailchimp", ingest.NewMailchimp)
}
