package apmc

import (
	"context"
	"sync"
	"time"
)

// A burst window is the time an instance's changes take the bulk lane, as
// every function knows it. Each ingest function counts the deliveries it
// serves, and one that sees an instance burst opens the instance's window
// (or extends it) in the store; every ingest function reads the window
// (BurstWindowCache at most stale) and sends the instance's changes to the
// bulk queue while it is open, as well as while its own count says so.
//
// So, once a window has been open for BurstWindowSettle, every ingest
// function sends the instance's deliveries to the bulk queue: the echo of a
// write made from the bulk queue then reaches the bulk queue too, in the
// contact's message group, behind the change that made the write, and needs
// no announcement (announce.go) — as long as the window stays open for
// BurstWindowTail after the write, by when the change's state is saved.
// Outside that, a bulk-queue write is announced as before.
const (
	// BurstWindowLength is how long a window is opened, or extended, for.
	BurstWindowLength = 5 * time.Minute
	// BurstWindowExtendBelow: an ingest function that sees the instance
	// burst extends its window once less than this is left of it — long
	// before it ends, so every function has read the new end by then.
	BurstWindowExtendBelow = 3 * time.Minute
	// BurstWindowTail is how long a window must still be open after a
	// write for its echo to be sure to reach the bulk queue while the
	// change that made it may not have saved its state: longer than a
	// write and its save, and than Mailchimp may go on running a call the
	// client gave up on (120 s).
	BurstWindowTail = 150 * time.Second
	// DefaultBurstWindowCache is how long an ingest function keeps a
	// window it read; DefaultBurstWindowSettle, more than that, is how long
	// after a window opened every ingest function is sure to know it.
	DefaultBurstWindowCache  = 10 * time.Second
	DefaultBurstWindowSettle = 20 * time.Second
)

// BurstWindow is an instance's window; the zero value is none.
type BurstWindow struct {
	// Since is when the window opened; Until, when it closes.
	Since, Until time.Time
}

// Open reports whether the window is open at now.
func (w BurstWindow) Open(now time.Time) bool {
	return !w.Since.IsZero() && !now.Before(w.Since) && now.Before(w.Until)
}

// Settled reports whether a write made at now from the bulk queue has its
// echo sent to the bulk queue by every ingest function: the window opened
// at least settle ago (every function has read it since) and stays open for
// BurstWindowTail more.
func (w BurstWindow) Settled(now time.Time, settle time.Duration) bool {
	if settle <= 0 {
		settle = DefaultBurstWindowSettle
	}
	return w.Open(now) && !now.Before(w.Since.Add(settle)) && w.Until.Sub(now) >= BurstWindowTail
}

// NeedsExtending reports whether an ingest function that sees the instance
// burst at now opens or extends the window it knows.
func (w BurstWindow) NeedsExtending(now time.Time) bool {
	return !w.Open(now) || w.Until.Sub(now) < BurstWindowExtendBelow
}

// windowSettled reports whether a write to Mailchimp made now from the bulk
// queue for the instance needs no announcement: its burst window has
// settled. Without a store, or when the window cannot be read, it has not.
func (e *Engine) windowSettled(ctx context.Context, instanceID string) bool {
	if e.Windows == nil {
		return false
	}
	w, err := e.Windows.BurstWindow(ctx, instanceID)
	return err == nil && w.Settled(e.now(), e.BurstWindowSettle)
}

// CachedBurstWindows keeps the windows read from Next for Every (0: 2 s),
// so the sync reads an instance's window at most that often: a window read
// a moment ago shows at most less of it (an extension not yet read), which
// only announces a write that needed none. Errors are not kept.
type CachedBurstWindows struct {
	Next  BurstWindows
	Every time.Duration
	Now   func() time.Time

	mu   sync.Mutex
	read map[string]readWindow
}

// readWindow is a burst window as last read.
type readWindow struct {
	w  BurstWindow
	at time.Time
}

// BurstWindow returns the instance's window as read within Every.
func (c *CachedBurstWindows) BurstWindow(ctx context.Context, instanceID string) (BurstWindow, error) {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	every := c.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	c.mu.Lock()
	r, ok := c.read[instanceID]
	c.mu.Unlock()
	if ok && now.Sub(r.at) < every && !now.Before(r.at) {
		return r.w, nil
	}
	w, err := c.Next.BurstWindow(ctx, instanceID)
	if err != nil {
		return BurstWindow{}, err
	}
	c.mu.Lock()
	if c.read == nil || len(c.read) >= 10_000 {
		c.read = map[string]readWindow{}
	}
	c.read[instanceID] = readWindow{w: w, at: now}
	c.mu.Unlock()
	return w, nil
}

// ExtendBurstWindow extends through Next (the sync never does).
func (c *CachedBurstWindows) ExtendBurstWindow(ctx context.Context, instanceID string, now time.Time, keep time.Duration) (BurstWindow, error) {
	return c.Next.ExtendBurstWindow(ctx, instanceID, now, keep)
}

// BurstWindows stores the instances' burst windows.
type BurstWindows interface {
	// BurstWindow returns the instance's window (zero: none stored).
	BurstWindow(ctx context.Context, instanceID string) (BurstWindow, error)
	// ExtendBurstWindow opens the instance's window at now for
	// BurstWindowLength, or extends the open one to now +
	// BurstWindowLength, and returns the window stored. The open window's
	// Since is kept only when its end is more than keep after now: every
	// function then reads the new end before the old one passes. A window
	// extended later than that starts again at now (Since = now), so it
	// settles only once every function has read it.
	ExtendBurstWindow(ctx context.Context, instanceID string, now time.Time, keep time.Duration) (BurstWindow, error)
}
