package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Store keeps instances' health; *dynamo.InstanceStore is one.
type Store interface {
	// SaveHealth stores next if the stored health is still at version
	// read; otherwise it returns the stored health and an error wrapping
	// apmc.ErrConflict.
	SaveHealth(ctx context.Context, id string, read int, next apmc.Health) (apmc.Health, error)
	// RecordNotification stores the instance's last notification.
	RecordNotification(ctx context.Context, id string, n apmc.Notification) error
}

// Notifier delivers a message to a notification URL; *notify.Webhook is
// one.
type Notifier interface {
	Send(ctx context.Context, url, text string) error
}

// Tracker observes the engine's executions (it is an apmc.Observer).
type Tracker struct {
	// Instances reads an instance, secrets opened: the engine's cache, so
	// a change whose instance is cached costs no request here either.
	Instances apmc.Instances
	Store     Store
	Notifier  Notifier
	// Policy tunes the decisions; zero means apmc.DefaultHealthPolicy.
	Policy apmc.HealthPolicy
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex
	// known is the newest health this function wrote or was told of, per
	// instance: the cached instance may hold an older one until it
	// expires.
	known map[string]apmc.Health
}

var _ apmc.Observer = (*Tracker)(nil)

// conflictTries bounds the decisions of one execution against rival
// writers: each lost race returns the winner's health, and a decision on
// it is almost always to write nothing.
const conflictTries = 3

// Observe emits the execution's metrics and, when it changes its
// instance's health, stores the change and sends the notification. It
// never fails the execution: problems are logged.
func (t *Tracker) Observe(ctx context.Context, e apmc.Execution, retried bool) {
	now := t.now()
	o := apmc.OutcomeOf(e, retried)
	emit(ctx, t.logger(), now, e, o)
	in, err := t.Instances.Instance(ctx, e.InstanceID)
	if err != nil {
		return // no such instance: nothing to keep
	}
	state := in.State
	if e.Status == apmc.StatusHeld {
		state = apmc.StatePaused
	}
	prev := t.latest(in)
	for range conflictTries {
		next, events, write := apmc.NextHealth(prev, state, o, now, t.policy())
		if !write {
			t.remember(in.ID, prev)
			return
		}
		stored, err := t.Store.SaveHealth(ctx, in.ID, prev.Version, next)
		if errors.Is(err, apmc.ErrConflict) {
			prev = stored
			continue
		}
		if err != nil {
			t.logger().WarnContext(ctx, "could not store the instance's health", "instance_id", in.ID, "error", err.Error())
			return
		}
		t.remember(in.ID, next)
		if len(events) > 0 {
			t.announce(ctx, in, next, events)
		}
		return
	}
	t.remember(in.ID, prev)
}

// announce logs the health change and sends it to the instance's
// notification URL, if it has one, recording the outcome.
func (t *Tracker) announce(ctx context.Context, in apmc.Instance, h apmc.Health, events []apmc.HealthEvent) {
	n := apmc.Notification{At: t.now().UTC(), Events: events, Outcome: "no notification URL"}
	if url := in.Secrets.NotificationURL; url != "" && t.Notifier != nil {
		// A deadline of its own: the batch's may be too near, and a lost
		// notification is not worth failing a change for.
		err := t.Notifier.Send(context.WithoutCancel(ctx), url, apmc.HealthMessage(in, h, events))
		n.Outcome = "delivered"
		if err != nil {
			n.Outcome = "failed: " + apmc.Redact(err.Error(), in.Secrets.Values())
		}
	}
	t.logger().InfoContext(ctx, "instance health changed", "instance_id", in.ID, "events", fmt.Sprint(events),
		"failing", h.Failing, "dead_lettered", h.DeadLettered, "notification", n.Outcome)
	if err := t.Store.RecordNotification(ctx, in.ID, n); err != nil {
		t.logger().WarnContext(ctx, "could not record the notification", "instance_id", in.ID, "error", err.Error())
	}
}

// latest returns the newer of the cached instance's health and the one
// this function last knew.
func (t *Tracker) latest(in apmc.Instance) apmc.Health {
	t.mu.Lock()
	defer t.mu.Unlock()
	if k, ok := t.known[in.ID]; ok && k.Version > in.Health.Version {
		return k
	}
	return in.Health
}

func (t *Tracker) remember(id string, h apmc.Health) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.known == nil {
		t.known = map[string]apmc.Health{}
	}
	if k, ok := t.known[id]; !ok || h.Version >= k.Version {
		t.known[id] = h
	}
}

func (t *Tracker) policy() apmc.HealthPolicy {
	if t.Policy == (apmc.HealthPolicy{}) {
		return apmc.DefaultHealthPolicy
	}
	return t.Policy
}

func (t *Tracker) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Tracker) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}
