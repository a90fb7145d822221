package apmc

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBurstWindow(t *testing.T) {
	since := t0
	w := BurstWindow{Since: since, Until: since.Add(BurstWindowLength)}
	settle := 10 * time.Second
	tests := []struct {
		name                  string
		w                     BurstWindow
		at                    time.Time
		open, settled, extend bool
	}{
		{"none", BurstWindow{}, since, false, false, true},
		{"just opened: not every function knows it", w, since.Add(time.Second), true, false, false},
		{"settled", w, since.Add(settle), true, true, false},
		{"settled, extension due", w, since.Add(BurstWindowLength - BurstWindowExtendBelow + time.Second), true, true, true},
		{"too near its end for a write's echo", w, since.Add(BurstWindowLength - BurstWindowTail + time.Second), true, false, true},
		{"closed", w, since.Add(BurstWindowLength), false, false, true},
		{"before it opened (a clock behind)", w, since.Add(-time.Second), false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.Open(tt.at); got != tt.open {
				t.Errorf("Open = %v, want %v", got, tt.open)
			}
			if got := tt.w.Settled(tt.at, settle); got != tt.settled {
				t.Errorf("Settled = %v, want %v", got, tt.settled)
			}
			if got := tt.w.NeedsExtending(tt.at); got != tt.extend {
				t.Errorf("NeedsExtending = %v, want %v", got, tt.extend)
			}
		})
	}
}

// fixedWindows answers one window for every instance.
type fixedWindows struct {
	w   BurstWindow
	err error
}

func (f fixedWindows) BurstWindow(context.Context, string) (BurstWindow, error) { return f.w, f.err }
func (f fixedWindows) ExtendBurstWindow(context.Context, string, time.Time, time.Duration) (BurstWindow, error) {
	return f.w, f.err
}

// A write to Mailchimp from the bulk queue is announced unless its
// instance's burst window has settled (every ingest function then sends
// its echo to the bulk queue, behind it); a change naming its User by ID
// only is announced whatever the window, as its echo is in another message
// group.
func TestBulkWriteInASettledBurstWindowIsNotAnnounced(t *testing.T) {
	settle := 10 * time.Second
	now := t0.Add(time.Hour)
	settled := BurstWindow{Since: now.Add(-time.Minute), Until: now.Add(4 * time.Minute)}
	tests := []struct {
		name    string
		windows BurstWindows
		byID    bool
		want    int // announcements
	}{
		{"no window store", nil, false, 1},
		{"no window", fixedWindows{}, false, 1},
		{"a window just opened", fixedWindows{w: BurstWindow{Since: now.Add(-time.Second), Until: now.Add(5 * time.Minute)}}, false, 1},
		{"a window about to close", fixedWindows{w: BurstWindow{Since: now.Add(-4 * time.Minute), Until: now.Add(time.Minute)}}, false, 1},
		{"a window that cannot be read", fixedWindows{w: settled, err: errors.New("throttled")}, false, 1},
		{"a settled window", fixedWindows{w: settled}, false, 0},
		{"a settled window, a change by User ID", fixedWindows{w: settled}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
			f.engine.Now = func() time.Time { return now }
			f.engine.Windows, f.engine.BurstWindowSettle = tt.windows, settle
			u := apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(time.Second))
			f.platformHolds(apChange("c1", u))
			c := apChange("c1", u)
			if tt.byID {
				c = Change{ID: "c1", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, UserID: "1"}
			}
			before := f.cs.announced
			exec, err := f.engine.Apply(context.Background(), Delivery{Change: c, Attempt: 1, Unordered: true})
			if err != nil || exec.Status != StatusSucceeded || !exec.Changed {
				t.Fatalf("Apply(from the bulk queue) = %s changed=%v %v %q", exec.Status, exec.Changed, err, exec.Error)
			}
			if got := f.cs.announced - before; got != tt.want {
				t.Errorf("announcements = %d, want %d", got, tt.want)
			}
			if out := stepOutput(exec, "upsert_member"); (out["burst_window_settled"] == true) != (tt.want == 0) {
				t.Errorf("upsert_member output %v: burst_window_settled should say why nothing was announced", out)
			}
		})
	}
}

// countingWindows counts its reads.
type countingWindows struct {
	fixedWindows
	reads int
}

func (c *countingWindows) BurstWindow(ctx context.Context, id string) (BurstWindow, error) {
	c.reads++
	return c.fixedWindows.BurstWindow(ctx, id)
}

func TestCachedBurstWindowsReadsAtMostEvery(t *testing.T) {
	now := t0
	next := &countingWindows{fixedWindows: fixedWindows{w: BurstWindow{Since: t0, Until: t0.Add(time.Minute)}}}
	c := &CachedBurstWindows{Next: next, Every: 2 * time.Second, Now: func() time.Time { return now }}
	for range 5 {
		if _, err := c.BurstWindow(context.Background(), "inst1"); err != nil {
			t.Fatal(err)
		}
		now = now.Add(500 * time.Millisecond)
	}
	if next.reads != 2 {
		t.Errorf("reads over 2.5 s = %d, want 2 (one per 2 s)", next.reads)
	}
	next.err = errors.New("throttled")
	now = now.Add(2 * time.Second)
	if _, err := c.BurstWindow(context.Background(), "inst1"); err == nil {
		t.Error("a failed read answered from the cache; want the error")
	}
	next.err = nil
	if w, err := c.BurstWindow(context.Background(), "inst1"); err != nil || w.Since.IsZero() || next.reads != 4 {
		t.Errorf("after a failed read: %+v %v, reads %d; want a new read (errors are not kept)", w, err, next.reads)
	}
}
