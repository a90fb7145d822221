// Command ingest-mailchimp is the Lambda function behind the Mailchimp
// webhook endpoint: it queues each delivery as a change.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/edge"
	"github.com/apmc-sync/apmc/internal/ingest"
	"github.com/apmc-sync/apmc/internal/queue"
	"github.com/apmc-sync/apmc/internal/secrets"
	"github.com/apmc-sync/apmc/internal/sync"
)

func main() {
	log := edge.Logger("ingest-mailchimp")
	var env edge.Env
	instancesTable, queueURL, keyID := env.Required("INSTANCES_TABLE"), env.Required("QUEUE_URL"), env.Required("KMS_KEY_ID")
	cacheTTL := env.Seconds("INSTANCE_CACHE_SECONDS", 60*time.Second)
	if err := env.Err(); err != nil {
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := awsconfig.Lambda()
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	instances := dynamo.NewInstanceStore(dynamodb.NewFromConfig(cfg), instancesTable, secrets.NewKMS(kms.NewFromConfig(cfg), keyID))
	handler := ingest.NewMailchimp(ingest.Deps{
		Instances: &sync.CachedInstances{Next: instances, TTL: cacheTTL},
		Queue:     queue.NewProducer(sqs.NewFromConfig(cfg), queueURL),
		Logger:    log,
	})
	lambda.Start(edge.HTTP(handler))
}
