package backfill

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Store keeps contact states, plans and the instance's one job.
type Store interface {
	ContactStates
	apmc.Contacts
	SavePlan(ctx context.Context, p Plan) error
	Plan(ctx context.Context, instanceID, id string) (Plan, error)
	Plans(ctx context.Context, instanceID string) ([]Plan, error)
	StartJob(ctx context.Context, j Job) error
	ContinueJob(ctx context.Context, j Job) error
	SaveJob(ctx context.Context, j Job) error
	Job(ctx context.Context, instanceID string) (Job, error)
	CancelJob(ctx context.Context, instanceID string) error
}

// Service plans and applies first syncs; the CLI, the API and the job
// function share it.
type Service struct {
	// Instances reads instances with their secrets opened.
	Instances  apmc.Instances
	Connect    func(apmc.Instance) (Sides, error)
	Store      Store
	Executions apmc.Executions
	Now        func() time.Time
	// NewID names a plan; nil uses a time-ordered id.
	NewID func(now time.Time) string
	// Sleep waits between paced accessplanit writes; nil uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Queue hands a started job to the function that runs it (Start).
	Queue JobQueue
	// Reserve is kept in hand before the context's deadline: an apply under
	// a deadline stops at the last batch boundary before deadline - Reserve
	// (plus one paced accessplanit gap) with an incomplete result, the job
	// still running, for a continuation to carry on.
	Reserve time.Duration
	// MailchimpConnections caps the batch calls an apply keeps in flight
	// (Applier.Concurrency); 0 means BatchConcurrency.
	MailchimpConnections int
}

// DefaultAccessplanitRequestsPerHour paces first sync's accessplanit writes
// unless the instance says otherwise: a fifth of the 5,000 requests an hour
// the platform's v1 API allowed (an ASSUMPTION for v2), leaving the rest to
// the live sync and the platform's other users.
const DefaultAccessplanitRequestsPerHour = 1000

// Plan reads both sides of the instance, classifies every contact and
// stores the plan; it writes nothing to either system.
func (s Service) Plan(ctx context.Context, instanceID string, progress Progress) (Plan, error) {
	in, sides, err := s.open(ctx, instanceID)
	if err != nil {
		return Plan{}, err
	}
	pairs, err := Reader{Users: sides.Users, Members: sides.Members, Contacts: s.Store, Progress: progress}.Pairs(ctx, in)
	if err != nil {
		return Plan{}, err
	}
	now := s.now()
	id := apmc.NewExecutionID(now)
	if s.NewID != nil {
		id = s.NewID(now)
	}
	p := NewPlan(id, in, pairs, now)
	if err := s.Store.SavePlan(ctx, p); err != nil {
		return Plan{}, err
	}
	return p, nil
}

// Apply applies a stored plan as a new run of the instance's one job,
// saving its progress as it goes. A plan is required: nobody applies what
// they have not seen. While another run holds the job (within its lease),
// whatever its plan, Apply is refused with an error wrapping ErrJobRunning.
func (s Service) Apply(ctx context.Context, instanceID, planID string, progress Progress) (Result, error) {
	return s.Run(ctx, Message{InstanceID: instanceID, PlanID: planID, RunID: NewRunID(s.now())}, progress)
}

// Run runs the job a message asks for. A message carrying the RunID of the
// instance's running job continues it, keeping its progress (the contacts
// it wrote are unchanged now and are not written again) and without its
// plan, which may have expired since the job started. Any other message
// starts a new run of its plan under its RunID, which another run holding
// the job refuses with an error wrapping ErrJobRunning.
func (s Service) Run(ctx context.Context, m Message, progress Progress) (Result, error) {
	if m.RunID == "" {
		return Result{}, apmc.Invalidf("a first sync message of plan %s names no run", m.PlanID)
	}
	prev, err := s.Store.Job(ctx, m.InstanceID)
	if err != nil && !errors.Is(err, apmc.ErrNotFound) {
		return Result{}, fmt.Errorf("read the first sync of instance %s: %w", m.InstanceID, err)
	}
	continuing := err == nil && prev.Status == JobRunning && prev.RunID == m.RunID
	var plan Plan
	if !continuing {
		if plan, err = s.StoredPlan(ctx, m.InstanceID, m.PlanID); err != nil {
			return Result{}, err
		}
	}
	in, sides, err := s.open(ctx, m.InstanceID)
	if err != nil {
		return Result{}, err
	}
	if err := refusePaused(in); err != nil {
		return Result{}, err
	}
	job := prev
	if continuing {
		err = s.Store.ContinueJob(ctx, job)
	} else {
		job = Job{InstanceID: m.InstanceID, PlanID: m.PlanID, RunID: m.RunID, Total: writes(plan), StartedAt: s.now().UTC()}
		err = s.Store.StartJob(ctx, job)
	}
	if err != nil {
		return Result{}, err
	}
	job.Status = JobRunning
	base, before := job.Done, job.Result
	last := time.Time{}
	a := Applier{
		Reader:       Reader{Users: sides.Users, Members: sides.Members, Contacts: s.Store, Progress: progress},
		Mailchimp:    sides.Batches,
		Member:       sides.Member,
		Accessplanit: sides.Accessplanit,
		Contacts:     s.Store,
		Executions:   s.Executions,
		Pace:         s.pace(in),
		Now:          s.Now,
		Until:        s.until(ctx, in),
		Concurrency:  s.MailchimpConnections,
		// A cancel request stops the run, and so does another run having
		// taken the job over (this one's lease ran out).
		Cancelled: func(ctx context.Context) bool {
			j, err := s.Store.Job(ctx, m.InstanceID)
			return err == nil && (j.CancelRequested || j.RunID != m.RunID)
		},
	}
	apply := func(p Progress) (Result, error) { return a.Apply(ctx, in, plan, p) }
	if continuing {
		apply = func(p Progress) (Result, error) { return a.apply(ctx, in, nil, p) }
	}
	res, err := apply(func(stage string, done int) {
		if progress != nil {
			progress(stage, done)
		}
		if stage == "apply" && s.now().Sub(last) >= time.Second {
			last = s.now()
			job.Done = min(base+done, job.Total)
			_ = s.Store.SaveJob(ctx, job) // progress only; the end is saved below
		}
	})
	ran := res.Written + res.Failed
	if err != nil && !a.Until.IsZero() && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// Cut off by the deadline mid-batch: a continuation carries on.
		res.Incomplete, res.Cancelled, err = true, false, nil
	}
	if res.Incomplete && ran == 0 {
		// A run that ends before writing anything would be continued by one
		// that does the same: reading both sides takes longer than a run.
		res.Incomplete = false
		err = errors.New("the run ended before it wrote anything: reading both sides takes longer than one run of the backfill function may last (raise its timeout, or apply from the CLI)")
	}
	res = before.then(res)
	job.Result = &res
	job.Done = min(base+ran, job.Total)
	switch {
	case res.Incomplete:
		job.Status = JobRunning
	case err != nil:
		job.Status, job.Error = JobFailed, apmc.Redact(err.Error(), in.Secrets.Values())
	case res.Cancelled:
		job.Status = JobCancelled
	default:
		job.Status = JobDone
	}
	// The end is saved with a context of its own, so a cancelled caller
	// still leaves the job ended rather than running until its lease ends.
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := s.Store.SaveJob(saveCtx, job); serr != nil && err == nil {
		err = serr
	}
	return res, err
}

// writes counts the contacts a plan writes.
func writes(p Plan) int {
	n := 0
	for _, c := range p.Contacts {
		if _, w := c.Writes(); w {
			n++
		}
	}
	return n
}

// refusePaused refuses a first sync of a paused instance: a paused instance
// holds its changes, and a first sync must not write around that.
func refusePaused(in apmc.Instance) error {
	if in.State == apmc.StatePaused {
		return apmc.Invalidf("instance %s is paused: resume it before its first sync", in.ID)
	}
	return nil
}

// Status returns the instance's first-sync job.
func (s Service) Status(ctx context.Context, instanceID string) (Job, error) {
	return s.Store.Job(ctx, instanceID)
}

// Cancel asks the running first sync to stop after its current batch.
func (s Service) Cancel(ctx context.Context, instanceID string) error {
	return s.Store.CancelJob(ctx, instanceID)
}

// until is when an apply under ctx's deadline stops: the deadline less
// the reserve and one paced accessplanit gap; zero without a deadline.
func (s Service) until(ctx context.Context, in apmc.Instance) time.Time {
	deadline, ok := ctx.Deadline()
	if !ok {
		return time.Time{}
	}
	return deadline.Add(-s.Reserve - gap(in))
}

func (s Service) open(ctx context.Context, instanceID string) (apmc.Instance, Sides, error) {
	in, err := s.Instances.Instance(ctx, instanceID)
	if err != nil {
		return apmc.Instance{}, Sides{}, fmt.Errorf("read instance %s: %w", instanceID, err)
	}
	sides, err := s.Connect(in)
	if err != nil {
		return apmc.Instance{}, Sides{}, err
	}
	return in, sides, nil
}

// pace waits between accessplanit writes so they stay under the instance's
// budget.
func (s Service) pace(in apmc.Instance) func(ctx context.Context) error {
	gap := gap(in)
	var next time.Time
	return func(ctx context.Context) error {
		now := s.now()
		if wait := next.Sub(now); wait > 0 {
			if err := s.sleep(ctx, wait); err != nil {
				return err
			}
			now = next
		}
		next = now.Add(gap)
		return nil
	}
}

// gap is the time between two paced accessplanit writes.
func gap(in apmc.Instance) time.Duration {
	rate := in.AccessplanitRequestsPerHour
	if rate <= 0 {
		rate = DefaultAccessplanitRequestsPerHour
	}
	return time.Hour / time.Duration(rate)
}

func (s Service) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
