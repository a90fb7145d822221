package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Bulk lane defaults: an instance whose deliveries number more than
// DefaultBulkLimit within DefaultBulkWindow is bursting (a bulk edit or an
// import, over 20 a second), and its changes go to the bulk queue until its
// rate falls back. A person editing Users, or an automation adding a few a
// second, stays on the changes queue.
const (
	DefaultBulkLimit  = 100
	DefaultBulkWindow = 5 * time.Second
)

// Lanes sends each change to one of two queues: Main, or Bulk while the
// change's instance is bursting. The other instances' changes then never wait
// behind a burst in the FIFO queue, and the sync consumes Bulk with only a
// share of its concurrency. Rates are counted in this process (one Lambda
// container): no request is made to count them.
//
// Splitting one contact's changes between two queues reorders them, which is
// safe for triggers: the sync reads the User or the member back and decides
// from its current state, so an older trigger applied after a newer one
// writes nothing old; a write whose echo may overtake it is announced
// (apmc's announce.go). A Mailchimp email change (upemail) is not a mere
// trigger — the profile change Mailchimp sends after it must be applied
// after it — so it always goes to Main; and the sync never writes to
// accessplanit from a bulk-queue Mailchimp change (it moves such a change
// to Main, behind what is queued there for its contact:
// apmc.ErrOrderedQueue).
type Lanes struct {
	Main, Bulk Enqueuer
	// Limit and Window: an instance with more than Limit deliveries within
	// Window is bursting; zero means DefaultBulkLimit and DefaultBulkWindow.
	Limit  int
	Window time.Duration
	Now    func() time.Time

	mu    sync.Mutex
	rates map[string]rate
}

var _ Enqueuer = (*Lanes)(nil)

// maxRates bounds the instances whose rates are kept: only authenticated
// deliveries are counted, so this is the number of instances one container
// serves, and stale ones are dropped first.
const maxRates = 10_000

// Enqueue counts the delivery against its instance's rate and puts the
// change on the bulk queue while the instance is bursting, on the main
// queue otherwise.
func (l *Lanes) Enqueue(ctx context.Context, c apmc.Change) error {
	if l.bursting(c.InstanceID) && c.Event != apmc.EventUpEmail {
		return l.Bulk.Enqueue(ctx, c)
	}
	return l.Main.Enqueue(ctx, c)
}

// bursting counts one delivery of the instance and reports whether the
// instance is above the limit.
func (l *Lanes) bursting(instanceID string) bool {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	window, limit := l.Window, l.Limit
	if window <= 0 {
		window = DefaultBulkWindow
	}
	if limit <= 0 {
		limit = DefaultBulkLimit
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rates == nil {
		l.rates = map[string]rate{}
	}
	if _, ok := l.rates[instanceID]; !ok && len(l.rates) >= maxRates {
		for id, r := range l.rates {
			if r.stale(now, window) {
				delete(l.rates, id)
			}
		}
		if len(l.rates) >= maxRates {
			// Every kept instance is busy: forget the counts rather than
			// grow without bound; the bursting ones reach the limit again
			// within a window.
			clear(l.rates)
		}
	}
	r, n := l.rates[instanceID].observe(now, window)
	l.rates[instanceID] = r
	return n > float64(limit)
}

// rate counts an instance's deliveries in fixed windows: the current one,
// from start, and the one before it. The deliveries within the last window
// are estimated by weighting the previous window's count by the share of it
// still within the last window (a sliding-window counter: two numbers per
// instance, whatever the rate).
type rate struct {
	start    time.Time
	current  int
	previous int
}

// observe counts a delivery at now and returns the new rate and the
// deliveries estimated within the window ending at now, this one included.
func (r rate) observe(now time.Time, window time.Duration) (rate, float64) {
	switch elapsed := now.Sub(r.start); {
	case r.start.IsZero() || elapsed < 0 || elapsed >= 2*window:
		// First delivery, a clock set back, or nothing for a whole window.
		r = rate{start: now}
	case elapsed >= window:
		r = rate{start: r.start.Add(window), previous: r.current}
	}
	r.current++
	left := 1 - float64(now.Sub(r.start))/float64(window)
	return r, float64(r.previous)*left + float64(r.current)
}

// stale reports whether no delivery was counted for two windows, so the
// rate holds nothing that would count.
func (r rate) stale(now time.Time, window time.Duration) bool {
	return now.Sub(r.start) >= 2*window
}
