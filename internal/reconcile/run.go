package reconcile

import (
	"context"
	"time"
)

// Run is one reconciliation of one instance.
type Run struct {
	ID         string    `json:"id"`
	InstanceID string    `json:"instance_id"`
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	// Since is when the changes read start: the last successful run's
	// start less the overlap. Zero for a full run, which reads everything.
	Since time.Time `json:"since,omitzero"`
	// Baseline is when the instance was created (or, for an instance
	// stored without its creation time, when its first successful run
	// started), carried from run to run: a contact the service has never
	// synced that last changed before it existed before the integration,
	// and is never enqueued (however far the overlap reaches back). Zero on
	// runs recorded before it was kept.
	Baseline time.Time `json:"baseline,omitzero"`
	Full     bool      `json:"full"`
	// Checked counts the Users and members compared with the contact
	// states; Enqueued the differences put on the queue.
	Checked  int `json:"checked"`
	Enqueued int `json:"enqueued"`
	// SkippedUnknown counts the Users and members the service has never
	// synced (no contact state) that a full run left alone because they
	// did not change since the last successful run: they predate the
	// integration, or a run that already saw them, and are first synced
	// with a plan (apmc backfill plan), never by a reconciliation.
	SkippedUnknown int    `json:"skipped_unknown"`
	Error          string `json:"error,omitempty"`
}

// Succeeded reports whether the run ended without an error.
func (r Run) Succeeded() bool { return !r.EndedAt.IsZero() && r.Error == "" }

// RunTTL is how long a run's record is kept.
const RunTTL = 30 * 24 * time.Hour

// Runs records reconciliations.
type Runs interface {
	// SaveRun stores the run, replacing an earlier record of it; a
	// successful run also becomes the instance's last successful one.
	SaveRun(ctx context.Context, r Run) error
	// LastRun returns the instance's newest run; none wraps
	// apmc.ErrNotFound.
	LastRun(ctx context.Context, instanceID string) (Run, error)
	// LastSuccess returns the instance's newest successful run; none wraps
	// apmc.ErrNotFound.
	LastSuccess(ctx context.Context, instanceID string) (Run, error)
}
