// Package backfillapp builds the backfill function: the first-sync job,
// fed by the backfill queue. Each message applies a stored plan as the
// instance's one job until the invocation's time is nearly up, checkpointed
// in the job record; a run that stops early puts the same message back on
// the queue and the next run carries on, skipping the contacts already
// written. The function's main, the local stack and the tests all use it.
package backfillapp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/queue"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// Config is what the backfill function needs from its environment.
type Config struct {
	// InstancesTable, ExecutionsTable and ContactsTable are the DynamoDB
	// tables; plans and the job record live in the contacts table.
	InstancesTable  string
	ExecutionsTable string
	ContactsTable   string
	// BackfillQueueURL is the queue continuations are put back on.
	BackfillQueueURL string
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
	// RunLimit, when set, bounds each run (the local stack's poller has no
	// deadline of its own), so it checkpoints and continues as a Lambda run
	// does. Not read from the environment.
	RunLimit time.Duration
}

// ConfigFromEnv reads the configuration from the variables the template
// sets (INSTANCES_TABLE, EXECUTIONS_TABLE, CONTACTS_TABLE,
// BACKFILL_QUEUE_URL, KMS_KEY_ID, MAILCHIMP_MAX_CONNECTIONS) and the
// optional API_TIMEOUT_SECONDS, reporting every problem at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	env := app.Env{Getenv: getenv}
	cfg := Config{
		InstancesTable:          env.Required("INSTANCES_TABLE"),
		ExecutionsTable:         env.Required("EXECUTIONS_TABLE"),
		ContactsTable:           env.Required("CONTACTS_TABLE"),
		BackfillQueueURL:        env.Required("BACKFILL_QUEUE_URL"),
		KMSKeyID:                env.Required("KMS_KEY_ID"),
		APITimeout:              env.Seconds("API_TIMEOUT_SECONDS", connector.DefaultTimeout),
		MailchimpMaxConnections: env.Positive("MAILCHIMP_MAX_CONNECTIONS", connector.DefaultMaxMailchimpConnections),
	}
	return cfg, env.Err()
}

// Validate reports the settings that are missing.
func (c Config) Validate() error {
	return app.Require("backfill",
		app.Setting{Name: "instances table", Value: c.InstancesTable},
		app.Setting{Name: "executions table", Value: c.ExecutionsTable},
		app.Setting{Name: "contacts table", Value: c.ContactsTable},
		app.Setting{Name: "backfill queue URL", Value: c.BackfillQueueURL},
		app.Setting{Name: "KMS key", Value: c.KMSKeyID},
	)
}

// Function is the backfill function, built.
type Function struct {
	// Service applies the plans; its Queue is the backfill queue.
	Service  backfill.Service
	runLimit time.Duration
	log      *slog.Logger
}

// New builds the backfill function.
func New(cfg Config, deps app.Deps) (*Function, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	svc, err := NewService(cfg, deps)
	if err != nil {
		return nil, err
	}
	return &Function{Service: *svc, runLimit: cfg.RunLimit, log: deps.Log()}, nil
}

// NewService builds the first-sync service the function runs, which the CLI
// also uses to plan and apply in its own process. The backfill queue is
// optional here: without it the service cannot start a job, only run one.
func NewService(cfg Config, deps app.Deps) (*backfill.Service, error) {
	if err := app.Require("backfill",
		app.Setting{Name: "instances table", Value: cfg.InstancesTable},
		app.Setting{Name: "executions table", Value: cfg.ExecutionsTable},
		app.Setting{Name: "contacts table", Value: cfg.ContactsTable},
		app.Setting{Name: "KMS key", Value: cfg.KMSKeyID},
	); err != nil {
		return nil, err
	}
	if deps.AWS.DynamoDB == nil || deps.AWS.SQS == nil || deps.AWS.KMS == nil {
		return nil, errors.New("backfill: no AWS clients")
	}
	apiTimeout := cfg.APITimeout
	if apiTimeout <= 0 {
		apiTimeout = connector.DefaultTimeout
	}
	// Every function that calls Mailchimp shares each account's budget.
	mailchimpBudget := dynamo.NewMailchimpBudget(deps.AWS.DynamoDB, cfg.ContactsTable, connector.DefaultMaxMailchimpConnections,
		connector.BudgetLease(apiTimeout), connector.BudgetWait(apiTimeout))
	conn := &connector.Connector{Timeout: apiTimeout, MaxMailchimpConnections: cfg.MailchimpMaxConnections, CallLimit: cfg.MailchimpCallLimit, Budget: mailchimpBudget, Logger: deps.Log()}
	var instances apmc.Instances = dynamo.NewInstanceStore(deps.AWS.DynamoDB, cfg.InstancesTable, secrets.NewKMS(deps.AWS.KMS, cfg.KMSKeyID))
	if deps.Instances != nil {
		instances = deps.Instances
	}
	svc := &backfill.Service{
		Instances:  instances,
		Connect:    conn.Backfill,
		Store:      dynamo.NewContactStore(deps.AWS.DynamoDB, cfg.ContactsTable),
		Executions: dynamo.NewExecutionStore(deps.AWS.DynamoDB, cfg.ExecutionsTable),
		// A batch is one Mailchimp call (or a move's two) and then a
		// contact state and an execution per member: stop with time for
		// both in hand.
		Reserve: 2*apiTimeout + 30*time.Second,
		// Batch calls in flight stay within the connections the function
		// may use (the template's BackfillMailchimpConnections); 0 (the CLI,
		// which runs alone) leaves backfill.BatchConcurrency.
		MailchimpConnections: cfg.MailchimpMaxConnections,
	}
	if cfg.BackfillQueueURL != "" {
		svc.Queue = queue.Jobs{Client: deps.AWS.SQS, URL: cfg.BackfillQueueURL}
	}
	return svc, nil
}

// Handle runs the jobs of a batch of the backfill queue (the template gives
// it one message at a time): Lambda's handler, and the local stack's
// poller's. A message that cannot be decoded, or a job that can never run
// (its plan is gone, another plan's job is running), is logged and dropped;
// a job this message was continuing is marked failed with the reason; a
// failure a retry may fix is reported, and the queue redelivers the
// message after its visibility timeout.
func (f *Function) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		if err := f.run(ctx, r.Body); err != nil {
			f.log.Error("first sync job failed; the queue retries it", "message_id", r.MessageId, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp, nil
}

// run applies the message's plan until done, cancelled or out of time.
func (f *Function) run(ctx context.Context, body string) error {
	var m backfill.Message
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.InstanceID == "" || m.PlanID == "" {
		f.log.Error("dropped a first sync message that names no instance and plan", "body_bytes", len(body))
		return nil
	}
	log := f.log.With("instance_id", m.InstanceID, "plan_id", m.PlanID)
	if f.runLimit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.runLimit)
		defer cancel()
	}
	if m.RunID == "" {
		// Queued before runs were named: a new run.
		m.RunID = backfill.NewRunID(time.Now())
	}
	res, err := f.Service.Run(ctx, m, nil)
	switch {
	case errors.Is(err, apmc.ErrConflict):
		// Another run holds the job: it is that run's.
		log.Warn("first sync job not run", "error", err.Error())
		return nil
	case err != nil && (apmc.IsPermanent(err) || apmc.IsInvalid(err) || errors.Is(err, apmc.ErrNotFound)):
		// Never runs: a job this message was carrying on ends failed
		// rather than staying "running" with nothing left to run it.
		log.Warn("first sync job not run", "error", err.Error())
		return f.Service.Abandon(context.WithoutCancel(ctx), m, err)
	case err != nil:
		return err
	case res.Incomplete:
		// The message in hand is deleted once this run returns; until then
		// its group holds the continuation back.
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := f.Service.Queue.SendJob(sendCtx, m); err != nil {
			return err
		}
		log.Info("first sync job continues", "written", res.Written, "failed", res.Failed, "blocked", res.Blocked)
		return nil
	}
	log.Info("first sync job ended", "written", res.Written, "failed", res.Failed, "blocked", res.Blocked, "cancelled", res.Cancelled)
	return nil
}
