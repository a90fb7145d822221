// Package reconcileapp builds the reconcile function: from its settings to
// the handler that the schedule invokes to reconcile every instance. The
// function's main, the local stack and the CLI all use it.
package reconcileapp

import (
	"context"
	"errors"
	"time"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/queue"
	"github.com/apmc-sync/apmc/internal/reconcile"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// Config is what the reconcile function needs from its environment.
type Config struct {
	// InstancesTable and ContactsTable are the DynamoDB tables; the
	// contacts table also holds the runs.
	InstancesTable string
	ContactsTable  string
	// QueueURL is the changes queue the differences go to.
	QueueURL string
	// KMSKeyID is the key sealing instance secrets (the API keys).
	KMSKeyID string
	// APITimeout bounds each call to Mailchimp or accessplanit; 0 means
	// connector.DefaultTimeout.
	APITimeout time.Duration
	// MailchimpMaxConnections caps the Mailchimp requests in flight per
	// API key; 0 means connector.DefaultMaxMailchimpConnections.
	MailchimpMaxConnections int
	// MailchimpCallLimit is how long Mailchimp may run a call the client
	// gave up on; 0 means real Mailchimp's (connector.MailchimpCallLimit).
	MailchimpCallLimit time.Duration
	// Overlap is read again before the last successful run; 0 means
	// reconcile.DefaultOverlap.
	Overlap time.Duration
}

// ConfigFromEnv reads the configuration from the variables the template
// sets (INSTANCES_TABLE, CONTACTS_TABLE, QUEUE_URL, KMS_KEY_ID) and the
// optional API_TIMEOUT_SECONDS, MAILCHIMP_MAX_CONNECTIONS and
// RECONCILE_OVERLAP_SECONDS, reporting every problem at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	env := app.Env{Getenv: getenv}
	cfg := Config{
		InstancesTable:          env.Required("INSTANCES_TABLE"),
		ContactsTable:           env.Required("CONTACTS_TABLE"),
		QueueURL:                env.Required("QUEUE_URL"),
		KMSKeyID:                env.Required("KMS_KEY_ID"),
		APITimeout:              env.Seconds("API_TIMEOUT_SECONDS", connector.DefaultTimeout),
		MailchimpMaxConnections: env.Positive("MAILCHIMP_MAX_CONNECTIONS", connector.DefaultMaxMailchimpConnections),
		Overlap:                 env.Seconds("RECONCILE_OVERLAP_SECONDS", reconcile.DefaultOverlap),
	}
	return cfg, env.Err()
}

// Validate reports the settings that are missing.
func (c Config) Validate() error {
	return app.Require("reconcile",
		app.Setting{Name: "instances table", Value: c.InstancesTable},
		app.Setting{Name: "contacts table", Value: c.ContactsTable},
		app.Setting{Name: "queue URL", Value: c.QueueURL},
		app.Setting{Name: "KMS key", Value: c.KMSKeyID},
	)
}

// Function is the reconcile function, built.
type Function struct {
	// Service reconciles one instance; the CLI runs it directly.
	Service   reconcile.Service
	instances reconcile.Lister
}

// New builds the reconcile function.
func New(cfg Config, deps app.Deps) (*Function, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.AWS.DynamoDB == nil || deps.AWS.SQS == nil || deps.AWS.KMS == nil {
		return nil, errors.New("reconcile: no AWS clients")
	}
	store := dynamo.NewInstanceStore(deps.AWS.DynamoDB, cfg.InstancesTable, secrets.NewKMS(deps.AWS.KMS, cfg.KMSKeyID))
	contacts := dynamo.NewContactStore(deps.AWS.DynamoDB, cfg.ContactsTable)
	// Every function that calls Mailchimp shares each account's budget.
	mailchimpBudget := dynamo.NewMailchimpBudget(deps.AWS.DynamoDB, cfg.ContactsTable, connector.DefaultMaxMailchimpConnections,
		connector.BudgetLease(cfg.APITimeout), connector.BudgetWait(cfg.APITimeout))
	conn := &connector.Connector{Timeout: cfg.APITimeout, MaxMailchimpConnections: cfg.MailchimpMaxConnections, CallLimit: cfg.MailchimpCallLimit, Budget: mailchimpBudget, Logger: deps.Log()}
	return &Function{
		Service: reconcile.Service{
			Instances: store, Connect: conn.Reconcile, Contacts: contacts, Runs: contacts,
			Queue: queue.NewProducer(deps.AWS.SQS, cfg.QueueURL), Overlap: cfg.Overlap, Logger: deps.Log(),
		},
		instances: store,
	}, nil
}

// Event is what the schedule sends: the time the invocation was scheduled
// for, from which each instance's run id is derived, so that a retried
// invocation enqueues the changes it already enqueued under the same ids
// and the queue drops them.
type Event struct {
	ScheduledTime time.Time `json:"scheduled_time"`
}

// Result counts what one invocation did.
type Result struct {
	Instances int `json:"instances"`
	Checked   int `json:"checked"`
	Enqueued  int `json:"enqueued"`
	// SkippedUnknown counts the contacts never synced that were left to
	// first sync (see reconcile.Run).
	SkippedUnknown int `json:"skipped_unknown"`
	Failed         int `json:"failed"`
}

// Handle reconciles every instance, paused ones included: their changes are
// held by the sync like any other. It fails when any instance failed, after
// trying them all.
func (f *Function) Handle(ctx context.Context, e Event) (Result, error) {
	at := e.ScheduledTime
	if at.IsZero() {
		at = time.Now()
	}
	runs, err := f.Service.ReconcileAll(ctx, f.instances, func(id string) string { return reconcile.ScheduledRunID(id, at) })
	res := Result{Instances: len(runs)}
	for _, r := range runs {
		res.Checked += r.Checked
		res.Enqueued += r.Enqueued
		res.SkippedUnknown += r.SkippedUnknown
		if r.Error != "" {
			res.Failed++
		}
	}
	return res, err
}
