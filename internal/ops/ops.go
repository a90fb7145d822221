package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/reconcile"
)

// Instances is what ops needs of the instance store.
type Instances interface {
	List(ctx context.Context) ([]apmc.Instance, error)
	Display(ctx context.Context, id string) (apmc.Instance, error)
	SetState(ctx context.Context, id string, s apmc.State) (apmc.Instance, error)
}

// Executions is what ops needs of the execution store.
type Executions interface {
	Executions(ctx context.Context, instanceID string, q apmc.ExecutionQuery) ([]apmc.Execution, string, error)
	Execution(ctx context.Context, instanceID, id string) (apmc.Execution, error)
	SaveExecution(ctx context.Context, e apmc.Execution) error
	// CountExecutions returns how many executions match q, without reading
	// them back.
	CountExecutions(ctx context.Context, instanceID string, q apmc.ExecutionQuery) (int, error)
}

// Queue puts changes on the changes queue.
type Queue interface {
	Enqueue(ctx context.Context, c apmc.Change) error
}

// Reconciles reads recorded reconciliations.
type Reconciles interface {
	// LastRun returns the instance's newest run; none wraps
	// apmc.ErrNotFound.
	LastRun(ctx context.Context, instanceID string) (reconcile.Run, error)
}

// DeadLetters is the dead-letter queue.
type DeadLetters interface {
	// Depth is the number of changes waiting in it.
	Depth(ctx context.Context) (int, error)
	// List returns up to max changes in it, without removing them.
	List(ctx context.Context, max int) ([]apmc.Change, error)
	// Take removes up to max changes, handing each to fn first; a change fn
	// fails for stays in the queue.
	Take(ctx context.Context, max int, fn func(apmc.Change) error) (int, error)
}

// Service implements the operations.
type Service struct {
	Instances   Instances
	Executions  Executions
	Queue       Queue
	DeadLetters DeadLetters // nil: no dead-letter queue operations
	// Reconciles reads the instances' reconciliations; nil: summaries
	// show none.
	Reconciles Reconciles
	Now        func() time.Time
	// Bounds bound the walks over executions (zero: the defaults).
	Bounds Bounds
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Summary is an instance at a glance. It never holds a secret.
type Summary struct {
	Instance        apmc.Instance `json:"instance"`
	LastExecutionAt *time.Time    `json:"last_execution_at,omitempty"`
	LastStatus      apmc.Status   `json:"last_status,omitempty"`
	// Last24h counts executions of the last 24 hours by status, each up to
	// CountCap: a count equal to CountCap means at least that many.
	Last24h map[apmc.Status]int `json:"last_24h"`
	// CountCap is where counting stops (Bounds.MaxCount).
	CountCap int `json:"count_cap"`
	// AtLeast names the statuses whose count is a lower bound: counted
	// among the newest CountCap executions of the 24 hours only (an
	// instance with more). Shown as "N+".
	AtLeast []apmc.Status `json:"at_least,omitempty"`

	// tallied says the counts came from one read of the newest executions,
	// which found lastSuccess (nil: no success among them).
	tallied     bool
	lastSuccess *time.Time
	// DeadLetters is the depth of the deployment's one dead-letter queue,
	// shared by every instance (-1 when unknown): it is the same number in
	// every summary, not a count of this instance's changes.
	DeadLetters int `json:"dead_letters"`
	// LastReconcile is the instance's newest reconciliation, with its
	// counts; nil when none is recorded.
	LastReconcile *reconcile.Run `json:"last_reconcile,omitempty"`
}

// StatusTally is an execution store that counts every status in one
// bounded pass; *dynamo.ExecutionStore is one.
type StatusTally interface {
	// TallyStatuses reads the statuses of at most max executions started
	// at or after from, newest first.
	TallyStatuses(ctx context.Context, instanceID string, from time.Time, max int) (apmc.ExecutionTally, error)
	// CountedByIndex reports whether CountExecutions counts the status
	// exactly (through an index) rather than through a filter.
	CountedByIndex(st apmc.Status) bool
}

// countLast24h fills the summary's counts of the last 24 hours. With a
// StatusTally it reads the newest CountCap executions' statuses once: when
// those are all the day's executions every count is exact; otherwise the
// statuses an index counts are counted (each up to CountCap) and the others
// keep the tally as a lower bound (AtLeast). Without one, it counts each
// status.
func (s *Service) countLast24h(ctx context.Context, id string, sum *Summary) error {
	from := s.now().Add(-24 * time.Hour)
	count := func(st apmc.Status) error {
		n, err := s.Executions.CountExecutions(ctx, id, apmc.ExecutionQuery{Status: st, From: from, Limit: sum.CountCap})
		if err != nil {
			return fmt.Errorf("count %s executions of instance %s: %w", st, id, err)
		}
		sum.Last24h[st] = n
		return nil
	}
	tally, ok := s.Executions.(StatusTally)
	if !ok {
		for _, st := range apmc.Statuses {
			if err := count(st); err != nil {
				return err
			}
		}
		return nil
	}
	t, err := tally.TallyStatuses(ctx, id, from, sum.CountCap)
	if err != nil {
		return fmt.Errorf("count the executions of instance %s: %w", id, err)
	}
	counts, complete := t.Counts, t.Complete
	if at, ok := t.Newest[apmc.StatusSucceeded]; ok {
		sum.lastSuccess = &at
	}
	sum.tallied = true
	for _, st := range apmc.Statuses {
		switch {
		case complete:
			sum.Last24h[st] = counts[st]
		case tally.CountedByIndex(st):
			if err := count(st); err != nil {
				return err
			}
		default:
			sum.Last24h[st] = counts[st]
			sum.AtLeast = append(sum.AtLeast, st)
		}
	}
	return nil
}

// Summary returns the instance's summary.
func (s *Service) Summary(ctx context.Context, id string) (Summary, error) {
	in, err := s.Instances.Display(ctx, id)
	if err != nil {
		return Summary{}, fmt.Errorf("read instance %s: %w", id, err)
	}
	return s.summaryOf(ctx, in, s.deadLetterDepth(ctx))
}

// deadLetterDepth reads the dead-letter queue's depth; -1 when unknown.
func (s *Service) deadLetterDepth(ctx context.Context) int {
	if s.DeadLetters == nil {
		return -1
	}
	n, err := s.DeadLetters.Depth(ctx)
	if err != nil {
		return -1
	}
	return n
}

// summaryOf summarises in, given the dead-letter queue's depth. Its
// requests are bounded: one read of the newest execution, one capped count
// per status, one read of the last reconciliation.
func (s *Service) summaryOf(ctx context.Context, in apmc.Instance, depth int) (Summary, error) {
	id := in.ID
	sum := Summary{Instance: in, Last24h: map[apmc.Status]int{}, CountCap: s.Bounds.maxCount(), DeadLetters: depth}
	latest, _, err := s.Executions.Executions(ctx, id, apmc.ExecutionQuery{Limit: 1})
	if err != nil {
		return Summary{}, fmt.Errorf("read the latest execution of instance %s: %w", id, err)
	}
	if len(latest) > 0 {
		t := latest[0].StartedAt
		sum.LastExecutionAt, sum.LastStatus = &t, latest[0].Status
	}
	if err := s.countLast24h(ctx, id, &sum); err != nil {
		return Summary{}, err
	}
	if s.Reconciles != nil {
		run, err := s.Reconciles.LastRun(ctx, id)
		switch {
		case err == nil:
			sum.LastReconcile = &run
		case !errors.Is(err, apmc.ErrNotFound):
			return Summary{}, fmt.Errorf("read the last reconciliation of instance %s: %w", id, err)
		}
	}
	return sum, nil
}

// Summaries returns every instance's summary, ordered by id. The
// dead-letter queue's depth is read once for all, and instances are
// summarised a few at a time (Bounds.Parallel), so hundreds of instances
// answer well within an API Gateway request's 30 seconds.
func (s *Service) Summaries(ctx context.Context) ([]Summary, error) {
	list, err := s.Instances.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	depth := s.deadLetterDepth(ctx)
	return eachInstance(ctx, s.Bounds.parallel(), list, func(ctx context.Context, in apmc.Instance) (Summary, error) {
		return s.summaryOf(ctx, in, depth)
	})
}

// eachInstance returns fn of each of items, in order, running at most
// parallel at once; the first error cancels the others and is returned.
func eachInstance[T, R any](ctx context.Context, parallel int, items []T, fn func(context.Context, T) (R, error)) ([]R, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]R, len(items))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, max(parallel, 1))
	)
	for i, it := range items {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			r, err := fn(ctx, it)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
				cancel()
			}
			out[i] = r
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

// Pause stops applying the instance's changes: they are held (or discarded,
// if the instance is set so) until Resume.
func (s *Service) Pause(ctx context.Context, id string) (apmc.Instance, error) {
	in, err := s.Instances.SetState(ctx, id, apmc.StatePaused)
	if err != nil {
		return apmc.Instance{}, fmt.Errorf("pause instance %s: %w", id, err)
	}
	return in, nil
}

// again returns a copy of c to be queued anew: a fresh delivery id (so the
// queue does not take it for a duplicate) received now.
func (s *Service) again(c apmc.Change, why string) apmc.Change {
	now := s.now().UTC()
	c.ID = fmt.Sprintf("%s#%s-%s", c.ID, why, apmc.NewExecutionID(now))
	c.ReceivedAt = now
	c.PriorAttempts = 0 // a new change: its attempts start again
	return c
}

// firstReceived is when the change a replay repeats was first received: its
// attempts wrote no earlier, so the replay can tell its own earlier writes
// (whose answers may have been lost) from others'.
func firstReceived(c apmc.Change) time.Time {
	if !c.FirstReceivedAt.IsZero() {
		return c.FirstReceivedAt
	}
	return c.ReceivedAt
}

// firstReceiptToKeep is the first receipt a change queued again from the
// execution e carries (zero for none): when its attempts may have written
// already, their answers lost — a failed change's, or the earlier attempts
// of a retry however it ended (held, skipped). A first attempt that ended
// otherwise recorded what it wrote, or wrote nothing.
func firstReceiptToKeep(e apmc.Execution) time.Time {
	if e.Change == nil || e.Status != apmc.StatusFailed && e.Attempt <= 1 {
		return time.Time{}
	}
	return firstReceived(*e.Change)
}

// Replayed says which execution a replay will record.
type Replayed struct {
	OriginalID  string `json:"original_id"`
	ChangeID    string `json:"change_id"`
	ExecutionID string `json:"execution_id"`
}

// ErrNotReplayable is returned for executions that kept no change.
var ErrNotReplayable = errors.New("the execution kept no change to replay")

// Replay queues the change of an execution again. It is applied with the
// instance's current configuration, even while the instance is paused, and
// recorded as a new execution linked to the original; a held original is
// marked released, so a resume does not apply it again.
func (s *Service) Replay(ctx context.Context, instanceID, executionID string) (Replayed, error) {
	e, err := s.Executions.Execution(ctx, instanceID, executionID)
	if err != nil {
		return Replayed{}, fmt.Errorf("read execution %s: %w", executionID, err)
	}
	return s.replay(ctx, e)
}

func (s *Service) replay(ctx context.Context, e apmc.Execution) (Replayed, error) {
	if e.Change == nil {
		return Replayed{}, apmc.Invalidf("execution %s: %w", e.ID, ErrNotReplayable)
	}
	c := s.again(*e.Change, "replay")
	c.Origin = apmc.OriginReplay
	c.OriginalExecutionID = e.ID
	c.FirstReceivedAt = firstReceiptToKeep(e)
	if err := s.Queue.Enqueue(ctx, c); err != nil {
		return Replayed{}, fmt.Errorf("queue replay of %s: %w", e.ID, err)
	}
	r := Replayed{OriginalID: e.ID, ChangeID: c.ID, ExecutionID: apmc.FirstExecutionID(c)}
	if e.Status == apmc.StatusHeld {
		// A replay ignores the pause, so the held change is applied now:
		// left held, health would count it and a resume apply it again.
		if err := s.releaseReplayed(ctx, e, r.ExecutionID); err != nil {
			return r, err
		}
	}
	return r, nil
}

// MaxBulkReplay is the default bound of one bulk replay (Bounds.MaxBulkReplay).
const MaxBulkReplay = 1000

// ReplayMatching replays every execution matching q (typically status
// failed), oldest first. When more than Bounds.MaxBulkReplay match, it
// refuses and queues nothing; it reads at most one page past the bound.
func (s *Service) ReplayMatching(ctx context.Context, instanceID string, q apmc.ExecutionQuery) ([]Replayed, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.Instances.Display(ctx, instanceID); err != nil {
		return nil, fmt.Errorf("read instance %s: %w", instanceID, err)
	}
	limit := s.Bounds.maxBulkReplay()
	q.OldestFirst = true
	var list []apmc.Execution
	truncated, err := s.walk(ctx, instanceID, q, limit, func(e apmc.Execution) error {
		list = append(list, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if truncated {
		return nil, apmc.Invalidf("more than %d executions match; narrow the filter to at most %d", limit, limit)
	}
	out := []Replayed{}
	for _, e := range list {
		if e.Change == nil {
			continue
		}
		r, err := s.replay(ctx, e)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Timeline is everything that happened to one contact, across both flows.
type Timeline struct {
	// Executions are the contact's executions, oldest first: the newest
	// Bounds.MaxWalk of them.
	Executions []apmc.Execution `json:"executions"`
	// Truncated says older executions were left out.
	Truncated bool `json:"truncated,omitempty"`
}

// Timeline returns everything that happened to one contact, oldest first,
// across both flows: at most Bounds.MaxWalk executions, the newest.
func (s *Service) Timeline(ctx context.Context, instanceID, email string) (Timeline, error) {
	if !apmc.LooksLikeEmail(email) {
		return Timeline{}, apmc.Invalidf("%q is not an email address", email)
	}
	if _, err := s.Instances.Display(ctx, instanceID); err != nil {
		return Timeline{}, fmt.Errorf("read instance %s: %w", instanceID, err)
	}
	tl := Timeline{Executions: []apmc.Execution{}}
	q := apmc.ExecutionQuery{Contact: apmc.NormaliseEmail(email)}
	truncated, err := s.walk(ctx, instanceID, q, s.Bounds.maxWalk(), func(e apmc.Execution) error {
		tl.Executions = append(tl.Executions, e)
		return nil
	})
	if err != nil {
		return Timeline{}, err
	}
	slices.Reverse(tl.Executions)
	tl.Truncated = truncated
	return tl, nil
}

// Related returns the executions linked to e, oldest first: retries of it
// and replays of it. It reads at most Bounds.MaxWalk executions from e's
// start on; truncated says it stopped there, so later links may be missing.
func (s *Service) Related(ctx context.Context, e apmc.Execution) (related []apmc.Execution, truncated bool, err error) {
	q := apmc.ExecutionQuery{From: e.StartedAt.Add(-time.Second), OldestFirst: true}
	if e.Contact != "" {
		q.Contact = e.Contact
	}
	truncated, err = s.walk(ctx, e.InstanceID, q, s.Bounds.maxWalk(), func(x apmc.Execution) error {
		if x.OriginalID == e.ID && x.ID != e.ID {
			related = append(related, x)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return related, truncated, nil
}

// DeadLetterList returns up to max changes in the dead-letter queue.
func (s *Service) DeadLetterList(ctx context.Context, max int) ([]apmc.Change, error) {
	if s.DeadLetters == nil {
		return nil, errors.New("no dead-letter queue configured")
	}
	return s.DeadLetters.List(ctx, max)
}

// DeadLetterRedrive moves up to max changes from the dead-letter queue back
// to the changes queue, as replays: each gets a fresh delivery id and is
// recorded as a new execution.
func (s *Service) DeadLetterRedrive(ctx context.Context, max int) (int, error) {
	if s.DeadLetters == nil {
		return 0, errors.New("no dead-letter queue configured")
	}
	return s.DeadLetters.Take(ctx, max, func(c apmc.Change) error {
		original := apmc.FirstExecutionID(c)
		first := firstReceived(c)
		c = s.again(c, "redrive")
		c.Origin = apmc.OriginReplay
		c.OriginalExecutionID = original
		c.FirstReceivedAt = first
		return s.Queue.Enqueue(ctx, c)
	})
}
