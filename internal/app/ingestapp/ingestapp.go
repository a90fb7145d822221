// Package ingestapp builds the two webhook functions, ingest-accessplanit
// and ingest-mailchimp: from their settings to the endpoint that queues each
// delivery as a change. The functions' mains and the local stack both use
// it.
package ingestapp

import (
	"errors"
	"github.com/apmc-sync/apmc/internal/apmc"
	"net/http"
	"time"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ingest"
	"github.com/apmc-sync/apmc/internal/queue"
)

// DefaultInstanceCacheTTL is how long a warm ingest function keeps an
// instance: ingest only authenticates and queues, so a pause or a new token
// may take this long to reach it.
const DefaultInstanceCacheTTL = 60 * time.Second

// Config is what both ingest functions need from their environment.
type Config struct {
	// InstancesTable is the DynamoDB table of instances.
	InstancesTable string
	// QueueURL is the changes queue.
	QueueURL string
	// BulkQueueURL, when set, is the bulk queue: the accessplanit endpoint
	// sends an instance's changes there while the instance has more than
	// BulkLimit deliveries within BulkWindow (zero: ingest.DefaultBulkLimit
	// and ingest.DefaultBulkWindow). Mailchimp changes never go there.
	BulkQueueURL string
	BulkLimit    int
	BulkWindow   time.Duration
	// InstanceCacheTTL is how long an instance is kept; 0 reads it for
	// every delivery.
	InstanceCacheTTL time.Duration
	// ContactsTable, when set with a bulk queue, holds the instances' burst
	// windows (apmc.BurstWindow), shared by every ingest function and read
	// at most once per BurstWindowCache an instance (0:
	// apmc.DefaultBurstWindowCache; the sync's settle time must exceed it).
	ContactsTable    string
	BurstWindowCache time.Duration
}

// ConfigFromEnv reads the configuration from the variables the template
// sets (INSTANCES_TABLE, QUEUE_URL, INSTANCE_CACHE_SECONDS, and for the
// accessplanit function BULK_QUEUE_URL) and the optional BULK_LANE_LIMIT and
// BULK_LANE_WINDOW_SECONDS, reporting every problem at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	env := app.Env{Getenv: getenv}
	cfg := Config{
		InstancesTable:   env.Required("INSTANCES_TABLE"),
		QueueURL:         env.Required("QUEUE_URL"),
		InstanceCacheTTL: env.Seconds("INSTANCE_CACHE_SECONDS", DefaultInstanceCacheTTL),
		BulkQueueURL:     env.Optional("BULK_QUEUE_URL", ""),
		BulkLimit:        env.Positive("BULK_LANE_LIMIT", 0),
		BulkWindow:       env.Seconds("BULK_LANE_WINDOW_SECONDS", 0),
		ContactsTable:    env.Optional("CONTACTS_TABLE", ""),
		BurstWindowCache: env.Seconds("BURST_WINDOW_CACHE_SECONDS", apmc.DefaultBurstWindowCache),
	}
	return cfg, env.Err()
}

// Validate reports the settings that are missing.
func (c Config) Validate() error {
	return app.Require("ingest",
		app.Setting{Name: "instances table", Value: c.InstancesTable},
		app.Setting{Name: "queue URL", Value: c.QueueURL},
	)
}

// NewAccessplanit returns the accessplanit webhook endpoint; with a bulk
// queue, a bursting instance's changes go there.
func NewAccessplanit(cfg Config, deps app.Deps) (http.Handler, error) {
	return newEndpoint(cfg, deps, true, ingest.NewAccessplanit)
}

// NewMailchimp returns the Mailchimp webhook endpoint; with a bulk queue, a
// bursting instance's changes go there (the echoes of a burst's writes),
// but email changes never do (ingest.Lanes).
func NewMailchimp(cfg Config, deps app.Deps) (http.Handler, error) {
	return newEndpoint(cfg, deps, true, ingest.NewMailchimp)
}

// newEndpoint builds what both endpoints read instances through and queue
// changes with (the bulk lane too when lanes is set and there is a bulk
// queue), and the endpoint on them.
func newEndpoint(cfg Config, deps app.Deps, lanes bool, endpoint func(ingest.Deps) http.Handler) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.AWS.DynamoDB == nil || deps.AWS.SQS == nil {
		return nil, errors.New("ingest: no AWS clients")
	}
	// No sealer: the endpoints read only the token digests and the signing
	// secret, never a sealed secret, so the functions need no KMS right.
	store := dynamo.NewInstanceStore(deps.AWS.DynamoDB, cfg.InstancesTable, nil)
	var changes ingest.Enqueuer = queue.NewProducer(deps.AWS.SQS, cfg.QueueURL)
	if lanes && cfg.BulkQueueURL != "" {
		l := &ingest.Lanes{Main: changes, Bulk: queue.NewProducer(deps.AWS.SQS, cfg.BulkQueueURL), Limit: cfg.BulkLimit, Window: cfg.BulkWindow, WindowCache: cfg.BurstWindowCache}
		if cfg.ContactsTable != "" {
			l.Windows = dynamo.NewContactStore(deps.AWS.DynamoDB, cfg.ContactsTable)
		}
		changes = l
	}
	return endpoint(ingest.Deps{
		Webhooks: &ingest.Cache{Next: store, TTL: cfg.InstanceCacheTTL},
		Queue:    changes,
		Logger:   deps.Log(),
	}), nil
}
