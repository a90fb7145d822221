package loadtest_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/ingestapp"
	"github.com/apmc-sync/apmc/internal/app/syncapp"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/dynamo"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// parts are the pieces a function is built from, on an in-process kumo and
// the Mailchimp simulator, without the rest of the local stack (whose
// consumer would compete for the CPU).
type parts struct {
	instances *apmc.CachedInstances
	clients   app.Clients
	tables    dynamo.Tables
	keyID     string
	sqs       *sqs.Client
	queueURL  string
	instance  apmc.Instance
	mailchimp *sbmc.Server
	// accessplanit holds the Users the changes name: the engine reads them
	// back before writing.
	accessplanit *sbap.Server
}

// newParts starts kumo and both simulators (zero latency) and
// creates the tables, the queue, a KMS key and one instance.
func newParts(b *testing.B) *parts {
	b.Helper()
	svc := awstest.Kumo(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := &parts{sqs: svc.SQS, clients: app.Clients{DynamoDB: svc.DynamoDB, SQS: svc.SQS, KMS: svc.KMS}}
	p.tables = svc.Tables(b, "bench")
	p.keyID = svc.Key(b)
	qs := svc.Queues(b, "bench-changes", 30)
	p.queueURL = qs.ChangesURL

	p.mailchimp = sbmc.New(sbmc.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	hs := &http.Server{Handler: p.mailchimp, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	b.Cleanup(func() {
		_ = hs.Close()
		p.mailchimp.Close()
	})
	p.accessplanit = sbap.New(sbap.Options{})
	apLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	apServer := &http.Server{Handler: p.accessplanit, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = apServer.Serve(apLn) }()
	b.Cleanup(func() {
		_ = apServer.Close()
		p.accessplanit.Close()
	})
	p.accessplanit.AddAPIKey("ap-key-bench", "9000")

	apiKey := "0123456789abcdef0123456789abcdef-us21"
	p.mailchimp.AddAccount(apiKey)

	p.instance = apmc.Instance{
		ID: "bench", Name: "Benchmark", State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
		MailchimpListID: p.mailchimp.AddList(apiKey, "Benchmark"), MailchimpBaseURL: "http://" + ln.Addr().String() + "/3.0",
		AccessplanitBaseURL: "http://" + apLn.Addr().String() + p.accessplanit.Prefix(), DefaultCompanyID: p.accessplanit.AddCompany("Bench Ltd"),
		Mappings: append(apmc.DefaultMappings(), apmc.FieldMapping{MergeTag: "PHONE", Field: "Phone", Type: apmc.TypePhone}),
		Secrets: apmc.Secrets{MailchimpAPIKey: apiKey, AccessplanitAPIKey: "ap-key-bench", AccessplanitToken: "ap-token-bench",
			MailchimpToken: "mc-token-bench", MailchimpSigningSecret: "signing-secret-bench"},
	}
	store := dynamo.NewInstanceStore(svc.DynamoDB, p.tables.Instances, secrets.NewKMS(svc.KMS, p.keyID))
	if err := store.Create(ctx, p.instance); err != nil {
		b.Fatalf("create instance: %v", err)
	}
	// A warm function keeps the instance; the benchmarks measure that case.
	p.instances = &apmc.CachedInstances{Next: store, TTL: time.Hour}
	return p
}

// deps are what the functions are handed: kumo's clients and the warm
// instance cache.
func (p *parts) deps() app.Deps {
	return app.Deps{AWS: p.clients, Instances: p.instances}
}

// engine is the sync engine, built by the sync function's constructor.
func (p *parts) engine(b *testing.B) *apmc.Engine {
	b.Helper()
	f, err := syncapp.New(syncapp.Config{
		InstancesTable: p.tables.Instances, ExecutionsTable: p.tables.Executions, ContactsTable: p.tables.Contacts,
		QueueURL: p.queueURL, KMSKeyID: p.keyID,
	}, p.deps())
	if err != nil {
		b.Fatalf("syncapp.New() error = %v", err)
	}
	return f.Engine
}

// ingestConfig is the ingest functions' configuration.
func (p *parts) ingestConfig() ingestapp.Config {
	return ingestapp.Config{InstancesTable: p.tables.Instances, QueueURL: p.queueURL, InstanceCacheTTL: time.Hour}
}

// drain empties the queue now and then, so a long benchmark does not keep
// every message in kumo's memory.
func (p *parts) drain(ctx context.Context) {
	for {
		out, err := p.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(p.queueURL), MaxNumberOfMessages: 10})
		if err != nil || len(out.Messages) == 0 {
			return
		}
		for _, m := range out.Messages {
			_, _ = p.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(p.queueURL), ReceiptHandle: m.ReceiptHandle})
		}
	}
}
