package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ingest"
)

// lane records the changes put on it.
type lane struct {
	mu  sync.Mutex
	ids []string
	err error
}

func (l *lane) Enqueue(_ context.Context, c apmc.Change) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.ids = append(l.ids, c.ID)
	return nil
}

func (l *lane) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ids)
}

// TestLanes sends deliveries of two instances through Lanes and checks which
// queue each instance's changes reached.
func TestLanes(t *testing.T) {
	type send struct {
		instance string
		n        int
		every    time.Duration
		after    time.Duration // pause before the first of them
		event    apmc.Event    // the changes' event; "" is an update
	}
	tests := []struct {
		name     string
		limit    int
		sends    []send
		wantMain map[string]int
		wantBulk map[string]int
	}{
		{
			name:     "a quiet instance stays on the main queue",
			sends:    []send{{instance: "a", n: 50, every: 100 * time.Millisecond}},
			wantMain: map[string]int{"a": 50},
		},
		{
			name:     "a burst goes to the bulk queue once over the limit",
			sends:    []send{{instance: "a", n: 150, every: time.Millisecond}},
			wantMain: map[string]int{"a": 100}, wantBulk: map[string]int{"a": 50},
		},
		{
			name: "another instance is not counted with the burst",
			sends: []send{
				{instance: "a", n: 150, every: time.Millisecond},
				{instance: "b", n: 20, every: 100 * time.Millisecond},
			},
			wantMain: map[string]int{"a": 100, "b": 20}, wantBulk: map[string]int{"a": 50},
		},
		{
			name: "a burst that ended goes back to the main queue",
			sends: []send{
				{instance: "a", n: 150, every: time.Millisecond},
				{instance: "a", n: 10, every: time.Second, after: 15 * time.Second},
			},
			wantMain: map[string]int{"a": 110}, wantBulk: map[string]int{"a": 50},
		},
		{
			name: "Mailchimp email changes stay on the main queue during a burst",
			sends: []send{
				{instance: "a", n: 150, every: time.Millisecond},
				{instance: "a", n: 5, every: time.Millisecond, event: apmc.EventUpEmail},
			},
			wantMain: map[string]int{"a": 105}, wantBulk: map[string]int{"a": 50},
		},
		{
			name:     "a lower limit",
			limit:    10,
			sends:    []send{{instance: "a", n: 30, every: 10 * time.Millisecond}},
			wantMain: map[string]int{"a": 10}, wantBulk: map[string]int{"a": 20},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
			main, bulk := &lane{}, &lane{}
			l := &ingest.Lanes{Main: main, Bulk: bulk, Limit: tt.limit, Now: func() time.Time { return now }}
			for _, s := range tt.sends {
				now = now.Add(s.after)
				for i := range s.n {
					if err := l.Enqueue(context.Background(), apmc.Change{ID: fmt.Sprintf("%s-%d", s.instance, i), InstanceID: s.instance, Event: s.event}); err != nil {
						t.Fatalf("Enqueue() error = %v", err)
					}
					now = now.Add(s.every)
				}
			}
			for _, q := range []struct {
				name string
				got  *lane
				want map[string]int
			}{{"main", main, tt.wantMain}, {"bulk", bulk, tt.wantBulk}} {
				got := map[string]int{}
				for _, id := range q.got.ids {
					got[id[:1]]++
				}
				for _, inst := range []string{"a", "b"} {
					if got[inst] != q.want[inst] {
						t.Errorf("changes of instance %s on the %s queue = %d, want %d", inst, q.name, got[inst], q.want[inst])
					}
				}
			}
		})
	}
}

// TestLanesReportTheQueuesError: a change the chosen queue refuses is not
// accepted, so the sender retries.
func TestLanesReportTheQueuesError(t *testing.T) {
	refused := errors.New("queue unavailable")
	main, bulk := &lane{}, &lane{err: refused}
	l := &ingest.Lanes{Main: main, Bulk: bulk, Limit: 1}
	ctx := context.Background()
	if err := l.Enqueue(ctx, apmc.Change{ID: "1", InstanceID: "a"}); err != nil {
		t.Fatalf("first Enqueue() error = %v, want nil (main queue)", err)
	}
	if err := l.Enqueue(ctx, apmc.Change{ID: "2", InstanceID: "a"}); !errors.Is(err, refused) {
		t.Errorf("second Enqueue() error = %v, want the bulk queue's %v", err, refused)
	}
	if main.count() != 1 {
		t.Errorf("main queue holds %d changes, want 1", main.count())
	}
}

// windows is an in-memory burst window store, as apmc.BurstWindows.
type windows struct {
	mu      sync.Mutex
	w       map[string]apmc.BurstWindow
	reads   int
	extends int
	err     error
}

func (s *windows) BurstWindow(_ context.Context, id string) (apmc.BurstWindow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return s.w[id], s.err
}

func (s *windows) ExtendBurstWindow(_ context.Context, id string, now time.Time, keep time.Duration) (apmc.BurstWindow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extends++
	w := s.w[id]
	if !w.Open(now) || w.Until.Sub(now) <= keep {
		w.Since = now
	}
	w.Until = now.Add(apmc.BurstWindowLength)
	if s.w == nil {
		s.w = map[string]apmc.BurstWindow{}
	}
	s.w[id] = w
	return w, nil
}

// A burst one function sees opens the instance's window, and every other
// function, once it has read it, sends that instance's deliveries to the
// bulk queue too, however few it serves; when the window closes they go
// back to the main queue. The window is read at most once per cache time
// and written only when it needs extending.
func TestLanesShareTheBurstWindow(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := &windows{}
	cache := 10 * time.Second
	busyMain, busyBulk, quietMain, quietBulk := &lane{}, &lane{}, &lane{}, &lane{}
	busy := &ingest.Lanes{Main: busyMain, Bulk: busyBulk, Now: clock, Windows: store, WindowCache: cache}
	quiet := &ingest.Lanes{Main: quietMain, Bulk: quietBulk, Now: clock, Windows: store, WindowCache: cache}
	send := func(l *ingest.Lanes, id string) {
		t.Helper()
		if err := l.Enqueue(context.Background(), apmc.Change{ID: id, InstanceID: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	send(quiet, "before") // reads: no window
	for i := range 150 {
		send(busy, fmt.Sprintf("burst-%d", i))
		now = now.Add(10 * time.Millisecond)
	}
	if busyBulk.count() != 50 || store.extends != 1 {
		t.Fatalf("the busy function sent %d to the bulk queue with %d window writes, want 50 and 1", busyBulk.count(), store.extends)
	}
	send(quiet, "cached") // its read is not 10 s old yet: the main queue
	now = now.Add(cache)
	send(quiet, "after-read")
	if quietMain.count() != 2 || quietBulk.count() != 1 {
		t.Errorf("the quiet function sent %d to the main and %d to the bulk queue, want 2 (before it read the window) and 1", quietMain.count(), quietBulk.count())
	}
	reads := store.reads
	for range 100 {
		send(busy, "more")
		now = now.Add(10 * time.Millisecond)
	}
	if store.extends != 1 || store.reads > reads+1 {
		t.Errorf("window writes %d, reads %d more, during a burst of a second within an open window: want no write, at most one read", store.extends, store.reads-reads)
	}
	now = now.Add(apmc.BurstWindowLength)
	send(quiet, "closed")
	if quietMain.count() != 3 {
		t.Errorf("after the window closed the quiet function sent %d to the main queue, want 3", quietMain.count())
	}
	store.err = errors.New("throttled")
	now = now.Add(cache)
	send(quiet, "unreadable")
	if quietBulk.count() != 2 {
		t.Errorf("with the window unreadable the quiet function sent %d to the bulk queue, want 2: unknown is taken as open", quietBulk.count())
	}
}
