package dynamo

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// TestSaveHealthOnceAmongRivals: writers that read the same health and
// decide the same change write it once; the others are told the stored
// health, so they need not read it again. Each request names only
// HealthAttributes (what the sync function's role may update), and the
// configuration, secrets and a later Update keep the health.
func TestSaveHealthOnceAmongRivals(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		operator := NewInstanceStore(b.client, tables.Instances, sealer)
		in := testInstance("inst-h")
		in.Secrets.NotificationURL = "https://hooks.example.com/services/T/B/secret"
		if err := operator.Create(ctx, in); err != nil {
			t.Fatalf("Create error: %v", err)
		}
		var rec recorder
		store := NewInstanceStore(rec.client(b.client), tables.Instances, nil) // no KMS, as the health writes need none
		at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		next, events, write := apmc.NextHealth(apmc.Health{}, apmc.StateEnabled, apmc.OutcomeFailed, at, apmc.DefaultHealthPolicy)
		if !write || len(events) != 1 {
			t.Fatalf("NextHealth = %v, %t; want one event to write", events, write)
		}
		const rivals = 8
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			won       int
			conflicts []apmc.Health
		)
		for range rivals {
			wg.Go(func() {
				stored, err := store.SaveHealth(ctx, "inst-h", 0, next)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, apmc.ErrConflict):
					conflicts = append(conflicts, stored)
				default:
					t.Errorf("SaveHealth error: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 || len(conflicts) != rivals-1 {
			t.Fatalf("SaveHealth by %d rivals: %d won, %d conflicts; want 1 and %d", rivals, won, len(conflicts), rivals-1)
		}
		for _, c := range conflicts {
			if diff := cmp.Diff(next, c); diff != "" {
				t.Errorf("SaveHealth conflict returned stored health (-want +got):\n%s", diff)
			}
		}
		n := apmc.Notification{At: at, Events: events, Outcome: "delivered"}
		if err := store.RecordNotification(ctx, "inst-h", n); err != nil {
			t.Fatalf("RecordNotification error: %v", err)
		}
		for range 2 {
			if err := store.CountDeadLetter(ctx, "inst-h", at); err != nil {
				t.Fatalf("CountDeadLetter error: %v", err)
			}
		}
		next.DeadLettered, next.LastDeadLetterAt = 2, at
		allowed := HealthAttributes()
		for _, s := range rec.sent {
			in, ok := s.input.(*dynamodb.UpdateItemInput)
			if !ok {
				// A server that does not return the stored item with a
				// failed condition is asked for it.
				if _, read := s.input.(*dynamodb.GetItemInput); !read {
					t.Errorf("health writes sent %s, want only UpdateItem and GetItem", s.op)
				}
				continue
			}
			// The sync role may only update asking for nothing back.
			if in.ReturnValues != types.ReturnValueNone || in.ReturnValuesOnConditionCheckFailure != "" {
				t.Errorf("UpdateItem asks ReturnValues %q, ReturnValuesOnConditionCheckFailure %q; want NONE and nothing", in.ReturnValues, in.ReturnValuesOnConditionCheckFailure)
			}
			if got := attributes(in); len(slices.DeleteFunc(slices.Clone(got), func(a string) bool { return slices.Contains(allowed, a) })) > 0 {
				t.Errorf("UpdateItem names attributes %v, want only %v", got, allowed)
			}
		}

		// A configuration change keeps the health and the notification.
		shown, err := operator.Display(ctx, "inst-h")
		if err != nil {
			t.Fatalf("Display error: %v", err)
		}
		shown.Name = "Renamed"
		if err := operator.Update(ctx, shown); err != nil {
			t.Fatalf("Update error: %v", err)
		}
		got, err := operator.Instance(ctx, "inst-h")
		if err != nil {
			t.Fatalf("Instance error: %v", err)
		}
		want := next
		want.LastNotification = &n
		if diff := cmp.Diff(want, got.Health); diff != "" {
			t.Errorf("health after Update (-want +got):\n%s", diff)
		}
		if !got.NotificationURLSet || got.Secrets.NotificationURL != in.Secrets.NotificationURL {
			t.Errorf("after Update: notification URL set %t, kept %t; want both", got.NotificationURLSet, got.Secrets.NotificationURL == in.Secrets.NotificationURL)
		}

		// Clearing the URL says so.
		got.Secrets.NotificationURL = ""
		if err := operator.Update(ctx, got); err != nil {
			t.Fatalf("Update error: %v", err)
		}
		cleared, err := operator.Instance(ctx, "inst-h")
		if err != nil {
			t.Fatalf("Instance error: %v", err)
		}
		if cleared.NotificationURLSet || cleared.Secrets.NotificationURL != "" {
			t.Errorf("after clearing: notification URL set %t, %q; want none", cleared.NotificationURLSet, cleared.Secrets.NotificationURL)
		}
	})
}

// TestUpdateKeepsAHealthChangeMadeMeanwhile: health writes stored between
// an Update's read and its write (a new health version, a dead letter, a
// notification) are neither lost nor a reason to refuse the operator: the
// Update reads the item again and writes once more, carrying them.
func TestUpdateKeepsAHealthChangeMadeMeanwhile(t *testing.T) {
	sealer := newKMSSealer(t)
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		write func(ctx context.Context, s *InstanceStore) error
		check func(h apmc.Health) bool
	}{
		{"health", func(ctx context.Context, s *InstanceStore) error {
			_, err := s.SaveHealth(ctx, "inst-u", 0, apmc.Health{Version: 1, Failing: true})
			return err
		}, func(h apmc.Health) bool { return h.Failing && h.Version == 1 }},
		{"dead letter", func(ctx context.Context, s *InstanceStore) error {
			return s.CountDeadLetter(ctx, "inst-u", at)
		}, func(h apmc.Health) bool { return h.DeadLettered == 1 }},
		{"notification", func(ctx context.Context, s *InstanceStore) error {
			return s.RecordNotification(ctx, "inst-u", apmc.Notification{At: at, Events: []apmc.HealthEvent{apmc.EventFailing}, Outcome: "delivered"})
		}, func(h apmc.Health) bool { return h.LastNotification != nil && h.LastNotification.At.Equal(at) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, b backend) {
				ctx := context.Background()
				tables := newTables(t, b.client)
				plainStore := NewInstanceStore(b.client, tables.Instances, sealer)
				if err := plainStore.Create(ctx, testInstance("inst-u")); err != nil {
					t.Fatalf("Create error: %v", err)
				}
				if err := plainStore.RecordNotification(ctx, "inst-u", apmc.Notification{At: at.Add(-time.Hour), Outcome: "delivered"}); err != nil {
					t.Fatalf("RecordNotification error: %v", err)
				}
				var rec recorder
				raced := false
				rec.before = func(op string) {
					if op != "PutItem" || raced {
						return
					}
					raced = true
					if err := tt.write(ctx, plainStore); err != nil {
						t.Errorf("%s write error: %v", tt.name, err)
					}
				}
				store := NewInstanceStore(rec.client(b.client), tables.Instances, sealer)
				in, err := store.Display(ctx, "inst-u")
				if err != nil {
					t.Fatalf("Display error: %v", err)
				}
				in.Name = "Renamed"
				if err := store.Update(ctx, in); err != nil {
					t.Fatalf("Update racing a %s write error = %v, want it written", tt.name, err)
				}
				got, err := plainStore.Display(ctx, "inst-u")
				if err != nil {
					t.Fatalf("Display error: %v", err)
				}
				if got.Name != "Renamed" || got.ConfigVersion != in.ConfigVersion+1 || !tt.check(got.Health) {
					t.Errorf("after the Update: name %q, config version %d, health %+v; want renamed, version %d and the %s write kept",
						got.Name, got.ConfigVersion, got.Health, in.ConfigVersion+1, tt.name)
				}
			})
		})
	}
}

// TestUpdateRefusesAConfigurationChangedMeanwhile: a configuration change
// stored between an Update's read and its write is a conflict that says
// so.
func TestUpdateRefusesAConfigurationChangedMeanwhile(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		plainStore := NewInstanceStore(b.client, tables.Instances, sealer)
		if err := plainStore.Create(ctx, testInstance("inst-u")); err != nil {
			t.Fatalf("Create error: %v", err)
		}
		var rec recorder
		raced := false
		rec.before = func(op string) {
			if op != "PutItem" || raced {
				return
			}
			raced = true
			if _, err := plainStore.SetState(ctx, "inst-u", apmc.StatePaused); err != nil {
				t.Errorf("SetState error: %v", err)
			}
		}
		store := NewInstanceStore(rec.client(b.client), tables.Instances, sealer)
		in, err := store.Display(ctx, "inst-u")
		if err != nil {
			t.Fatalf("Display error: %v", err)
		}
		in.Name = "Renamed"
		err = store.Update(ctx, in)
		if !errors.Is(err, apmc.ErrConflict) || !strings.Contains(err.Error(), "changed by someone else") {
			t.Fatalf("Update racing a pause error = %v, want a conflict saying the configuration changed", err)
		}
		got, err := plainStore.Display(ctx, "inst-u")
		if err != nil {
			t.Fatalf("Display error: %v", err)
		}
		if got.Name == "Renamed" || got.State != apmc.StatePaused {
			t.Errorf("after the refused Update: name %q, state %s; want the pause kept and the name not", got.Name, got.State)
		}
	})
}

// TestRecordSuccessOnlyMovesForward: functions record successes in any
// order; the stored last success is the latest, to the second, named in
// requests the sync function's role may send, and an Update racing a
// record keeps it.
func TestRecordSuccessOnlyMovesForward(t *testing.T) {
	sealer := newKMSSealer(t)
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		operator := NewInstanceStore(b.client, tables.Instances, sealer)
		if err := operator.Create(ctx, testInstance("inst-s")); err != nil {
			t.Fatalf("Create error: %v", err)
		}
		if got, err := operator.LastSuccess(ctx, "inst-s"); err != nil || !got.IsZero() {
			t.Fatalf("LastSuccess(new instance) = %v, %v; want none", got, err)
		}
		var rec recorder
		store := NewInstanceStore(rec.client(b.client), tables.Instances, nil)
		for _, step := range []struct {
			name     string
			at, want time.Time
		}{
			{"first", t0.Add(2*time.Minute + 500*time.Millisecond), t0.Add(2 * time.Minute)},
			{"an earlier one, recorded late", t0.Add(time.Minute), t0.Add(2 * time.Minute)},
			{"a later one", t0.Add(5 * time.Minute), t0.Add(5 * time.Minute)},
		} {
			if err := store.RecordSuccess(ctx, "inst-s", step.at); err != nil {
				t.Fatalf("RecordSuccess(%s) error = %v", step.name, err)
			}
			if got, err := operator.LastSuccess(ctx, "inst-s"); err != nil || !got.Equal(step.want) {
				t.Errorf("after RecordSuccess(%s): LastSuccess = %v, %v; want %s", step.name, got, err, step.want)
			}
		}
		allowed := HealthAttributes()
		for _, s := range rec.sent {
			in, ok := s.input.(*dynamodb.UpdateItemInput)
			if !ok {
				t.Errorf("RecordSuccess sent %s, want only UpdateItem", s.op)
				continue
			}
			if in.ReturnValues != types.ReturnValueNone {
				t.Errorf("UpdateItem asks ReturnValues %q, want NONE", in.ReturnValues)
			}
			if got := attributes(in); len(slices.DeleteFunc(slices.Clone(got), func(a string) bool { return slices.Contains(allowed, a) })) > 0 {
				t.Errorf("UpdateItem names attributes %v, want only %v", got, allowed)
			}
		}

		// An Update whose read precedes a record keeps the record.
		var racing recorder
		raced := false
		latest := t0.Add(9 * time.Minute)
		racing.before = func(op string) {
			if op != "PutItem" || raced {
				return
			}
			raced = true
			if err := operator.RecordSuccess(ctx, "inst-s", latest); err != nil {
				t.Errorf("RecordSuccess error: %v", err)
			}
		}
		updater := NewInstanceStore(racing.client(b.client), tables.Instances, sealer)
		in, err := updater.Display(ctx, "inst-s")
		if err != nil {
			t.Fatalf("Display error: %v", err)
		}
		in.Name = "Renamed"
		if err := updater.Update(ctx, in); err != nil {
			t.Fatalf("Update racing a RecordSuccess error = %v", err)
		}
		if got, err := operator.LastSuccess(ctx, "inst-s"); err != nil || !got.Equal(latest) {
			t.Errorf("LastSuccess after the Update = %v, %v; want %s", got, err, latest)
		}
	})
}
