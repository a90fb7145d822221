// Command executions is the Lambda function behind the operators' API and
// web console: it lists instances and executions and runs the operations
// (pause, resume, replay). API Gateway authenticates the /api routes with
// IAM; the console signs operators in with the operator token.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/executionsapp"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/edge"
)

func main() {
	log := edge.Logger("executions")
	cfg, err := executionsapp.ConfigFromEnv(os.Getenv)
	if err != nil {
		edge.Fail(log, err)
	}
	cfg.TrustRequest = edge.IAMAuthenticated
	awsCfg, err := awsconfig.Lambda()
	if err != nil {
		edge.Fail(log, err)
	}
	function, err := executionsapp.New(context.Background(), cfg, app.Deps{AWS: app.NewClients(awsCfg, ""), Logger: log})
	if err != nil {
		edge.Fail(log, err)
	}
	lambda.Start(edge.HTTP(function.Handler))
}
