package dynamo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/reconcile"
)

func TestReconcileRuns(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewContactStore(b.client, tables.Contacts)
		if _, err := store.LastRun(ctx, "inst-1"); !errors.Is(err, apmc.ErrNotFound) {
			t.Fatalf("LastRun() before any run error = %v, want ErrNotFound", err)
		}
		if _, err := store.LastSuccess(ctx, "inst-1"); !errors.Is(err, apmc.ErrNotFound) {
			t.Fatalf("LastSuccess() before any run error = %v, want ErrNotFound", err)
		}
		base := time.Now().UTC().Truncate(time.Millisecond)
		run := func(offset time.Duration, failed bool) reconcile.Run {
			r := reconcile.Run{ID: reconcile.ScheduledRunID("inst-1", base.Add(offset)), InstanceID: "inst-1", StartedAt: base.Add(offset),
				EndedAt: base.Add(offset + time.Second), Checked: 3, Enqueued: 1}
			if failed {
				r.Error = "read Mailchimp members: boom"
			}
			return r
		}
		ok1, ok2, failed := run(0, false), run(time.Hour, false), run(2*time.Hour, true)
		for _, r := range []reconcile.Run{ok2, ok1, failed} { // ok1 saved late, as a retry would
			if err := store.SaveRun(ctx, r); err != nil {
				t.Fatalf("SaveRun(%s) error = %v", r.ID, err)
			}
		}
		last, err := store.LastRun(ctx, "inst-1")
		if err != nil || last.ID != failed.ID || last.Error == "" {
			t.Errorf("LastRun() = %+v, %v; want the failed run %s", last, err, failed.ID)
		}
		success, err := store.LastSuccess(ctx, "inst-1")
		if err != nil || success.ID != ok2.ID || !success.StartedAt.Equal(ok2.StartedAt) {
			t.Errorf("LastSuccess() = %+v, %v; want %s (a later failure and an older retry change nothing)", success, err, ok2.ID)
		}
		// Run items are not contacts.
		n := 0
		if err := store.EachContact(ctx, "inst-1", func(apmc.Contact) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("EachContact() = %d contacts, %v; want 0", n, err)
		}
	})
}
