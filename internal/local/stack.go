package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sivchari/kumo"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/console"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ingest"
	"github.com/apmc-sync/apmc/internal/ops"
	"github.com/apmc-sync/apmc/internal/queue"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// DemoInstanceID is the id of the instance the stack seeds.
const DemoInstanceID = "demo"

// Stack is a running local system.
type Stack struct {
	Info Info

	// The simulators; nil where a real system is configured.
	Mailchimp    *sbmc.Server
	Accessplanit *sbap.Server

	Instances  *dynamo.InstanceStore
	Executions *dynamo.ExecutionStore
	Contacts   *dynamo.ContactStore
	SQS        *sqs.Client
	Queues     queue.Queues
	// Cache is the instance cache the functions share; Forget after changing
	// an instance to see the change at once.
	Cache *apmc.CachedInstances
	// Ops are the operators' operations (pause, resume, replay, …).
	Ops *ops.Service

	cancel context.CancelFunc
	wg     sync.WaitGroup
	// The sync consumer, stoppable on its own to act out a crashed function.
	runCtx       context.Context
	newPoller    func() *queue.Poller
	consumerMu   sync.Mutex
	stopConsumer context.CancelFunc
	consumerDone chan struct{}
	servers      []*http.Server
	kumo         *kumo.Server
	closers      []func()
}

// Start starts the stack and seeds the demo instance. Close stops it.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	cfg.defaults()
	s := &Stack{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	endpoint := cfg.AWSEndpoint
	if endpoint == "" {
		s.kumo = kumo.NewServer()
		endpoint = s.kumo.URL
	}
	awsCfg, err := cfg.awsConfig(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	ddb := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	s.SQS = sqs.NewFromConfig(awsCfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })
	kmsClient := kms.NewFromConfig(awsCfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(endpoint) })

	tables := dynamo.Tables{Instances: cfg.Prefix + "-instances", Executions: cfg.Prefix + "-executions", Contacts: cfg.Prefix + "-contacts"}
	if err := dynamo.CreateTables(ctx, ddb, tables); err != nil {
		return nil, fmt.Errorf("create tables: %w", err)
	}
	s.Queues, err = queue.Create(ctx, s.SQS, cfg.Prefix+"-changes", int(cfg.VisibilityTimeout/time.Second), apmc.DefaultMaxAttempts)
	if err != nil {
		return nil, fmt.Errorf("create queues: %w", err)
	}
	keyID, err := secretsKey(ctx, kmsClient, cfg.Prefix)
	if err != nil {
		return nil, err
	}

	s.Instances = dynamo.NewInstanceStore(ddb, tables.Instances, secrets.NewKMS(kmsClient, keyID))
	s.Executions = dynamo.NewExecutionStore(ddb, tables.Executions)
	s.Contacts = dynamo.NewContactStore(ddb, tables.Contacts)
	s.Cache = &apmc.CachedInstances{Next: s.Instances, TTL: cfg.InstanceCacheTTL}

	// The stack's own endpoints.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	base := cfg.PublicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	base = strings.TrimRight(base, "/")
	if cfg.APIToken == "" {
		cfg.APIToken = randomHex(24)
	}
	producer := queue.NewProducer(s.SQS, s.Queues.ChangesURL)
	deps := ingest.Deps{Webhooks: &ingest.Cache{Next: s.Instances, TTL: cfg.InstanceCacheTTL}, Queue: producer, Logger: cfg.Logger}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/accessplanit/", ingest.NewAccessplanit(deps))
	mux.Handle("/webhooks/mailchimp/", ingest.NewMailchimp(deps))
	s.Ops = &ops.Service{Instances: s.Instances, Executions: s.Executions, Queue: producer, DeadLetters: &queue.DeadLetters{Client: s.SQS, URL: s.Queues.DeadLetterURL}}
	mux.Handle("/api/", api.New(api.Config{Ops: s.Ops, TokenHash: api.HashToken(cfg.APIToken), Logger: cfg.Logger}))
	// Each stack signs its console sessions with a random key of its own,
	// as the deployed console signs them with one only KMS can compute.
	sessionKey := make([]byte, console.MinSessionKeySize)
	_, _ = rand.Read(sessionKey) // crypto/rand.Read never fails (Go 1.24+)
	consoleHandler := console.New(console.Config{Ops: s.Ops, Executions: s.Executions, TokenHash: api.HashToken(cfg.APIToken), SessionKey: sessionKey, Logger: cfg.Logger})
	mux.Handle("/console", consoleHandler)
	mux.Handle("/console/", consoleHandler)
	s.serve(ln, mux)

	info := Info{APIURL: base + "/api/", InstanceID: DemoInstanceID, APIToken: cfg.APIToken}
	info.ConsoleURL = base + "/console/"
	info.AWS = AWS{Endpoint: endpoint, Region: awsCfg.Region, InstancesTable: tables.Instances, ExecutionsTable: tables.Executions,
		ContactsTable: tables.Contacts, QueueURL: atEndpoint(s.Queues.ChangesURL, endpoint), DeadLetterURL: atEndpoint(s.Queues.DeadLetterURL, endpoint), KMSKeyID: keyID}

	// The sync consumer, fed as Lambda's event source mapping would.
	engine := &apmc.Engine{Instances: s.Cache, Contacts: s.Contacts, Executions: s.Executions, Connector: &connector.Connector{Timeout: cfg.APITimeout, MaxMailchimpConnections: cfg.MailchimpMaxConnections}}
	s.newPoller = func() *queue.Poller {
		consumer := &queue.Consumer{Engine: engine, Visibility: s.SQS, QueueURL: s.Queues.ChangesURL, RetryBase: cfg.RetryBase, Parallel: cfg.Parallel, Logger: cfg.Logger}
		return &queue.Poller{Client: s.SQS, QueueURL: s.Queues.ChangesURL, QueueARN: s.Queues.ChangesARN, Handler: consumer.Handle, Workers: cfg.Workers, Logger: cfg.Logger}
	}
	s.runCtx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.StartConsumer()

	if err := s.seed(ctx, cfg, base, &info); err != nil {
		return nil, err
	}
	s.Info = info
	if cfg.StateFile != "" {
		if err := info.write(cfg.StateFile); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// StartConsumer starts a fresh sync consumer on the changes queue, as a new
// Lambda instance would; it does nothing while one runs.
func (s *Stack) StartConsumer() {
	s.consumerMu.Lock()
	defer s.consumerMu.Unlock()
	if s.consumerDone != nil || s.newPoller == nil {
		return
	}
	ctx, stop := context.WithCancel(s.runCtx)
	done := make(chan struct{})
	s.stopConsumer, s.consumerDone = stop, done
	poller := s.newPoller()
	s.wg.Go(func() {
		defer close(done)
		poller.Run(ctx)
	})
}

// StopConsumer stops the sync consumer at once, as a crashed function: the
// batches it is applying are cut short, and what it did not finish stays on
// the queue for the next consumer. It returns once the consumer has ended.
func (s *Stack) StopConsumer() {
	s.consumerMu.Lock()
	defer s.consumerMu.Unlock()
	if s.consumerDone == nil {
		return
	}
	s.stopConsumer()
	<-s.consumerDone
	s.stopConsumer, s.consumerDone = nil, nil
}

// serve runs an HTTP server on ln until Close.
func (s *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	s.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the stack is closing or the listener failed; Close reports nothing more
		}
	})
}

// listen starts h on addr and returns its base URL.
func (s *Stack) listen(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.serve(ln, h)
	return "http://" + ln.Addr().String(), nil
}

// Close stops everything the stack started.
func (s *Stack) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
	for _, c := range s.closers {
		c()
	}
	s.wg.Wait()
	if s.kumo != nil {
		s.kumo.Close()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
