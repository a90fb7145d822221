package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// ResumeResult says what Resume did.
type ResumeResult struct {
	Instance apmc.Instance `json:"instance"`
	// Released is how many held changes were queued again.
	Released int `json:"released"`
}

// Resume sweeps: a change may be held while Resume runs (by a function that
// read the instance before it was enabled), and the status index Resume
// reads is eventually consistent, so one pass may miss a change held just
// before. Resume looks again, resumeSweepWait apart, until a pass finds
// nothing new, at most resumeSweeps times.
const (
	resumeSweeps    = 3
	resumeSweepWait = 200 * time.Millisecond
)

// Resume enables the instance and releases all its held changes, oldest
// first (execution ids are time-ordered), so they are applied in the order
// they arrived. It reads them a page at a time, however many there are.
// Each held execution is released once, however often the sweeps see it:
// it is read again, consistently, before it is released.
func (s *Service) Resume(ctx context.Context, id string) (ResumeResult, error) {
	in, err := s.Instances.SetState(ctx, id, apmc.StateEnabled)
	if err != nil {
		return ResumeResult{}, fmt.Errorf("resume instance %s: %w", id, err)
	}
	res := ResumeResult{Instance: in}
	for pass := range resumeSweeps {
		if pass > 0 {
			if err := sleep(ctx, resumeSweepWait); err != nil {
				return res, fmt.Errorf("release held changes of instance %s: %w", id, err)
			}
		}
		released := 0
		_, err := s.walk(ctx, id, apmc.ExecutionQuery{Status: apmc.StatusHeld, OldestFirst: true}, 0, func(e apmc.Execution) error {
			ok, err := s.release(ctx, e)
			if ok {
				released++
			}
			return err
		})
		res.Released += released
		if err != nil {
			return res, fmt.Errorf("release held changes of instance %s: %w", id, err)
		}
		if released == 0 && pass > 0 {
			break
		}
	}
	return res, nil
}

// release queues a held execution's change again and marks the execution
// released; an execution that kept no change, or is no longer held (the
// status index lags, or another resume released it), is left as it is.
func (s *Service) release(ctx context.Context, e apmc.Execution) (bool, error) {
	if e.Change == nil {
		return false, nil
	}
	current, err := s.Executions.Execution(ctx, e.InstanceID, e.ID)
	if errors.Is(err, apmc.ErrNotFound) {
		return false, nil // expired since it was listed
	}
	if err != nil {
		return false, fmt.Errorf("read held execution %s: %w", e.ID, err)
	}
	if e = current; e.Status != apmc.StatusHeld || e.Change == nil {
		return false, nil
	}
	c := s.again(*e.Change, "resume")
	c.Origin = e.Change.Origin
	c.OriginalExecutionID = e.ID
	c.FirstReceivedAt = firstReceiptToKeep(e)
	if err := s.Queue.Enqueue(ctx, c); err != nil {
		return false, fmt.Errorf("release held change %s: %w", e.ChangeID, err)
	}
	e.Status = apmc.StatusSkipped
	e.Reason = fmt.Sprintf("held while the instance was paused; released on resume as execution %s", apmc.FirstExecutionID(c))
	if err := s.Executions.SaveExecution(ctx, e); err != nil {
		return true, fmt.Errorf("mark held execution %s released: %w", e.ID, err)
	}
	return true, nil
}

// releaseReplayed marks a held execution released by its replay, recorded
// as execution replayID. It is read again, consistently, first: one no
// longer held (a resume released it meanwhile) is left as it is.
func (s *Service) releaseReplayed(ctx context.Context, e apmc.Execution, replayID string) error {
	current, err := s.Executions.Execution(ctx, e.InstanceID, e.ID)
	if errors.Is(err, apmc.ErrNotFound) {
		return nil // expired since it was read
	}
	if err != nil {
		return fmt.Errorf("replay %s is queued, but reading held execution %s failed: %w", replayID, e.ID, err)
	}
	if current.Status != apmc.StatusHeld {
		return nil
	}
	current.Status = apmc.StatusSkipped
	current.Reason = fmt.Sprintf("held while the instance was paused; released by a replay as execution %s", replayID)
	if err := s.Executions.SaveExecution(ctx, current); err != nil {
		return fmt.Errorf("replay %s is queued, but marking held execution %s released failed: %w", replayID, e.ID, err)
	}
	return nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
