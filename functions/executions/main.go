// Command executions is the Lambda function behind the operators' API and
// web console: it lists instances and executions and runs the operations
// (pause, resume, replay). API Gateway authenticates the /api routes with
// IAM; the console signs operators in with the operator token.
package main

import (
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/console"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/edge"
	"github.com/apmc-sync/apmc/internal/ops"
	"github.com/apmc-sync/apmc/internal/queue"
)

func main() {
	log := edge.Logger("executions")
	var env edge.Env
	instancesTable, executionsTable := env.Required("INSTANCES_TABLE"), env.Required("EXECUTIONS_TABLE")
	queueURL, deadLetterURL := env.Required("QUEUE_URL"), env.Required("DEAD_LETTER_QUEUE_URL")
	tokenHash := env.Optional("OPERATOR_TOKEN_HASH", "")
	if err := env.Err(); err != nil {
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := awsconfig.Lambda()
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	ddb, sqsClient := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	// Display reads never open secrets, so this function holds no KMS rights.
	instances := dynamo.NewInstanceStore(ddb, instancesTable, nil)
	executions := dynamo.NewExecutionStore(ddb, executionsTable)
	operations := &ops.Service{
		Instances:   instances,
		Executions:  executions,
		Queue:       queue.NewProducer(sqsClient, queueURL),
		DeadLetters: &queue.DeadLetters{Client: sqsClient, URL: deadLetterURL},
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Config{
		Instances:    instances,
		Executions:   executions,
		Ops:          operations,
		TokenHash:    tokenHash,
		TrustRequest: edge.IAMAuthenticated,
		Logger:       log,
	}))
	consoleHandler := console.New(console.Config{Ops: operations, Executions: executions, TokenHash: tokenHash, Secure: true, Logger: log})
	mux.Handle("/console", consoleHandler)
	mux.Handle("/console/", consoleHandler)
	lambda.Start(edge.HTTP(mux))
}
