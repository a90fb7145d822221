package ops_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/health"
	"github.com/apmc-sync/apmc/internal/ops"
)

// TestHealth reads an instance's health from its executions and the health
// the sync function stored: counts of the last 24 hours, the newest
// success, failing and dead letters; and never the notification URL.
func TestHealth(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	svc := &ops.Service{Instances: s.instances, Executions: s.executions, Queue: s.producer}

	empty, err := svc.Health(ctx, "inst")
	if err != nil {
		t.Fatalf("Health(inst) error = %v", err)
	}
	if empty.Failing || empty.Failed != 0 || empty.LastSuccessAt != nil || empty.NotificationURLSet {
		t.Errorf("Health(new instance) = %+v, want healthy with nothing counted", empty)
	}

	lastOK := now.Add(-2 * time.Hour)
	s.record(t, "a@example.com", now.Add(-3*time.Hour), apmc.StatusSucceeded, "")
	s.record(t, "b@example.com", lastOK, apmc.StatusSucceeded, "")
	s.record(t, "c@example.com", now.Add(-time.Hour), apmc.StatusFailed, "")
	s.record(t, "d@example.com", now.Add(-50*time.Minute), apmc.StatusFailed, "")
	s.record(t, "e@example.com", now.Add(-30*time.Hour), apmc.StatusFailed, "") // older than 24 hours
	s.hold(t, "f@example.com", now.Add(-10*time.Minute), true)

	in, err := s.instances.Instance(ctx, "inst")
	if err != nil {
		t.Fatalf("Instance error = %v", err)
	}
	const url = "https://hooks.example.com/services/T/B/very-secret"
	in.Secrets.NotificationURL = url
	if err := s.instances.Update(ctx, in); err != nil {
		t.Fatalf("Update error = %v", err)
	}
	since := now.Add(-time.Hour)
	if _, err := s.instances.SaveHealth(ctx, "inst", 0, apmc.Health{Version: 1, Failing: true, FailingSince: since, LastFailureAt: since}); err != nil {
		t.Fatalf("SaveHealth error = %v", err)
	}
	for range 2 {
		if err := s.instances.CountDeadLetter(ctx, "inst", since); err != nil {
			t.Fatalf("CountDeadLetter error = %v", err)
		}
	}

	got, err := svc.Health(ctx, "inst")
	if err != nil {
		t.Fatalf("Health(inst) error = %v", err)
	}
	if !got.Failing || got.FailingSince == nil || !got.FailingSince.Equal(since) || got.Failed != 2 || got.Held != 1 || got.DeadLettered != 2 || got.Blocked != 0 || !got.NotificationURLSet || got.State != apmc.StatePaused {
		t.Errorf("Health(inst) = %+v, want paused, failing since %s, 2 failed, 1 held, 2 dead-lettered, URL set", got, since)
	}
	if got.LastSuccessAt == nil || !got.LastSuccessAt.Equal(lastOK) {
		t.Errorf("Health(inst) last success = %v, want %s", got.LastSuccessAt, lastOK)
	}
	all, err := svc.Healths(ctx)
	if err != nil || len(all) != 1 || all[0].InstanceID != "inst" {
		t.Fatalf("Healths() = %+v, %v; want the one instance", all, err)
	}
	b, _ := json.Marshal(all)
	if strings.Contains(string(b), "very-secret") {
		t.Errorf("Healths() JSON %s holds the notification URL", b)
	}
}

// The last successful sync is shown however many failures followed it:
// the sync function keeps its time with the instance's health, so health
// finds it where the newest executions it reads hold none.
func TestHealthLastSuccessBehindManyFailures(t *testing.T) {
	const limit = 3 // stands in for the 1,000 executions health reads at most
	now := time.Now().UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name      string
		successAt time.Time
		failures  int
	}{
		{name: "within the last 24 hours", successAt: now.Add(-2 * time.Hour), failures: limit + 2},
		{name: "days ago", successAt: now.Add(-72 * time.Hour), failures: 2 * limit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStack(t)
			tracker := &health.Tracker{Instances: s.instances, Store: s.instances, Metrics: io.Discard}
			observe := func(e apmc.Execution) { tracker.Observe(ctx, e, false) }
			observe(s.record(t, "ok@example.com", tc.successAt, apmc.StatusSucceeded, ""))
			for i := range tc.failures {
				at := now.Add(-time.Hour + time.Duration(i)*time.Minute)
				observe(s.record(t, fmt.Sprintf("fail%d@example.com", i), at, apmc.StatusFailed, ""))
			}
			svc := &ops.Service{Instances: s.instances, Executions: s.executions, Queue: s.producer, Bounds: ops.Bounds{MaxCount: limit}}
			got, err := svc.Health(ctx, "inst")
			if err != nil {
				t.Fatalf("Health(inst) error = %v", err)
			}
			if got.LastSuccessAt == nil || !got.LastSuccessAt.Equal(tc.successAt) {
				t.Errorf("Health(inst) last success = %v after %d failures, want %s", got.LastSuccessAt, tc.failures, tc.successAt)
			}
		})
	}
}
