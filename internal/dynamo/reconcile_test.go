package dynamo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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

// TestReconcileRunsKeepToTheirPartition holds SaveRun to what the reconcile
// function's role allows: PutItem only in the partitions named
// RunsPartitionPrefix + instance id, never one of an instance's contacts.
// The last successful run stored in the instance's own partition, as
// before, is still where the next run starts from.
func TestReconcileRunsKeepToTheirPartition(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		owner := NewContactStore(b.client, tables.Contacts)
		base := time.Now().UTC().Truncate(time.Millisecond)
		legacy := reconcile.Run{ID: reconcile.ScheduledRunID("inst-1", base), InstanceID: "inst-1", StartedAt: base, EndedAt: base.Add(time.Second)}
		if err := owner.putItem(ctx, runItem{InstanceID: "inst-1", Key: "reconcile-last", Run: legacy, StartedNano: base.UnixNano()}); err != nil {
			t.Fatalf("store a run as before: %v", err)
		}
		if got, err := owner.LastSuccess(ctx, "inst-1"); err != nil || got.ID != legacy.ID {
			t.Errorf("LastSuccess() with a run stored as before = %+v, %v; want %s", got, err, legacy.ID)
		}

		var rec recorder
		store := NewContactStore(rec.client(b.client), tables.Contacts)
		next := reconcile.Run{ID: reconcile.ScheduledRunID("inst-1", base.Add(time.Hour)), InstanceID: "inst-1", StartedAt: base.Add(time.Hour), EndedAt: base.Add(time.Hour + time.Second)}
		if err := store.SaveRun(ctx, next); err != nil {
			t.Fatalf("SaveRun() error = %v", err)
		}
		puts := 0
		for _, s := range rec.sent {
			in, ok := s.input.(*dynamodb.PutItemInput)
			if !ok {
				continue
			}
			puts++
			pk, _ := in.Item[AttrInstanceID].(*types.AttributeValueMemberS)
			if pk == nil || pk.Value != RunsPartitionPrefix+"inst-1" {
				t.Errorf("SaveRun() PutItem in partition %v, want %s", in.Item[AttrInstanceID], RunsPartitionPrefix+"inst-1")
			}
		}
		if puts != 2 {
			t.Errorf("SaveRun() sent %d PutItem, want 2 (the run and the last successful one)", puts)
		}
		if got, err := owner.LastRun(ctx, "inst-1"); err != nil || got.ID != next.ID || got.InstanceID != "inst-1" {
			t.Errorf("LastRun() = %+v, %v; want %s of inst-1", got, err, next.ID)
		}
		if got, err := owner.LastSuccess(ctx, "inst-1"); err != nil || got.ID != next.ID {
			t.Errorf("LastSuccess() = %+v, %v; want %s", got, err, next.ID)
		}
	})
}
