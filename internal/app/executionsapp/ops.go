package executionsapp

import (
	"errors"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ops"
	"github.com/apmc-sync/apmc/internal/queue"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// OpsConfig names what the operators' operations work on.
type OpsConfig struct {
	// InstancesTable and ExecutionsTable are the DynamoDB tables.
	InstancesTable  string
	ExecutionsTable string
	// QueueURL is the changes queue replays and releases go to.
	QueueURL string
	// DeadLetterURL is the dead-letter queue; empty, the dead-letter
	// operations are unavailable.
	DeadLetterURL string
	// ContactsTable holds the reconciliations the summaries show and the
	// first sync's plans and job; BackfillQueueURL is the queue that starts
	// the job. Without the table the summaries show no reconciliation; with
	// either empty, the first-sync operations are unavailable.
	ContactsTable    string
	BackfillQueueURL string
	// KMSKeyID is the key sealing instance secrets; empty, the instance
	// store can neither seal nor open them. Display reads and the
	// operations need none, so the executions function holds no right on
	// the key; the CLI, which creates instances, names it.
	KMSKeyID string
}

// Validate reports the settings that are missing.
func (c OpsConfig) Validate() error {
	return app.Require("operations",
		app.Setting{Name: "instances table", Value: c.InstancesTable},
		app.Setting{Name: "executions table", Value: c.ExecutionsTable},
		app.Setting{Name: "queue URL", Value: c.QueueURL},
	)
}

// Ops are the operations over a deployment with the stores under them.
type Ops struct {
	Instances  *dynamo.InstanceStore
	Executions *dynamo.ExecutionStore
	Service    *ops.Service
	// Backfill starts, follows and cancels first syncs and reads their
	// plans; nil without a contacts table and a backfill queue. It neither
	// plans nor applies (no API clients here): the job function applies.
	Backfill *backfill.Service
}

// NewOps builds the operations and their stores.
func NewOps(cfg OpsConfig, c app.Clients) (Ops, error) {
	if err := cfg.Validate(); err != nil {
		return Ops{}, err
	}
	if c.DynamoDB == nil || c.SQS == nil || (cfg.KMSKeyID != "" && c.KMS == nil) {
		return Ops{}, errors.New("operations: no AWS clients")
	}
	var sealer dynamo.Sealer // nil: no secrets are sealed or opened
	if cfg.KMSKeyID != "" {
		sealer = secrets.NewKMS(c.KMS, cfg.KMSKeyID)
	}
	o := Ops{
		Instances:  dynamo.NewInstanceStore(c.DynamoDB, cfg.InstancesTable, sealer),
		Executions: dynamo.NewExecutionStore(c.DynamoDB, cfg.ExecutionsTable),
	}
	o.Service = &ops.Service{Instances: o.Instances, Executions: o.Executions, Queue: queue.NewProducer(c.SQS, cfg.QueueURL)}
	if cfg.ContactsTable != "" {
		o.Service.Reconciles = dynamo.NewContactStore(c.DynamoDB, cfg.ContactsTable)
	}
	if cfg.DeadLetterURL != "" {
		o.Service.DeadLetters = &queue.DeadLetters{Client: c.SQS, URL: cfg.DeadLetterURL}
	}
	if cfg.ContactsTable != "" && cfg.BackfillQueueURL != "" {
		o.Backfill = &backfill.Service{
			Instances: o.Instances,
			Store:     dynamo.NewContactStore(c.DynamoDB, cfg.ContactsTable),
			Queue:     queue.Jobs{Client: c.SQS, URL: cfg.BackfillQueueURL},
		}
	}
	return o, nil
}
