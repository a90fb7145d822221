// Package awstest gives tests real AWS-compatible services: an in-process
// kumo server (DynamoDB, SQS, KMS) on loopback with clients for it, and the
// service's tables, queues and KMS key created under unique names (kumo keeps
// its state per process, so tests must not share names).
package awstest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sivchari/kumo"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/queue"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// Env is one kumo server with clients for it.
type Env struct {
	URL      string
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	KMS      *kms.Client
}

// Kumo starts a kumo server for the test and stops it when the test ends.
func Kumo(t testing.TB) *Env {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	cfg := awsconfig.Local()
	return &Env{
		URL:      srv.URL,
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		SQS:      sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		KMS:      kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
	}
}

var names atomic.Int64

// UniqueName returns a name no other test of this process uses, usable for
// tables and queues.
func UniqueName(prefix string) string {
	p := strings.ToLower(strings.NewReplacer("/", "-", "_", "-", " ", "-").Replace(prefix))
	return fmt.Sprintf("%s-%d-%d", p, time.Now().UnixNano()%1e9, names.Add(1))
}

func timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// Tables creates the service's three tables under unique names.
func (e *Env) Tables(t testing.TB, prefix string) dynamo.Tables {
	t.Helper()
	ctx, cancel := timeout()
	defer cancel()
	p := UniqueName(prefix)
	tables := dynamo.Tables{Instances: p + "-instances", Executions: p + "-executions", Contacts: p + "-contacts"}
	if err := dynamo.CreateTables(ctx, e.DynamoDB, tables); err != nil {
		t.Fatalf("CreateTables() error = %v", err)
	}
	return tables
}

// Queues creates the FIFO changes queue and its dead-letter queue under a
// unique name.
func (e *Env) Queues(t testing.TB, prefix string, visibilitySeconds int) queue.Queues {
	t.Helper()
	ctx, cancel := timeout()
	defer cancel()
	qs, err := queue.Create(ctx, e.SQS, UniqueName(prefix), visibilitySeconds, apmc.DefaultMaxAttempts)
	if err != nil {
		t.Fatalf("queue.Create() error = %v", err)
	}
	return qs
}

// Key creates a KMS key and returns its id.
func (e *Env) Key(t testing.TB) string {
	t.Helper()
	ctx, cancel := timeout()
	defer cancel()
	out, err := e.KMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("test key")})
	if err != nil {
		t.Fatalf("CreateKey() error = %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}

// Instances returns an instance store over a new instances table, sealing
// with a new KMS key.
func (e *Env) Instances(t testing.TB, tables dynamo.Tables) *dynamo.InstanceStore {
	t.Helper()
	return dynamo.NewInstanceStore(e.DynamoDB, tables.Instances, secrets.NewKMS(e.KMS, e.Key(t)))
}
