package ops

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

// Resume enables the instance and releases its held changes, oldest first,
// so they are applied in the order they arrived. Each held execution is
// released once, however often the sweeps see it.
func (s *Service) Resume(ctx context.Context, id string) (ResumeResult, error) {
	in, err := s.Instances.SetState(ctx, id, apmc.StateEnabled)
	if err != nil {
		return ResumeResult{}, fmt.Errorf("resume instance %s: %w", id, err)
	}
	res := ResumeResult{Instance: in}
	seen := map[string]bool{}
	for pass := range resumeSweeps {
		if pass > 0 {
			if err := sleep(ctx, resumeSweepWait); err != nil {
				return res, fmt.Errorf("release held changes of instance %s: %w", id, err)
			}
		}
		held, err := s.all(ctx, id, apmc.ExecutionQuery{Status: apmc.StatusHeld})
		if err != nil {
			return res, fmt.Errorf("release held changes of instance %s: %w", id, err)
		}
		fresh := slices.DeleteFunc(held, func(e apmc.Execution) bool { return seen[e.ID] })
		if len(fresh) == 0 && pass > 0 {
			break
		}
		// Execution ids are time-ordered: sort by them, oldest first.
		slices.SortFunc(fresh, func(a, b apmc.Execution) int { return strings.Compare(a.ID, b.ID) })
		for _, e := range fresh {
			seen[e.ID] = true
			released, err := s.release(ctx, e)
			if released {
				res.Released++
			}
			if err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// release queues a held execution's change again and marks the execution
// released; an execution that kept no change is left as it is.
func (s *Service) release(ctx context.Context, e apmc.Execution) (bool, error) {
	if e.Change == nil {
		return false, nil
	}
	c := s.again(*e.Change, "resume")
	c.Origin = e.Change.Origin
	c.OriginalExecutionID = e.ID
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
