// Package syncapp builds the sync function: from its settings to the
// consumer that applies each batch of the changes queue to the other system
// and records the executions. The function's main, the local stack and the
// benchmarks all use it.
package syncapp

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/health"
	"github.com/apmc-sync/apmc/internal/notify"
	"github.com/apmc-sync/apmc/internal/queue"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// Defaults of the settings a deployment may leave unset.
const (
	// DefaultInstanceCacheTTL is short, so a pause takes effect within
	// seconds.
	DefaultInstanceCacheTTL = 5 * time.Second
	// DefaultRetryBase is the first retry delay; each later one doubles.
	DefaultRetryBase = 15 * time.Second
)

// Config is what the sync function needs from its environment.
type Config struct {
	// InstancesTable, ExecutionsTable and ContactsTable are the DynamoDB
	// tables.
	InstancesTable  string
	ExecutionsTable string
	ContactsTable   string
	// QueueURL is the changes queue, whose messages' visibility delays
	// retries; BulkQueueURL, when set, is the bulk queue the function also
	// consumes (its own event source mapping), whose messages' visibility
	// is changed there.
	QueueURL     string
	BulkQueueURL string
	// KMSKeyID is the key sealing instance secrets (the API keys).
	KMSKeyID string
	// InstanceCacheTTL is how long an instance is kept, and so how long a
	// pause may take to take effect.
	InstanceCacheTTL time.Duration
	// RetryBase is the first retry delay; 0 retries at the queue's pace.
	RetryBase time.Duration
	// APITimeout bounds each call to Mailchimp or accessplanit; 0 means
	// connector.DefaultTimeout.
	APITimeout time.Duration
	// MailchimpMaxConnections caps the Mailchimp requests in flight per
	// API key; 0 means connector.DefaultMaxMailchimpConnections.
	MailchimpMaxConnections int
	// BurstWindowSettle is how long after an instance's burst window opened
	// every ingest function is sure to know it: more than the ingest
	// functions' BURST_WINDOW_CACHE_SECONDS (apmc.BurstWindow).
	BurstWindowSettle time.Duration
	// MailchimpCallLimit is how long Mailchimp may run a call the client
	// gave up on; 0 means real Mailchimp's (connector.MailchimpCallLimit).
	MailchimpCallLimit time.Duration
	// Parallel is how many message groups of one batch are applied at once;
	// 0 means the consumer's default. Not read from the environment.
	Parallel int
	// HealthPolicy tunes when an instance counts as failing and recovered;
	// zero means apmc.DefaultHealthPolicy. Not read from the environment.
	HealthPolicy apmc.HealthPolicy
	// SingleWrites writes each change on its own instead of grouping a
	// batch's writes (queue.Consumer.SingleWrites); for comparisons. Not
	// read from the environment.
	SingleWrites bool
	// Metrics receives the embedded-metric-format records; nil means
	// standard output, where Lambda sends them to CloudWatch. Not read from
	// the environment.
	Metrics io.Writer
}

// ConfigFromEnv reads the configuration from the variables the template
// sets (INSTANCES_TABLE, EXECUTIONS_TABLE, CONTACTS_TABLE, QUEUE_URL,
// BULK_QUEUE_URL, KMS_KEY_ID, MAILCHIMP_MAX_CONNECTIONS) and the optional
// INSTANCE_CACHE_SECONDS, RETRY_BASE_SECONDS and API_TIMEOUT_SECONDS,
// reporting every problem at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	env := app.Env{Getenv: getenv}
	cfg := Config{
		InstancesTable:          env.Required("INSTANCES_TABLE"),
		ExecutionsTable:         env.Required("EXECUTIONS_TABLE"),
		ContactsTable:           env.Required("CONTACTS_TABLE"),
		QueueURL:                env.Required("QUEUE_URL"),
		BulkQueueURL:            env.Optional("BULK_QUEUE_URL", ""),
		KMSKeyID:                env.Required("KMS_KEY_ID"),
		InstanceCacheTTL:        env.Seconds("INSTANCE_CACHE_SECONDS", DefaultInstanceCacheTTL),
		RetryBase:               env.Seconds("RETRY_BASE_SECONDS", DefaultRetryBase),
		APITimeout:              env.Seconds("API_TIMEOUT_SECONDS", connector.DefaultTimeout),
		MailchimpMaxConnections: env.Positive("MAILCHIMP_MAX_CONNECTIONS", connector.DefaultMaxMailchimpConnections),
		BurstWindowSettle:       env.Seconds("BURST_WINDOW_SETTLE_SECONDS", apmc.DefaultBurstWindowSettle),
	}
	return cfg, env.Err()
}

// Validate reports the settings that are missing.
func (c Config) Validate() error {
	return app.Require("sync",
		app.Setting{Name: "instances table", Value: c.InstancesTable},
		app.Setting{Name: "executions table", Value: c.ExecutionsTable},
		app.Setting{Name: "contacts table", Value: c.ContactsTable},
		app.Setting{Name: "queue URL", Value: c.QueueURL},
		app.Setting{Name: "KMS key", Value: c.KMSKeyID},
	)
}

// Function is the sync function, built.
type Function struct {
	// Consumer applies a batch of the changes queue.
	Consumer *queue.Consumer
	// Engine applies one change; the benchmarks drive it directly.
	Engine *apmc.Engine
	// tracker keeps the executions' metrics and the instances' health.
	tracker *health.Tracker
	// budget is the Mailchimp budget the engine's requests share.
	budget *dynamo.MailchimpBudget
}

// Handle applies a batch of the changes queue: Lambda's handler, and the
// local stack's poller's. The batch's metric records are written when it
// ends, one per instance. Before it returns it gives back every Mailchimp
// budget slot the function kept for its next request, as Lambda freezes the
// environment then and a kept slot would stay out of the other functions'
// reach until its lease ran out.
func (f *Function) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	release := f.tracker.Hold()
	defer release()
	res, err := f.Consumer.Handle(ctx, ev)
	f.budget.Flush(ctx)
	return res, err
}

// New builds the sync function.
func New(cfg Config, deps app.Deps) (*Function, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.AWS.DynamoDB == nil || deps.AWS.SQS == nil || deps.AWS.KMS == nil {
		return nil, errors.New("sync: no AWS clients")
	}
	apiTimeout := cfg.APITimeout
	if apiTimeout <= 0 {
		apiTimeout = connector.DefaultTimeout
	}
	store := dynamo.NewInstanceStore(deps.AWS.DynamoDB, cfg.InstancesTable, secrets.NewKMS(deps.AWS.KMS, cfg.KMSKeyID))
	instances := deps.Instances
	if instances == nil {
		instances = &apmc.CachedInstances{Next: store, TTL: cfg.InstanceCacheTTL}
	}
	// Every function that calls Mailchimp shares each account's budget.
	mailchimpBudget := dynamo.NewMailchimpBudget(deps.AWS.DynamoDB, cfg.ContactsTable, connector.DefaultMaxMailchimpConnections,
		connector.BudgetLease(apiTimeout), connector.BudgetWait(apiTimeout))
	mailchimpBudget.Keep = connector.BudgetKeep
	tracker := &health.Tracker{
		Instances: instances, Store: store, Notifier: &notify.Webhook{},
		Policy: cfg.HealthPolicy, Logger: deps.Log(), Metrics: cfg.Metrics,
	}
	contacts := dynamo.NewContactStore(deps.AWS.DynamoDB, cfg.ContactsTable)
	engine := &apmc.Engine{
		Instances:  instances,
		Contacts:   contacts,
		Executions: dynamo.NewExecutionStore(deps.AWS.DynamoDB, cfg.ExecutionsTable),
		// An instance stored without its Mailchimp account learns it here.
		Connector: &connector.Connector{Timeout: apiTimeout, MaxMailchimpConnections: cfg.MailchimpMaxConnections, CallLimit: cfg.MailchimpCallLimit, Budget: mailchimpBudget,
			Accounts: store, Logger: deps.Log()},
		// Reads the instance through the engine's cache: a change that
		// alters nothing of the instance's health costs no request.
		Observer: tracker,
		// With a bulk queue, an accessplanit echo may overtake the change
		// whose write it echoes: such writes are announced first.
		BulkLane: cfg.BulkQueueURL != "",
	}
	if cfg.BulkQueueURL != "" {
		// The burst windows the ingest functions share: a write from the
		// bulk queue within a settled one is not announced.
		engine.Windows, engine.BurstWindowSettle = &apmc.CachedBurstWindows{Next: contacts}, cfg.BurstWindowSettle
	}
	var requeue queue.Requeuer
	reserve := 3*apiTimeout + time.Second
	if cfg.BulkQueueURL != "" {
		requeue = queue.NewProducer(deps.AWS.SQS, cfg.QueueURL)
		reserve += apmc.DefaultInFlightWait // a change may wait for an announced write's state
	}
	consumer := &queue.Consumer{
		Requeue: requeue,
		Engine:  engine, Visibility: deps.AWS.SQS, QueueURL: cfg.QueueURL, BulkQueueURL: cfg.BulkQueueURL, RetryBase: cfg.RetryBase, Parallel: cfg.Parallel, SingleWrites: cfg.SingleWrites,
		// A change makes up to three API calls in a row (read its source,
		// find the User, write); one that cannot finish before the function
		// times out is handed back instead of cut off. The consumer keeps at
		// most half the batch's time in hand.
		Reserve: reserve,
		Logger:  deps.Log(),
		// A change handed back on its last receive goes to the dead-letter
		// queue with no execution: the tracker counts it.
		DeadLetters: tracker, MaxReceives: apmc.DefaultMaxAttempts,
	}
	return &Function{Consumer: consumer, Engine: engine, tracker: tracker, budget: mailchimpBudget}, nil
}
