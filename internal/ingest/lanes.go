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
	// Windows, when set, shares each instance's burst window with every
	// function (apmc.BurstWindow): a function that sees the instance burst
	// opens or extends it, and every function sends the instance's changes
	// to the bulk queue while it is open, so that once it has settled the
	// echo of a write made from the bulk queue reaches the bulk queue
	// too. A window that cannot be read counts as open: the bulk queue is
	// always the safe side (a write from it is announced unless the window
	// has settled).
	Windows apmc.BurstWindows
	// WindowCache is how long a window read is kept; 0 means
	// apmc.DefaultBurstWindowCache. The sync's settle time must exceed it.
	WindowCache time.Duration

	mu      sync.Mutex
	rates   map[string]rate
	windows map[string]knownWindow
	// extending serialises the window writes (extend).
	extending sync.Mutex
}

// knownWindow is an instance's burst window as last read (or extended).
type knownWindow struct {
	w      apmc.BurstWindow
	read   time.Time
	failed bool // the read failed: taken as open
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
	now := l.now()
	burst := l.bursting(c.InstanceID, now)
	open := l.windowOpen(ctx, c.InstanceID, burst, now)
	if (burst || open) && c.Event != apmc.EventUpEmail {
		return l.Bulk.Enqueue(ctx, c)
	}
	return l.Main.Enqueue(ctx, c)
}

func (l *Lanes) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// windowOpen reports whether the instance's shared burst window is open
// (or could not be read), after opening or extending it when the instance
// bursts here. It reads the store at most once per WindowCache an
// instance, and writes only when the window needs extending.
func (l *Lanes) windowOpen(ctx context.Context, instanceID string, burst bool, now time.Time) bool {
	if l.Windows == nil {
		return false
	}
	ttl := l.WindowCache
	if ttl <= 0 {
		ttl = apmc.DefaultBurstWindowCache
	}
	l.mu.Lock()
	k, ok := l.windows[instanceID]
	l.mu.Unlock()
	if !ok || now.Sub(k.read) >= ttl || now.Before(k.read) {
		w, err := l.Windows.BurstWindow(ctx, instanceID)
		k = knownWindow{w: w, read: now, failed: err != nil}
		l.remember(instanceID, k, now, ttl)
	}
	if burst && !k.failed && k.w.NeedsExtending(now) {
		k = l.extend(ctx, instanceID, now, ttl)
	}
	return k.failed || k.w.Open(now)
}

// extend opens or extends the instance's window, one delivery at a time:
// the deliveries of a burst that arrive together find the window another
// one has just extended, and write nothing.
func (l *Lanes) extend(ctx context.Context, instanceID string, now time.Time, ttl time.Duration) knownWindow {
	l.extending.Lock()
	defer l.extending.Unlock()
	l.mu.Lock()
	k := l.windows[instanceID]
	l.mu.Unlock()
	if k.failed || !k.w.NeedsExtending(now) {
		return k
	}
	// Keep the window's start only if every function (each reading it
	// at most every ttl, and a read a moment behind) reads the new end
	// before the old one passes.
	w, err := l.Windows.ExtendBurstWindow(ctx, instanceID, now, 2*ttl)
	if err != nil {
		return k
	}
	k = knownWindow{w: w, read: now}
	l.remember(instanceID, k, now, ttl)
	return k
}

// remember keeps k, dropping windows read longer ago than ttl first when
// the map is full, so it holds at most maxRates instances.
func (l *Lanes) remember(instanceID string, k knownWindow, now time.Time, ttl time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.windows == nil {
		l.windows = map[string]knownWindow{}
	}
	if _, ok := l.windows[instanceID]; !ok && len(l.windows) >= maxRates {
		for id, old := range l.windows {
			if now.Sub(old.read) >= ttl {
				delete(l.windows, id)
			}
		}
		if len(l.windows) >= maxRates {
			clear(l.windows)
		}
	}
	l.windows[instanceID] = k
}

// bursting counts one delivery of the instance and reports whether the
// instance is above the limit.
func (l *Lanes) bursting(instanceID string, now time.Time) bool {
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
