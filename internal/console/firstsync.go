package console

import (
	"context"
	"errors"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
)

// Backfill is what the instance page reads of the first sync;
// backfill.Service is one.
type Backfill interface {
	Plans(ctx context.Context, instanceID string) ([]backfill.Plan, error)
	Status(ctx context.Context, instanceID string) (backfill.Job, error)
}

// latestPlans is how many plans the instance page shows.
const latestPlans = 3

// firstSync is the instance page's first-sync section: the latest plans'
// counts and the job's progress or result.
type firstSync struct {
	Plans   []backfill.Plan
	Job     *backfill.Job
	Actions []apmc.PairAction
}

// Percent is how much of the job is done, 0 to 100.
func (f firstSync) Percent() int {
	if f.Job == nil || f.Job.Total == 0 {
		return 100
	}
	return min(100, f.Job.Done*100/f.Job.Total)
}

// firstSync reads the section; a failing read is logged and leaves the
// section out rather than the page.
func (c *console) firstSync(ctx context.Context, id string) *firstSync {
	if c.cfg.Backfill == nil {
		return nil
	}
	plans, err := c.cfg.Backfill.Plans(ctx, id)
	if err != nil {
		c.cfg.Logger.Error("read first-sync plans", "instance_id", id, "error", err.Error())
		return nil
	}
	f := &firstSync{Plans: plans[:min(len(plans), latestPlans)], Actions: apmc.PairActions}
	j, err := c.cfg.Backfill.Status(ctx, id)
	switch {
	case err == nil:
		f.Job = &j
	case !errors.Is(err, apmc.ErrNotFound):
		c.cfg.Logger.Error("read the first-sync job", "instance_id", id, "error", err.Error())
	}
	if f.Job == nil && len(f.Plans) == 0 {
		return nil
	}
	return f
}
