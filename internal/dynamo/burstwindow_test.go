package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// A burst window opens at the first extension, moves only forward while
// open, keeps its start, and opens anew once closed; it sits apart from
// the instance's contacts.
func TestBurstWindowExtends(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewContactStore(b.client, tables.Contacts)
		t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		if w, err := store.BurstWindow(ctx, "inst-1"); err != nil || w != (apmc.BurstWindow{}) {
			t.Fatalf("BurstWindow(none) = %+v, %v; want the zero window", w, err)
		}
		keep := time.Minute
		steps := []struct {
			name         string
			at           time.Time
			since, until time.Time
		}{
			{"opened", t0, t0, t0.Add(apmc.BurstWindowLength)},
			{"extended: the start stays", t0.Add(time.Minute), t0, t0.Add(time.Minute + apmc.BurstWindowLength)},
			{"an older extension moves nothing back", t0.Add(30 * time.Second), t0, t0.Add(time.Minute + apmc.BurstWindowLength)},
			{"closed, then opened anew", t0.Add(time.Hour), t0.Add(time.Hour), t0.Add(time.Hour + apmc.BurstWindowLength)},
			// With less than keep left, some function may not read the
			// new end before the old one passes: the window starts again.
			{"extended too near its end: it starts again", t0.Add(time.Hour + apmc.BurstWindowLength - 30*time.Second), t0.Add(time.Hour + apmc.BurstWindowLength - 30*time.Second), t0.Add(time.Hour + 2*apmc.BurstWindowLength - 30*time.Second)},
		}
		for _, st := range steps {
			got, err := store.ExtendBurstWindow(ctx, "inst-1", st.at, keep)
			if err != nil {
				t.Fatalf("%s: ExtendBurstWindow() error = %v", st.name, err)
			}
			if !got.Since.Equal(st.since) || !got.Until.Equal(st.until) {
				t.Errorf("%s: window = %v – %v, want %v – %v", st.name, got.Since, got.Until, st.since, st.until)
			}
			read, err := store.BurstWindow(ctx, "inst-1")
			if err != nil || read != got {
				t.Errorf("%s: BurstWindow() = %+v, %v; want %+v", st.name, read, err, got)
			}
		}
		if w, _ := store.BurstWindow(ctx, "inst-2"); w != (apmc.BurstWindow{}) {
			t.Errorf("another instance's window = %+v, want none", w)
		}
		var listed int
		if err := store.EachContact(ctx, "inst-1", func(apmc.Contact) error { listed++; return nil }); err != nil || listed != 0 {
			t.Errorf("EachContact(inst-1) = %d contacts, %v; want none (the window is no contact)", listed, err)
		}
	})
}
