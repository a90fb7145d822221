package dynamo

import (
	"context"
	"errors"
	"testing"

	"github.com/apmc-sync/apmc/internal/backfill"
)

// A cancel requested between a run reading its job and saving it is kept:
// SaveJob never clears cancel_requested. Only the run holding the job saves
// it, and a new run is refused while another holds the lease.
func TestJobRunsAndCancels(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewContactStore(b.client, tables.Contacts)
		j := backfill.Job{InstanceID: "inst-1", PlanID: "p1", RunID: "run-a", Total: 10}
		if err := store.StartJob(ctx, j); err != nil {
			t.Fatalf("StartJob() error = %v", err)
		}
		stale, err := store.Job(ctx, "inst-1")
		if err != nil {
			t.Fatalf("Job() error = %v", err)
		}
		if err := store.CancelJob(ctx, "inst-1"); err != nil {
			t.Fatalf("CancelJob() error = %v", err)
		}
		stale.Done, stale.Error = 4, "kept"
		if err := store.SaveJob(ctx, stale); err != nil {
			t.Fatalf("SaveJob(stale) error = %v", err)
		}
		got, err := store.Job(ctx, "inst-1")
		if err != nil || !got.CancelRequested || got.Done != 4 || got.Error != "kept" {
			t.Errorf("Job() after a stale save = %+v, %v; want cancel requested, done 4, error kept", got, err)
		}
		stale.Error = ""
		if err := store.ContinueJob(ctx, stale); err != nil {
			t.Fatalf("ContinueJob() error = %v", err)
		}
		if got, _ := store.Job(ctx, "inst-1"); !got.CancelRequested || got.Error != "" {
			t.Errorf("Job() after ContinueJob = %+v, want cancel requested, error cleared", got)
		}

		other := backfill.Job{InstanceID: "inst-1", PlanID: "p1", RunID: "run-b"}
		for name, call := range map[string]func() error{
			"StartJob(same plan, another run)": func() error { return store.StartJob(ctx, other) },
			"SaveJob(another run)":             func() error { return store.SaveJob(ctx, other) },
			"ContinueJob(another run)":         func() error { return store.ContinueJob(ctx, other) },
		} {
			if err := call(); !errors.Is(err, backfill.ErrJobRunning) {
				t.Errorf("%s error = %v, want ErrJobRunning", name, err)
			}
		}
		stale.Status = backfill.JobCancelled
		if err := store.SaveJob(ctx, stale); err != nil {
			t.Fatalf("SaveJob(cancelled) error = %v", err)
		}
		if err := store.StartJob(ctx, other); err != nil {
			t.Fatalf("StartJob() after the job ended error = %v", err)
		}
		if got, _ := store.Job(ctx, "inst-1"); got.CancelRequested || got.RunID != "run-b" {
			t.Errorf("Job() of a new run = %+v, want run-b without a cancel request", got)
		}
	})
}
