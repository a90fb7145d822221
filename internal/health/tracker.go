package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
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
	// StoredHealth reads the instance's state and health as stored now.
	StoredHealth(ctx context.Context, id string) (apmc.State, apmc.Health, error)
	// CountDeadLetter adds one to the instance's dead-lettered count,
	// atomically.
	CountDeadLetter(ctx context.Context, id string, at time.Time) error
	// RecordNotification stores the instance's last notification.
	RecordNotification(ctx context.Context, id string, n apmc.Notification) error
	// RecordSuccess stores when the instance's last successful sync
	// started, unless a later one is stored.
	RecordSuccess(ctx context.Context, id string, at time.Time) error
}

// Notifier delivers a message to a notification URL; *notify.Webhook is
// one.
type Notifier interface {
	Send(ctx context.Context, url, text string) error
}

// Tracker observes the engine's executions (it is an apmc.Observer) and the
// changes the consumer hands back for the last time.
type Tracker struct {
	// Instances reads an instance, secrets opened: the engine's cache, so
	// a change whose instance is cached costs no request here either.
	Instances apmc.Instances
	Store     Store
	Notifier  Notifier
	// Policy tunes the decisions; zero means apmc.DefaultHealthPolicy.
	Policy apmc.HealthPolicy
	Logger *slog.Logger
	// Metrics receives the embedded-metric-format records, one JSON line
	// each; nil means standard output. They are written apart from Logger,
	// whatever its level, so the per-instance alarm always has its data.
	Metrics io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex
	// known is the newest health this function wrote or was told of, per
	// instance: the cached instance may hold an older one until it
	// expires.
	known map[string]apmc.Health
	// succeeded is, per instance, the last success this function recorded.
	succeeded map[string]time.Time
	// out serialises the metric records, so lines never interleave, and
	// guards holds and pending.
	out sync.Mutex
	// holds counts the Holds not yet released; while there are any, the
	// tallies wait in pending, by instance.
	holds   int
	pending map[string]*tally
}

var _ apmc.Observer = (*Tracker)(nil)

// conflictTries bounds the decisions of one execution against rival
// writers: each lost race returns the winner's health, and a decision on
// it is almost always to write nothing.
const conflictTries = 3

// notifyMargin is the time a notification leaves of its invocation for
// recording its outcome and the rest of the batch.
const notifyMargin = time.Second

// Observe counts the execution in the metrics and, when it changes its
// instance's health, stores the change and sends the notification. It
// never fails the execution: problems are logged.
func (t *Tracker) Observe(ctx context.Context, e apmc.Execution, retried bool) {
	now := t.now()
	o := apmc.OutcomeOf(e, retried)
	t.count(now, e.InstanceID, func(c *tally) { c.addExecution(e, o) })
	in, err := t.Instances.Instance(ctx, e.InstanceID)
	if err != nil {
		return // no such instance: nothing to keep
	}
	state := in.State
	if e.Status == apmc.StatusHeld {
		state = apmc.StatePaused
	}
	t.track(ctx, in, state, o, now)
	if e.Status == apmc.StatusSucceeded {
		t.recordSuccess(ctx, in.ID, startOf(e, now))
	}
}

// startOf is when e started; now when it does not say.
func startOf(e apmc.Execution, now time.Time) time.Time {
	if e.StartedAt.IsZero() {
		return now
	}
	return e.StartedAt
}

// successDue reports whether a success at at is worth recording after the
// last one recorded, last: once per every at most, so a busy instance
// costs a write a minute, not one per synced change, and health shows its
// last success to that precision however many failures follow it.
func successDue(last, at time.Time, every time.Duration) bool {
	return last.IsZero() || at.Sub(last) >= every
}

// recordSuccess stores the instance's last successful sync when
// successDue says so.
func (t *Tracker) recordSuccess(ctx context.Context, id string, at time.Time) {
	t.mu.Lock()
	if !successDue(t.succeeded[id], at, t.policy().Stamp) {
		t.mu.Unlock()
		return
	}
	if t.succeeded == nil {
		t.succeeded = map[string]time.Time{}
	}
	last := t.succeeded[id]
	t.succeeded[id] = at
	t.mu.Unlock()
	if err := t.Store.RecordSuccess(ctx, id, at); err != nil {
		t.logger().WarnContext(ctx, "could not record the instance's last success", "instance_id", id, "error", err.Error())
		t.mu.Lock()
		if t.succeeded[id].Equal(at) {
			t.succeeded[id] = last // the next success tries again
		}
		t.mu.Unlock()
	}
}

// DeadLettered records a change of the instance that the consumer handed
// back unapplied on its last receive (it waited behind a failed change of
// its contact, or the invocation ran out of time): it moves to the
// dead-letter queue with no execution, so it is counted and announced here.
func (t *Tracker) DeadLettered(ctx context.Context, instanceID string) {
	now := t.now()
	t.count(now, instanceID, func(c *tally) { c.deadLettered++ })
	in, err := t.Instances.Instance(ctx, instanceID)
	if err != nil {
		return
	}
	t.track(ctx, in, in.State, apmc.OutcomeDeadLettered, now)
}

// track counts a dead letter, decides the instance's next health and
// stores and announces it when it changed.
func (t *Tracker) track(ctx context.Context, in apmc.Instance, state apmc.State, o apmc.Outcome, now time.Time) {
	if o == apmc.OutcomeDeadLettered {
		if err := t.Store.CountDeadLetter(ctx, in.ID, now); err != nil {
			t.logger().WarnContext(ctx, "could not count the instance's dead letter", "instance_id", in.ID, "error", err.Error())
		}
	}
	prev := t.latest(in)
	fresh := false // state and prev were read from the store just now
	for try := 0; try < conflictTries; {
		next, events, write := apmc.NextHealth(prev, state, o, now, t.policy())
		if !write {
			t.remember(in.ID, prev)
			return
		}
		if !fresh && announcesState(events) {
			// The cached instance may be seconds old: a pause or resume is
			// announced only as the item stores it, or a function whose
			// cache still says enabled would announce a resume of a paused
			// instance (and the next held change the pause again).
			st, stored, err := t.Store.StoredHealth(ctx, in.ID)
			if err != nil {
				t.logger().WarnContext(ctx, "could not read the instance's health", "instance_id", in.ID, "error", err.Error())
				return
			}
			state, prev, fresh = st, stored, true
			continue
		}
		stored, err := t.Store.SaveHealth(ctx, in.ID, prev.Version, next)
		if errors.Is(err, apmc.ErrConflict) {
			prev, fresh = stored, false
			try++
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
	t.logger().WarnContext(ctx, "gave up storing the instance's health: other functions kept changing it", "instance_id", in.ID, "tries", conflictTries)
	t.remember(in.ID, prev)
}

// announcesState reports whether events announce a pause or a resume.
func announcesState(events []apmc.HealthEvent) bool {
	return slices.Contains(events, apmc.EventPaused) || slices.Contains(events, apmc.EventResumed)
}

// announce logs the health change and sends it to the instance's
// notification URL, if it has one, recording the outcome.
func (t *Tracker) announce(ctx context.Context, in apmc.Instance, h apmc.Health, events []apmc.HealthEvent) {
	n := apmc.Notification{At: t.now().UTC(), Events: events, Outcome: "no notification URL"}
	if target := in.Secrets.NotificationURL; target != "" && t.Notifier != nil {
		n.Outcome = t.send(ctx, in, target, apmc.HealthMessage(in, h, events))
	}
	t.logger().InfoContext(ctx, "instance health changed", "instance_id", in.ID, "events", fmt.Sprint(events),
		"failing", h.Failing, "notification", n.Outcome)
	if err := t.Store.RecordNotification(ctx, in.ID, n); err != nil {
		t.logger().WarnContext(ctx, "could not record the notification", "instance_id", in.ID, "error", err.Error())
	}
}

// send delivers one notification within the time the invocation has left
// (less a margin for recording it) and returns its outcome, which names
// neither the URL nor its host.
func (t *Tracker) send(ctx context.Context, in apmc.Instance, target, text string) string {
	if deadline, ok := ctx.Deadline(); ok {
		if time.Until(deadline) <= notifyMargin {
			return "not sent: too little time left in the invocation"
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-notifyMargin))
		defer cancel()
	}
	if err := t.Notifier.Send(ctx, target, text); err != nil {
		return "failed: " + apmc.Redact(err.Error(), append(in.Secrets.Values(), hostOf(target)))
	}
	return "delivered"
}

// hostOf returns the host of a notification URL ("" if it has none), which
// network, DNS and TLS errors name.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
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
