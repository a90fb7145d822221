package edge

import (
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ingest"
	"github.com/apmc-sync/apmc/internal/queue"
)

// StartIngest runs a webhook endpoint as a Lambda function: it reads the
// settings both ingest functions share (INSTANCES_TABLE, QUEUE_URL,
// INSTANCE_CACHE_SECONDS), builds the instance store (without a sealer: the
// endpoints read only the token digests, never a sealed secret) and the
// queue producer once, and serves the endpoint newEndpoint builds. It does
// not return; a bad setting ends the process with the problems logged.
func StartIngest(function string, newEndpoint func(ingest.Deps) http.Handler) {
	log := Logger(function)
	var env Env
	instancesTable, queueURL := env.Required("INSTANCES_TABLE"), env.Required("QUEUE_URL")
	cacheTTL := env.Seconds("INSTANCE_CACHE_SECONDS", 60*time.Second)
	if err := env.Err(); err != nil {
		Fail(log, err)
	}
	cfg, err := awsconfig.Lambda()
	if err != nil {
		Fail(log, err)
	}
	instances := dynamo.NewInstanceStore(dynamodb.NewFromConfig(cfg), instancesTable, nil)
	handler := newEndpoint(ingest.Deps{
		Webhooks: &ingest.Cache{Next: instances, TTL: cacheTTL},
		Queue:    queue.NewProducer(sqs.NewFromConfig(cfg), queueURL),
		Logger:   log,
	})
	lambda.Start(HTTP(handler))
}
