// Command sync is the Lambda function fed by the changes queue: it applies
// each change to the other system and records the execution.
package main

import (
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/edge"
	"github.com/apmc-sync/apmc/internal/queue"
	"github.com/apmc-sync/apmc/internal/secrets"
)

func main() {
	log := edge.Logger("sync")
	var env edge.Env
	instancesTable, executionsTable, contactsTable := env.Required("INSTANCES_TABLE"), env.Required("EXECUTIONS_TABLE"), env.Required("CONTACTS_TABLE")
	queueURL, keyID := env.Required("QUEUE_URL"), env.Required("KMS_KEY_ID")
	cacheTTL := env.Seconds("INSTANCE_CACHE_SECONDS", 5*time.Second) // short, so a pause takes effect within seconds
	retryBase := env.Seconds("RETRY_BASE_SECONDS", 15*time.Second)
	apiTimeout := env.Seconds("API_TIMEOUT_SECONDS", 10*time.Second)
	maxConns, err := strconv.Atoi(env.Optional("MAILCHIMP_MAX_CONNECTIONS", strconv.Itoa(connector.DefaultMaxMailchimpConnections)))
	if err != nil || maxConns < 1 {
		log.Error("cannot start", "error", "MAILCHIMP_MAX_CONNECTIONS must be a whole number of at least 1")
		os.Exit(1)
	}
	if err := env.Err(); err != nil {
		edge.Fail(log, err)
	}
	cfg, err := awsconfig.Lambda()
	if err != nil {
		edge.Fail(log, err)
	}
	ddb, sqsClient := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	instances := dynamo.NewInstanceStore(ddb, instancesTable, secrets.NewKMS(kms.NewFromConfig(cfg), keyID))
	engine := &apmc.Engine{
		Instances:  &apmc.CachedInstances{Next: instances, TTL: cacheTTL},
		Contacts:   dynamo.NewContactStore(ddb, contactsTable),
		Executions: dynamo.NewExecutionStore(ddb, executionsTable),
		Connector:  &connector.Connector{Timeout: apiTimeout, MaxMailchimpConnections: maxConns},
	}
	consumer := &queue.Consumer{Engine: engine, Visibility: sqsClient, QueueURL: queueURL, RetryBase: retryBase,
		// A change makes at most two API calls; one that cannot finish before
		// the function times out is handed back instead of cut off.
		Reserve: 2*apiTimeout + time.Second, Logger: log}
	lambda.Start(consumer.Handle)
}
