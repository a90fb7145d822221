// Command sync is the Lambda function fed by the changes queue: it applies
// each change to the other system and records the execution.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/syncapp"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/edge"
)

func main() {
	log := edge.Logger("sync")
	cfg, err := syncapp.ConfigFromEnv(os.Getenv)
	if err != nil {
		edge.Fail(log, err)
	}
	awsCfg, err := awsconfig.Lambda()
	if err != nil {
		edge.Fail(log, err)
	}
	function, err := syncapp.New(cfg, app.Deps{AWS: app.NewClients(awsCfg, ""), Logger: log})
	if err != nil {
		edge.Fail(log, err)
	}
	lambda.Start(function.Handle)
}
