// Command reconcile is the Lambda function the schedule invokes: it
// compares every instance's Users and members changed since its last run
// with the contact states and enqueues each difference as a change.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/reconcileapp"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/edge"
)

func main() {
	log := edge.Logger("reconcile")
	cfg, err := reconcileapp.ConfigFromEnv(os.Getenv)
	if err != nil {
		edge.Fail(log, err)
	}
	awsCfg, err := awsconfig.Lambda()
	if err != nil {
		edge.Fail(log, err)
	}
	function, err := reconcileapp.New(cfg, app.Deps{AWS: app.NewClients(awsCfg, ""), Logger: log})
	if err != nil {
		edge.Fail(log, err)
	}
	lambda.Start(function.Handle)
}
