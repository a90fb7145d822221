package ops

import (
	"context"
	"fmt"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// DefaultMaxWalk is the most executions a timeline or a related lookup
// reads: past it, the answer says it was cut short.
const DefaultMaxWalk = 10_000

// Bounds bound the operations that walk an instance's executions; each zero
// field takes its default.
type Bounds struct {
	// PageSize is how many executions one store request returns; default
	// apmc.MaxPageSize. A walk holds at most one page it has not handed on.
	PageSize int
	// MaxWalk is the most executions a timeline or a related lookup reads;
	// default DefaultMaxWalk.
	MaxWalk int
	// MaxBulkReplay is the most executions one bulk replay queues; default
	// MaxBulkReplay.
	MaxBulkReplay int
	// MaxCount is where the summaries' and health's counts stop (shown as
	// "N+"); default DefaultMaxCount.
	MaxCount int
	// Parallel is how many instances Summaries and Healths read at once;
	// default DefaultParallel.
	Parallel int
}

// DefaultMaxCount is where counts of executions stop by default: enough to
// tell an incident, and about one DynamoDB request per count.
const DefaultMaxCount = 1000

// DefaultParallel is how many instances are read at once by default: a few,
// to stay within the table's capacity and the function's connections.
const DefaultParallel = 8

func (b Bounds) maxCount() int {
	if b.MaxCount <= 0 {
		return DefaultMaxCount
	}
	return b.MaxCount
}

func (b Bounds) parallel() int {
	if b.Parallel <= 0 {
		return DefaultParallel
	}
	return b.Parallel
}

func (b Bounds) pageSize() int {
	if b.PageSize <= 0 {
		return apmc.MaxPageSize
	}
	return min(b.PageSize, apmc.MaxPageSize)
}

func (b Bounds) maxWalk() int {
	if b.MaxWalk <= 0 {
		return DefaultMaxWalk
	}
	return b.MaxWalk
}

func (b Bounds) maxBulkReplay() int {
	if b.MaxBulkReplay <= 0 {
		return MaxBulkReplay
	}
	return b.MaxBulkReplay
}

// walk hands fn the instance's executions matching q, in q's order, one
// store page at a time. It stops after max executions (0: never) and reports
// whether more matched, which may cost one page more; fn's error stops it
// too.
func (s *Service) walk(ctx context.Context, id string, q apmc.ExecutionQuery, max int, fn func(apmc.Execution) error) (truncated bool, err error) {
	q.Limit = s.Bounds.pageSize()
	q.Cursor = ""
	seen := 0
	for {
		page, next, err := s.Executions.Executions(ctx, id, q)
		if err != nil {
			return false, fmt.Errorf("read executions: %w", err)
		}
		for _, e := range page {
			if max > 0 && seen == max {
				return true, nil
			}
			seen++
			if err := fn(e); err != nil {
				return false, err
			}
		}
		if next == "" {
			return false, nil
		}
		q.Cursor = next
	}
}
