package backfill

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Message asks the job function to apply a plan: the body of a message on
// the backfill queue. The same message carries a job on after a run that
// stopped at its deadline.
type Message struct {
	InstanceID string `json:"instance_id"`
	PlanID     string `json:"plan_id"`
	// RunID is the run the message starts or continues (Job.RunID): a
	// continuation carries the RunID of its job, so only that job's run
	// carries on.
	RunID string `json:"run_id,omitempty"`
}

// NewRunID names a new run of a job.
func NewRunID(now time.Time) string {
	return "run-" + apmc.NewExecutionID(now)
}

// JobQueue hands jobs to the function that runs them.
type JobQueue interface {
	SendJob(ctx context.Context, m Message) error
}

// ErrJobRunning is returned (wrapped) when a first sync is started while
// another one of the instance is running; it wraps apmc.ErrConflict.
var ErrJobRunning = fmt.Errorf("a first sync of this instance is already running: %w", apmc.ErrConflict)

// Start validates that the plan exists and the instance is not paused, and
// hands its apply to the job function as a new run, which runs it as the
// instance's one job; it does not wait. A job of the instance already
// running (within its lease) refuses the start with an error wrapping
// ErrJobRunning, and the job function refuses the run the same way if
// another one took the job meanwhile.
func (s Service) Start(ctx context.Context, instanceID, planID string) (Message, error) {
	if s.Queue == nil {
		return Message{}, errors.New("start a first sync: no job queue")
	}
	if _, err := s.StoredPlan(ctx, instanceID, planID); err != nil {
		return Message{}, err
	}
	in, err := s.Instances.Instance(ctx, instanceID)
	if err != nil {
		return Message{}, fmt.Errorf("read instance %s: %w", instanceID, err)
	}
	if err := refusePaused(in); err != nil {
		return Message{}, err
	}
	j, err := s.Store.Job(ctx, instanceID)
	switch {
	case err == nil && j.Progressing(s.now()):
		return Message{}, fmt.Errorf("plan %s is being applied (%d of %d done): %w", j.PlanID, j.Done, j.Total, ErrJobRunning)
	case err != nil && !errors.Is(err, apmc.ErrNotFound):
		return Message{}, fmt.Errorf("start a first sync: %w", err)
	}
	m := Message{InstanceID: instanceID, PlanID: planID, RunID: NewRunID(s.now())}
	if err := s.Queue.SendJob(ctx, m); err != nil {
		return Message{}, fmt.Errorf("start a first sync: %w", err)
	}
	return m, nil
}

// Abandon marks the job failed with why when m, a continuation of its
// running run, can never run (its instance is gone or paused, say), so the
// job does not stay "running" with nothing left to run it. A message of any
// other run leaves the job alone.
func (s Service) Abandon(ctx context.Context, m Message, why error) error {
	j, err := s.Store.Job(ctx, m.InstanceID)
	if errors.Is(err, apmc.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("abandon the first sync of instance %s: %w", m.InstanceID, err)
	}
	if j.Status != JobRunning || m.RunID == "" || j.RunID != m.RunID {
		return nil
	}
	j.Status, j.Error = JobFailed, "the job cannot continue: "+why.Error()
	if err := s.Store.SaveJob(ctx, j); err != nil {
		return fmt.Errorf("abandon the first sync of instance %s: %w", m.InstanceID, err)
	}
	return nil
}

// StoredPlan returns a stored plan with its contacts. No plan id, or an
// unknown or expired plan, is an invalid-input error.
func (s Service) StoredPlan(ctx context.Context, instanceID, planID string) (Plan, error) {
	if planID == "" {
		return Plan{}, apmc.Invalidf("a plan id is required: run a plan first and apply it by its id")
	}
	plan, err := s.Store.Plan(ctx, instanceID, planID)
	if errors.Is(err, apmc.ErrNotFound) {
		return Plan{}, apmc.Invalidf("plan %s of instance %s does not exist or has expired: make a new plan", planID, instanceID)
	}
	if err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// Plans returns the instance's live plans, newest first, without their
// contacts.
func (s Service) Plans(ctx context.Context, instanceID string) ([]Plan, error) {
	return s.Store.Plans(ctx, instanceID)
}

// Progressing reports whether the job is running and has reported within
// its lease at now.
func (j Job) Progressing(now time.Time) bool {
	return j.Status == JobRunning && now.Sub(j.UpdatedAt) < JobLease
}
