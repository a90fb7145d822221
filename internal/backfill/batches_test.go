package backfill_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/backfill"
)

// Batch calls go out several at once, never more than BatchConcurrency
// nor the connections the service may use, and every contact of every
// batch is written and counted once.
func TestApplySendsBatchesConcurrently(t *testing.T) {
	for _, tt := range []struct {
		name          string
		connections   int
		minPeak, peak int
	}{
		{"alone", 0, 2, backfill.BatchConcurrency},
		{"one connection", 1, 1, 1},
		{"more connections than batches at once", 20, 2, backfill.BatchConcurrency},
	} {
		t.Run(tt.name, func(t *testing.T) {
			testApplyBatches(t, tt.connections, tt.minPeak, tt.peak)
		})
	}
}

func testApplyBatches(t *testing.T, connections, minPeak, peak int) {
	w := newWorld(t)
	w.svc.MailchimpConnections = connections
	ctx := context.Background()
	const users = 4*backfill.MaxBatch + 7 // five batches
	var rows []map[string]any
	for i := range users {
		rows = append(rows, map[string]any{"Forenames": "Many", "Surname": "Users", "Email": fmt.Sprintf("many%04d@example.com", i)})
	}
	if _, err := w.ap.ImportUsers(rows); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	w.mc.SetBatchLatency(300*time.Millisecond, 0)
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	var last int
	res, err := w.svc.Apply(ctx, w.instance.ID, plan.ID, func(stage string, done int) {
		if stage == "apply" {
			if done <= last {
				t.Errorf("progress went from %d to %d, want it to grow", last, done)
			}
			last = done
		}
	})
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if res.Written != users || res.Failed != 0 || res.MailchimpRequests != 5 || last != users {
		t.Errorf("Apply() = %+v, progress %d; want %d written in 5 batch calls", res, last, users)
	}
	if got := len(w.mc.Members(w.instance.MailchimpListID)); got != users {
		t.Errorf("audience holds %d members, want %d", got, users)
	}
	st := w.mc.Stats()
	if st.PeakInFlight < minPeak || st.PeakInFlight > peak {
		t.Errorf("peak batch calls in flight = %d, want between %d and %d", st.PeakInFlight, minPeak, peak)
	}
	if st.TooManyRequests != 0 {
		t.Errorf("429s = %d, want 0", st.TooManyRequests)
	}
}
