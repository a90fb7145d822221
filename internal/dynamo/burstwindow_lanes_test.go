package dynamo

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ingest"
)

type recordingLane struct {
	mu  sync.Mutex
	ids []string
}

func (l *recordingLane) Enqueue(_ context.Context, c apmc.Change) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids = append(l.ids, c.ID)
	return nil
}

// A window extended shortly before its end, while an ingest function still
// holds the old end it read, is not taken as settled by the sync until every
// function has read the new one: whenever the sync writes unannounced, the
// echo reaches the bulk queue. (Real store, real Lanes and the sync's cache.)
func TestLateExtendedBurstWindowSettlesAgain(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewContactStore(b.client, tables.Contacts)
		t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		now := t0
		clock := func() time.Time { return now }
		// First burst opens the window [t0, t0+5m) (an accessplanit container).
		first := &ingest.Lanes{Main: &recordingLane{}, Bulk: &recordingLane{}, Now: clock, Windows: store}
		for i := range 101 {
			_ = first.Enqueue(ctx, apmc.Change{ID: fmt.Sprint("a", i), InstanceID: "inst"})
		}
		end := t0.Add(apmc.BurstWindowLength)
		// The Mailchimp ingest container reads the window 20 s before its end.
		mcMain, mcBulk := &recordingLane{}, &recordingLane{}
		mc := &ingest.Lanes{Main: mcMain, Bulk: mcBulk, Now: clock, Windows: store}
		now = end.Add(-20 * time.Second)
		_ = mc.Enqueue(ctx, apmc.Change{ID: "unrelated", InstanceID: "inst", Email: "x@example.com"})
		// A second wave of the import, 15 s before the end, at a fresh
		// accessplanit container: it extends the open window, Since kept.
		now = end.Add(-15 * time.Second)
		second := &ingest.Lanes{Main: &recordingLane{}, Bulk: &recordingLane{}, Now: clock, Windows: store}
		for i := range 101 {
			_ = second.Enqueue(ctx, apmc.Change{ID: fmt.Sprint("b", i), InstanceID: "inst"})
		}
		// The sync, 12 s before the old end, writes Mailchimp from the bulk
		// queue: is the window settled (so the write is not announced)?
		now = end.Add(-12 * time.Second)
		sync := &apmc.CachedBurstWindows{Next: store, Now: clock}
		w, err := sync.BurstWindow(ctx, "inst")
		if err != nil {
			t.Fatal(err)
		}
		settled := w.Settled(now, apmc.DefaultBurstWindowSettle)
		t.Logf("window seen by the sync: %v – %v, settled=%v", w.Since, w.Until, settled)
		// The write's echo reaches the Mailchimp ingest 13 s later (1 s after the old end).
		now = end.Add(time.Second)
		_ = mc.Enqueue(ctx, apmc.Change{ID: "echo", InstanceID: "inst", Source: apmc.SideMailchimp, Event: apmc.EventProfile, Email: "alice@example.com"})
		echoOnMain := len(mcMain.ids) > 0 && mcMain.ids[len(mcMain.ids)-1] == "echo"
		if settled && echoOnMain {
			t.Errorf("the sync took the window as settled (no announcement) but the Mailchimp ingest sent the echo to the changes queue: it can be applied before the change that made the write saved its state")
		}
	})
}
