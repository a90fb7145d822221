// Command executions is the Lambda function behind the operators' API and
// web console: it lists instances and executions and runs the operations
// (pause, resume, replay). API Gateway authenticates the /api routes with
// IAM; the console signs operators in with the operator token.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/console"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/edge"
	"github.com/apmc-sync/apmc/internal/ops"
	"github.com/apmc-sync/apmc/internal/queue"
	"github.com/apmc-sync/apmc/internal/secrets"
)

func main() {
	log := edge.Logger("executions")
	var env edge.Env
	instancesTable, executionsTable := env.Required("INSTANCES_TABLE"), env.Required("EXECUTIONS_TABLE")
	queueURL, deadLetterURL := env.Required("QUEUE_URL"), env.Required("DEAD_LETTER_QUEUE_URL")
	tokenHash := env.Optional("OPERATOR_TOKEN_HASH", "")
	sessionKeyID := env.Optional("CONSOLE_SESSION_KEY_ID", "")
	if err := env.Err(); err != nil {
		edge.Fail(log, err)
	}
	cfg, err := awsconfig.Lambda()
	if err != nil {
		edge.Fail(log, err)
	}
	ddb, sqsClient := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	// Display reads never open secrets, so this function holds no right on
	// the secrets key; its only KMS right is GenerateMac on the console's key.
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
		Ops:          operations,
		TokenHash:    tokenHash,
		TrustRequest: edge.IAMAuthenticated,
		Logger:       log,
	}))
	// Derived once per cold start and kept in memory only. Without it the
	// console refuses sign-ins (503) while the IAM-authenticated API still
	// serves.
	var sessionKey []byte
	if sessionKeyID == "" {
		log.Error("console sign-in disabled", "error", "CONSOLE_SESSION_KEY_ID is not set")
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		sessionKey, err = secrets.SessionKey(ctx, kms.NewFromConfig(cfg), sessionKeyID)
		cancel()
		if err != nil {
			log.Error("console sign-in disabled", "error", err.Error())
		}
	}
	consoleHandler := console.New(console.Config{Ops: operations, Executions: executions, TokenHash: tokenHash, SessionKey: sessionKey, Secure: true, Logger: log})
	mux.Handle("/console", consoleHandler)
	mux.Handle("/console/", consoleHandler)
	lambda.Start(edge.HTTP(mux))
}
