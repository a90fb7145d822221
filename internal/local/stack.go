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

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sivchari/kumo"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/backfillapp"
	"github.com/apmc-sync/apmc/internal/app/executionsapp"
	"github.com/apmc-sync/apmc/internal/app/ingestapp"
	"github.com/apmc-sync/apmc/internal/app/reconcileapp"
	"github.com/apmc-sync/apmc/internal/app/syncapp"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/console"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ops"
	"github.com/apmc-sync/apmc/internal/queue"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// DemoInstanceID is the id of the instance the stack seeds.
const DemoInstanceID = "demo"

// Stack is a running local system.
type Stack struct {
	Info Info

	// The simulators; nil where a real system is configured.
	Mailchimp    *sbmc.Server
	Accessplanit *sbap.Server

	// The executions function's stores; the instance store holds the
	// secrets key.
	Instances  *dynamo.InstanceStore
	Executions *dynamo.ExecutionStore
	SQS        *sqs.Client
	Queues     queue.Queues
	// Cache is the instance cache the functions share; Forget after changing
	// an instance to see the change at once.
	Cache *apmc.CachedInstances
	// Ops are the operators' operations (pause, resume, replay, …).
	Ops *ops.Service
	// Reconcile is the reconcile function, run on demand or every
	// Config.ReconcileInterval.
	Reconcile *reconcileapp.Function
	// BackfillQueues are the first-sync job's queue and its dead-letter
	// queue; Backfill starts, follows and cancels jobs as the API does.
	BackfillQueues queue.Queues
	Backfill       *backfill.Service

	cancel context.CancelFunc
	wg     sync.WaitGroup
	// The sync consumer, stoppable on its own to act out a crashed function.
	runCtx       context.Context
	newPollers   func() []*queue.Poller
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
	clients := app.NewClients(awsCfg, endpoint)
	ddb, kmsClient := clients.DynamoDB, clients.KMS
	s.SQS = clients.SQS

	tables := dynamo.Tables{Instances: cfg.Prefix + "-instances", Executions: cfg.Prefix + "-executions", Contacts: cfg.Prefix + "-contacts"}
	if err := dynamo.CreateTables(ctx, ddb, tables); err != nil {
		return nil, fmt.Errorf("create tables: %w", err)
	}
	s.Queues, err = queue.Create(ctx, s.SQS, cfg.Prefix+"-changes", int(cfg.VisibilityTimeout/time.Second), apmc.DefaultMaxAttempts)
	if err != nil {
		return nil, fmt.Errorf("create queues: %w", err)
	}
	s.Queues, err = queue.CreateBulk(ctx, s.SQS, s.Queues, cfg.Prefix+"-changes", int(cfg.VisibilityTimeout/time.Second), apmc.DefaultMaxAttempts)
	if err != nil {
		return nil, fmt.Errorf("create the bulk queue: %w", err)
	}
	// The first-sync job's queue: a run is limited to backfillRunLimit, so
	// a message is received again only after a run that crashed.
	s.BackfillQueues, err = queue.Create(ctx, s.SQS, cfg.Prefix+"-backfill", int((backfillRunLimit+time.Minute)/time.Second), apmc.DefaultMaxAttempts)
	if err != nil {
		return nil, fmt.Errorf("create the backfill queues: %w", err)
	}
	keyID, err := secretsKey(ctx, kmsClient, cfg.Prefix)
	if err != nil {
		return nil, err
	}

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
	fns, err := s.buildFunctions(ctx, cfg, clients, tables, keyID)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/accessplanit/", fns.ingestAccessplanit)
	mux.Handle("/webhooks/mailchimp/", fns.ingestMailchimp)
	mux.Handle("/api/", fns.executions)
	mux.Handle("/console", fns.executions)
	mux.Handle("/console/", fns.executions)
	s.serve(ln, mux)

	info := Info{APIURL: base + "/api/", InstanceID: DemoInstanceID, APIToken: cfg.APIToken}
	info.ConsoleURL = base + "/console/"
	info.AWS = AWS{Endpoint: endpoint, Region: awsCfg.Region, InstancesTable: tables.Instances, ExecutionsTable: tables.Executions,
		ContactsTable: tables.Contacts, QueueURL: atEndpoint(s.Queues.ChangesURL, endpoint), DeadLetterURL: atEndpoint(s.Queues.DeadLetterURL, endpoint), KMSKeyID: keyID,
		BulkQueueURL:     atEndpoint(s.Queues.BulkURL, endpoint),
		BackfillQueueURL: atEndpoint(s.BackfillQueues.ChangesURL, endpoint)}

	// The sync consumer, fed as Lambda's two event source mappings would:
	// the workers split between the changes queue and the bulk queue.
	changes, bulk := queue.BulkShare(cfg.Workers)
	s.newPollers = func() []*queue.Poller {
		return []*queue.Poller{
			{Client: s.SQS, QueueURL: s.Queues.ChangesURL, QueueARN: s.Queues.ChangesARN, Handler: fns.sync.Handle, Workers: changes, Logger: cfg.Logger},
			{Client: s.SQS, QueueURL: s.Queues.BulkURL, QueueARN: s.Queues.BulkARN, Handler: fns.sync.Handle, Workers: bulk, Logger: cfg.Logger},
		}
	}
	s.runCtx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.StartConsumer()
	s.scheduleReconcile(cfg.ReconcileInterval)
	// The backfill function, fed one job message at a time.
	jobs := &queue.Poller{Client: s.SQS, QueueURL: s.BackfillQueues.ChangesURL, QueueARN: s.BackfillQueues.ChangesARN,
		Handler: fns.backfill.Handle, Workers: 1, BatchSize: 1, Logger: cfg.Logger}
	s.wg.Go(func() { jobs.Run(s.runCtx) })

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

// functions are the stack's four functions, each built by the constructor
// its Lambda function's main calls.
type functions struct {
	ingestAccessplanit, ingestMailchimp http.Handler
	sync                                *syncapp.Function
	executions                          http.Handler
	backfill                            *backfillapp.Function
}

// backfillRunLimit bounds one run of the local backfill function, as
// Lambda's timeout bounds the deployed one: a longer job checkpoints and
// carries on in the next run.
const backfillRunLimit = 5 * time.Minute

// buildFunctions builds the functions over the stack's tables, queues and key,
// sets the stack's stores and operations from the executions function's,
// and gives the functions one instance cache (s.Cache).
func (s *Stack) buildFunctions(ctx context.Context, cfg Config, clients app.Clients, tables dynamo.Tables, keyID string) (functions, error) {
	var fns functions
	// Each stack signs its console sessions with a random key of its own,
	// as the deployed console signs them with one only KMS can compute.
	sessionKey := make([]byte, console.MinSessionKeySize)
	_, _ = rand.Read(sessionKey) // crypto/rand.Read never fails (Go 1.24+)
	executions, err := executionsapp.New(ctx, executionsapp.Config{
		Ops: executionsapp.OpsConfig{
			InstancesTable: tables.Instances, ExecutionsTable: tables.Executions, ContactsTable: tables.Contacts,
			QueueURL: s.Queues.ChangesURL, DeadLetterURL: s.Queues.DeadLetterURL,
			BackfillQueueURL: s.BackfillQueues.ChangesURL,
			// The stack seeds its demo instance, secrets included.
			KMSKeyID: keyID,
		},
		TokenHash:  api.HashToken(cfg.APIToken),
		SessionKey: sessionKey,
	}, app.Deps{AWS: clients, Logger: cfg.Logger})
	if err != nil {
		return fns, fmt.Errorf("build the executions function: %w", err)
	}
	fns.executions = executions.Handler
	s.Instances, s.Executions, s.Ops = executions.Ops.Instances, executions.Ops.Executions, executions.Ops.Service
	s.Backfill = executions.Ops.Backfill
	s.Cache = &apmc.CachedInstances{Next: s.Instances, TTL: cfg.InstanceCacheTTL}

	deps := app.Deps{AWS: clients, Logger: cfg.Logger, Instances: s.Cache}
	ingestCfg := ingestapp.Config{InstancesTable: tables.Instances, QueueURL: s.Queues.ChangesURL, BulkQueueURL: s.Queues.BulkURL, InstanceCacheTTL: cfg.InstanceCacheTTL,
		ContactsTable: tables.Contacts, BurstWindowCache: cfg.BurstWindowCache}
	if fns.ingestAccessplanit, err = ingestapp.NewAccessplanit(ingestCfg, deps); err != nil {
		return fns, fmt.Errorf("build the accessplanit ingest function: %w", err)
	}
	if fns.ingestMailchimp, err = ingestapp.NewMailchimp(ingestCfg, deps); err != nil {
		return fns, fmt.Errorf("build the Mailchimp ingest function: %w", err)
	}
	syncFn, err := syncapp.New(syncapp.Config{
		InstancesTable: tables.Instances, ExecutionsTable: tables.Executions, ContactsTable: tables.Contacts,
		QueueURL: s.Queues.ChangesURL, BulkQueueURL: s.Queues.BulkURL, KMSKeyID: keyID, InstanceCacheTTL: cfg.InstanceCacheTTL,
		RetryBase: cfg.RetryBase, APITimeout: cfg.APITimeout, MailchimpMaxConnections: cfg.MailchimpMaxConnections, MailchimpCallLimit: cfg.MailchimpCallLimit, Parallel: cfg.Parallel,
		HealthPolicy:      cfg.HealthPolicy,
		BurstWindowSettle: 2 * cfg.BurstWindowCache,
		SingleWrites:      cfg.SingleWrites,
		Metrics:           cfg.Metrics,
	}, deps)
	if err != nil {
		return fns, fmt.Errorf("build the sync function: %w", err)
	}
	fns.sync = syncFn

	s.Reconcile, err = reconcileapp.New(reconcileapp.Config{
		InstancesTable: tables.Instances, ContactsTable: tables.Contacts, QueueURL: s.Queues.ChangesURL, KMSKeyID: keyID,
		APITimeout: cfg.APITimeout, MailchimpMaxConnections: cfg.MailchimpMaxConnections, MailchimpCallLimit: cfg.MailchimpCallLimit,
	}, deps)
	if err != nil {
		return fns, fmt.Errorf("build the reconcile function: %w", err)
	}
	if fns.backfill, err = backfillapp.New(backfillapp.Config{
		InstancesTable: tables.Instances, ExecutionsTable: tables.Executions, ContactsTable: tables.Contacts,
		BackfillQueueURL: s.BackfillQueues.ChangesURL, KMSKeyID: keyID, APITimeout: cfg.APITimeout,
		MailchimpMaxConnections: cfg.MailchimpMaxConnections, MailchimpCallLimit: cfg.MailchimpCallLimit, RunLimit: backfillRunLimit,
	}, deps); err != nil {
		return fns, fmt.Errorf("build the backfill function: %w", err)
	}
	return fns, nil
}

// StartConsumer starts a fresh sync consumer on both queues, as a new
// Lambda instance would; it does nothing while one runs.
func (s *Stack) StartConsumer() {
	s.consumerMu.Lock()
	defer s.consumerMu.Unlock()
	if s.consumerDone != nil || s.newPollers == nil {
		return
	}
	ctx, stop := context.WithCancel(s.runCtx)
	done := make(chan struct{})
	s.stopConsumer, s.consumerDone = stop, done
	pollers := s.newPollers()
	s.wg.Go(func() {
		defer close(done)
		var wg sync.WaitGroup
		for _, p := range pollers {
			wg.Go(func() { p.Run(ctx) })
		}
		wg.Wait()
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
