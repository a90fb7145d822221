// Command executions is the Lambda function behind the operators' API: it
// lists instances and executions. API Gateway authenticates the /api routes
// with IAM.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/edge"
)

func main() {
	log := edge.Logger("executions")
	var env edge.Env
	instancesTable, executionsTable := env.Required("INSTANCES_TABLE"), env.Required("EXECUTIONS_TABLE")
	tokenHash := env.Optional("OPERATOR_TOKEN_HASH", "")
	if err := env.Err(); err != nil {
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	handler := api.New(api.Config{
		// Display reads never open secrets, so this function holds no KMS rights.
		Instances:    dynamo.NewInstanceStore(ddb, instancesTable, nil),
		Executions:   dynamo.NewExecutionStore(ddb, executionsTable),
		TokenHash:    tokenHash,
		TrustRequest: edge.IAMAuthenticated,
		Logger:       log,
	})
	lambda.Start(edge.HTTP(handler))
}
