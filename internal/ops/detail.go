package ops

import (
	"context"
	"fmt"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Detail is one execution with its links: the original it retried or
// replayed, and the retries and replays of it. The API answers it, the
// console shows it and the CLI prints it.
type Detail struct {
	apmc.Execution
	// Related lists the retries and replays of the execution, oldest first.
	Related []Link `json:"related"`
	// RelatedTruncated says the search for Related stopped at
	// Bounds.MaxWalk executions, so later links may be missing.
	RelatedTruncated bool `json:"related_truncated,omitempty"`
	// AllLogs is the number of log lines before filtering: with errors
	// only, Logs holds fewer.
	AllLogs int `json:"-"`
}

// Link points at another execution.
type Link struct {
	ID        string      `json:"id"`
	Origin    apmc.Origin `json:"origin"`
	Status    apmc.Status `json:"status"`
	StartedAt time.Time   `json:"started_at"`
}

// Detail returns one execution in detail; with errorsOnly, its logs hold
// only the error lines.
func (s *Service) Detail(ctx context.Context, instanceID, executionID string, errorsOnly bool) (Detail, error) {
	e, err := s.Executions.Execution(ctx, instanceID, executionID)
	if err != nil {
		return Detail{}, fmt.Errorf("read execution %s: %w", executionID, err)
	}
	related, truncated, err := s.Related(ctx, e)
	if err != nil {
		return Detail{}, fmt.Errorf("read the executions related to %s: %w", executionID, err)
	}
	d := Detail{Execution: e, Related: []Link{}, RelatedTruncated: truncated, AllLogs: len(e.Logs)}
	for _, x := range related {
		d.Related = append(d.Related, Link{ID: x.ID, Origin: x.Origin, Status: x.Status, StartedAt: x.StartedAt})
	}
	if errorsOnly {
		d.Logs = []apmc.LogLine{}
		for _, l := range e.Logs {
			if l.Level == "error" {
				d.Logs = append(d.Logs, l)
			}
		}
	}
	return d, nil
}

// ListExecutions returns one page of the instance's executions matching q,
// newest first, and the cursor to the next page ("" on the last).
func (s *Service) ListExecutions(ctx context.Context, instanceID string, q apmc.ExecutionQuery) ([]apmc.Execution, string, error) {
	if err := q.Validate(); err != nil {
		return nil, "", err
	}
	if _, err := s.Instances.Display(ctx, instanceID); err != nil {
		return nil, "", fmt.Errorf("read instance %s: %w", instanceID, err)
	}
	// The store's errors name what they listed; a bad cursor's is shown
	// to the operator as it is.
	return s.Executions.Executions(ctx, instanceID, q)
}
