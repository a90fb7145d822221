package apmc

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultMaxAttempts is how many times the queue delivers a change before it
// moves to the dead-letter queue (the queue's maxReceiveCount).
const DefaultMaxAttempts = 5

// Engine decides and applies one change, and records the execution.
type Engine struct {
	Instances  Instances
	Contacts   Contacts
	Executions Executions
	Connector  Connector
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxAttempts is the queue's maxReceiveCount; 0 means DefaultMaxAttempts.
	MaxAttempts int
	// Observer, when set, is told of each recorded execution (the
	// instance's health and metrics).
	Observer Observer
	// BulkLane says the accessplanit ingest may send changes to the bulk
	// queue: the echo of a write to accessplanit may then be applied before
	// the change that made it, so such writes are announced (announce.go).
	BulkLane bool
	// InFlightWait bounds how long a change waits for the state of an
	// announced write (announce.go); 0 means DefaultInFlightWait.
	InFlightWait time.Duration
	// Windows, when set, are the instances' burst windows (BurstWindow):
	// a write to Mailchimp from the bulk queue is not announced while its
	// instance's window has settled (BurstWindowSettle: more than the
	// ingest functions keep a window read; 0 means
	// DefaultBurstWindowSettle), as its echo then reaches the bulk queue
	// behind it.
	// Give it a *CachedBurstWindows: the engine reads the window for each
	// such write.
	Windows           BurstWindows
	BurstWindowSettle time.Duration
}

// Delivery is one delivery of a change by the queue.
type Delivery struct {
	Change  Change
	Attempt int // 1 for the first delivery
	// Reads are the source states read for the delivery's batch (nil: none).
	Reads *Reads
	// Batch, when set, groups the delivery's writes with those of the other
	// changes of its batch applied at the same time (nil: written alone).
	Batch *Batch
	// Unordered is set for a change from the bulk queue: what is queued for
	// its contact on the changes queue is not ordered with it. Its write to
	// Mailchimp is announced in the contact state before it is made (the
	// echo may be applied first), and it never writes to accessplanit
	// (ErrOrderedQueue).
	Unordered bool
}

// outcome is how the engine ended a change: a status, and the reason
// when the status alone does not tell the whole story.
type outcome struct {
	status  Status
	changed bool
	reason  string
}

// Apply applies one delivery and records its execution. It returns an error
// only when the delivery should be tried again (a transient failure, or the
// execution could not be recorded); everything else, failures included, is
// settled by the execution it returns.
func (e *Engine) Apply(ctx context.Context, d Delivery) (Execution, error) {
	now := e.now()
	c := d.Change
	recorded := c.Recorded()
	if d.Attempt < 1 {
		d.Attempt = 1
	}
	// Attempts are numbered across queues (Change.PriorAttempts); whether
	// another follows is the queue's receive count's to say.
	attempt := d.Attempt + max(c.PriorAttempts, 0)
	exec := Execution{
		InstanceID: c.InstanceID,
		ChangeID:   c.ID,
		Flow:       FlowFrom(c.Source),
		Event:      c.Event,
		Origin:     OriginWebhook,
		Attempt:    attempt,
		Contact:    c.ContactEmail(),
		StartedAt:  now.UTC(),
		Change:     &recorded,
		Steps:      []Step{},
		Logs:       []LogLine{},
	}
	if c.Origin != "" {
		exec.Origin = c.Origin
	}
	first := FirstExecutionID(c)
	heldBack := attempt > 1 && !e.recorded(ctx, c.InstanceID, first)
	if attempt == 1 || heldBack {
		exec.ID = first
		exec.OriginalID = c.OriginalExecutionID
		exec.Attempt = 1
	} else {
		exec.ID = NewExecutionID(now)
		exec.Origin = OriginRetry
		exec.OriginalID = first
	}
	rec := &recorder{exec: &exec, now: e.now, lastReceive: d.Attempt >= e.maxAttempts()}
	if attempt > 1 || c.Origin == OriginReplay || !c.FirstReceivedAt.IsZero() {
		rec.since = c.earliestWrite()
	}
	rec.logf("info", "%s %s received from %s (attempt %d)", c.Source, c.Event, c.Source, exec.Attempt)
	if heldBack {
		rec.logf("info", "first attempt on receive %d: the change waited behind an earlier change of its contact that was being retried, or was moved from the bulk queue before it was applied", attempt)
	}

	retention := DefaultRetentionDays
	res, err := e.forBatch(d.Reads).apply(ctx, rec, d, &retention)
	exec.FinishedAt = e.now().UTC()
	exec.ExpiresAt = exec.StartedAt.Add(time.Duration(retention) * 24 * time.Hour)

	var retry error
	switch {
	case errors.Is(err, ErrOrderedQueue):
		// Not applied here: recorded where it is applied.
		return exec, err
	case err == nil:
		exec.Status, exec.Changed, exec.Reason = res.status, res.changed, res.reason
		if res.reason != "" {
			rec.logf("info", "%s: %s", res.status, res.reason)
		}
	case isBlocked(err):
		reason, _ := BlockedReason(err)
		exec.Status = StatusBlocked
		exec.Changed = res.changed
		exec.Reason = rec.redact(reason)
		rec.logf("warn", "blocked: Mailchimp will not take this contact, not retried: %s", exec.Reason)
	case IsPermanent(err):
		exec.Status = StatusFailed
		exec.Changed = res.changed
		exec.Error = rec.redact(err.Error())
		rec.logf("error", "failed permanently, not retried: %s", exec.Error)
	default:
		exec.Status = StatusFailed
		exec.Changed = res.changed
		exec.Error = rec.redact(err.Error())
		exec.Retryable = d.Attempt < e.maxAttempts()
		if exec.Retryable {
			rec.logf("warn", "transient failure, will retry (attempt %d; receive %d of %d): %s", exec.Attempt, d.Attempt, e.maxAttempts(), exec.Error)
		} else {
			rec.logf("error", "transient failure on the last receive (attempt %d; receive %d of %d); the change moves to the dead-letter queue: %s", exec.Attempt, d.Attempt, e.maxAttempts(), exec.Error)
		}
		retry = fmt.Errorf("apply change %s: %w", c.ID, err)
	}
	if exec.Status == StatusSuppressed {
		exec = exec.compact()
	}
	if serr := d.Batch.save(ctx, e.Executions, exec); serr != nil {
		return exec, fmt.Errorf("record execution %s: %w", exec.ID, serr)
	}
	if e.Observer != nil {
		e.Observer.Observe(ctx, exec, retry != nil)
	}
	return exec, retry
}

// recorded reports whether the execution exists, when the execution store
// can tell; a change received again without its first execution recorded
// was held back, not tried.
func (e *Engine) recorded(ctx context.Context, instanceID, id string) bool {
	look, ok := e.Executions.(interface {
		Execution(ctx context.Context, instanceID, id string) (Execution, error)
	})
	if !ok {
		return true
	}
	_, err := look.Execution(ctx, instanceID, id)
	return !errors.Is(err, ErrNotFound)
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) maxAttempts() int {
	if e.MaxAttempts > 0 {
		return e.MaxAttempts
	}
	return DefaultMaxAttempts
}

// apply runs the steps for one change.
func (e *Engine) apply(ctx context.Context, rec *recorder, d Delivery, retention *int) (outcome, error) {
	c := d.Change
	var in Instance
	err := rec.step("load_instance", func(out map[string]any) error {
		var err error
		in, err = e.Instances.Instance(ctx, c.InstanceID)
		if errors.Is(err, ErrNotFound) {
			return Permanentf("instance %s does not exist", c.InstanceID)
		}
		if err != nil {
			return fmt.Errorf("load instance %s: %w", c.InstanceID, err)
		}
		out["config_version"] = in.ConfigVersion
		out["state"] = string(in.State)
		out["direction"] = string(in.Direction)
		return nil
	})
	if err != nil {
		return outcome{}, err
	}
	rec.secrets = in.Secrets.Values()
	rec.exec.ConfigVersion = in.ConfigVersion
	*retention = in.Retention()

	flow := FlowFrom(c.Source)
	if !in.Direction.Allows(flow) {
		return outcome{status: StatusSkipped, reason: fmt.Sprintf("the instance syncs %s only; changes from %s are ignored", in.Direction, c.Source)}, nil
	}
	if in.State == StatePaused && c.Origin != OriginReplay {
		// A cached instance may predate a resume: look again before holding.
		if f, ok := e.Instances.(interface {
			Fresh(ctx context.Context, id string) (Instance, error)
		}); ok {
			if fresh, err := f.Fresh(ctx, in.ID); err == nil {
				in = fresh
			}
		}
	}
	if in.State == StatePaused && c.Origin != OriginReplay {
		if in.DiscardWhilePaused {
			return outcome{status: StatusSkipped, reason: "the instance is paused and set to discard changes while paused"}, nil
		}
		return outcome{status: StatusHeld, reason: "the instance is paused; the change is held and applied on resume"}, nil
	}
	if statusFlowsBack(in, c) {
		return e.statusToAccessplanit(ctx, rec, in, c, d.Unordered)
	}
	if p, settled := NoReadNeeded(c); settled {
		return e.settle(ctx, rec, p, Contact{})
	}
	return e.untilSaved(ctx, rec, func() (outcome, error) {
		if flow == FlowToMailchimp {
			return e.toMailchimp(ctx, rec, in, c, d.Reads, d.Batch, d.Unordered)
		}
		if c.Event == EventUpEmail {
			if d.Unordered {
				// Email changes never take the bulk lane; one that came
				// through it anyway (a redrive) is applied in order.
				return outcome{}, ErrOrderedQueue
			}
			return e.emailChanged(ctx, rec, in, c)
		}
		return e.toAccessplanit(ctx, rec, in, c, d.Reads, d.Unordered)
	})
}
