// Command ingest-accessplanit is the Lambda function behind the accessplanit
// webhook endpoint: it queues each delivery as a change.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/ingestapp"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/edge"
)

func main() {
	log := edge.Logger("ingest-accessplanit")
	cfg, err := ingestapp.ConfigFromEnv(os.Getenv)
	if err != nil {
		edge.Fail(log, err)
	}
	awsCfg, err := awsconfig.Lambda()
	if err != nil {
		edge.Fail(log, err)
	}
	handler, err := ingestapp.NewAccessplanit(cfg, app.Deps{AWS: app.NewClients(awsCfg, ""), Logger: log})
	if err != nil {
		edge.Fail(log, err)
	}
	lambda.Start(edge.HTTP(handler))
}
