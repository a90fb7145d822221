// Command ingest-accessplanit is the Lambda function behind the accessplanit
// webhook endpoint: it queues each delivery as a change.
package main

import (
	"github.com/apmc-sync/apmc/internal/edge"
	"github.com/apmc-sync/apmc/internal/ingest"
)

func main() {
	edge.StartIngest("ingest-accessplanit", ingest.NewAccessplanit)
}
