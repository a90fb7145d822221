// Command backfill is the Lambda function fed by the backfill queue: it
// applies a first-sync plan as the instance's one job, page by page,
// carrying on in a new run when its time is up.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/backfillapp"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/edge"
)

func main() {
	log := edge.Logger("backfill")
	cfg, err := backfillapp.ConfigFromEnv(os.Getenv)
	if err != nil {
		edge.Fail(log, err)
	}
	awsCfg, err := awsconfig.Lambda()
	if err != nil {
		edge.Fail(log, err)
	}
	function, err := backfillapp.New(cfg, app.Deps{AWS: app.NewClients(awsCfg, ""), Logger: log})
	if err != nil {
		edge.Fail(log, err)
	}
	lambda.Start(function.Handle)
}
