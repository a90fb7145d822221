package apmc

import (
	"context"
	"testing"
	"time"
)

func TestSideStateEchoes(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var s SideState
	s.RecordWrite("a", at)
	s.RecordWrite("b", at.Add(time.Second))
	s.RecordWrite("c", at.Add(2*time.Second))

	tests := []struct {
		name string
		fp   string
		now  time.Time
		want int
	}{
		{"oldest write", "a", at.Add(3 * time.Second), 0},
		{"latest write", "c", at.Add(3 * time.Second), 2},
		{"never written", "x", at.Add(3 * time.Second), -1},
		{"after the echo window", "a", at.Add(echoWindow + time.Second), -1},
	}
	for _, tt := range tests {
		if got := s.echoOf(tt.fp, tt.now); got != tt.want {
			t.Errorf("%s: echoOf(%q) = %d, want %d", tt.name, tt.fp, got, tt.want)
		}
	}

	// Using up the echo of b forgets a too: its echo came first or never will.
	s.consumeEcho(s.echoOf("b", at.Add(3*time.Second)))
	if got := s.echoOf("a", at.Add(3*time.Second)); got != -1 {
		t.Errorf("after b's echo: echoOf(a) = %d, want -1", got)
	}
	if got := s.echoOf("c", at.Add(3*time.Second)); got != 0 {
		t.Errorf("after b's echo: echoOf(c) = %d, want 0", got)
	}

	// The list is bounded.
	var many SideState
	for i := range 2 * maxPendingWrites {
		many.RecordWrite(string(rune('a'+i)), at)
	}
	if n := len(many.Pending); n != maxPendingWrites {
		t.Errorf("pending writes after %d writes = %d, want %d", 2*maxPendingWrites, n, maxPendingWrites)
	}
}

// Three quick edits in accessplanit are three writes to Mailchimp; Mailchimp's
// webhooks for them arrive after the last write was made. Each is an echo:
// nothing is written back to accessplanit.
func TestEchoesOfQuickSuccessiveWritesAreSuppressed(t *testing.T) {
	f := newFixture(t, nil)
	for i, first := range []string{"One", "Two", "Three"} {
		u := apUser("1", first, "Lovelace", "ada@example.com", t0.Add(time.Duration(i)*time.Second))
		if e := f.apply(t, apChange("ap-"+first, u)); e.Status != StatusSucceeded {
			t.Fatalf("apply %s = %s %q, want succeeded", first, e.Status, e.Error)
		}
	}
	f.ap.users["1"] = *apUser("1", "Three", "Lovelace", "ada@example.com", t0.Add(2*time.Second))
	for i, first := range []string{"One", "Two", "Three"} {
		c := Change{ID: "mc-" + first, InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0,
			OccurredAt: t0.Add(time.Duration(3+i) * time.Second), Email: "ada@example.com",
			Merges: Values{"EMAIL": "ada@example.com", "FNAME": first, "LNAME": "Lovelace", "PHONE": "01234 567890", "BIRTHDAY": "03/07"}}
		if e := f.apply(t, c); e.Status != StatusSuppressed {
			t.Errorf("echo of %s = %s %q %q, want suppressed", first, e.Status, e.Reason, e.Error)
		}
	}
	if f.ap.writes != 0 {
		t.Errorf("accessplanit writes = %d, want 0", f.ap.writes)
	}
	// The contact state remembers what Mailchimp holds: the last write,
	// not the older values an echo carried.
	st, err := f.cs.Contact(context.Background(), "inst1", "ada@example.com")
	if err != nil {
		t.Fatalf("Contact() error = %v", err)
	}
	if got := st.Mailchimp.Values["FNAME"]; got != "Three" {
		t.Errorf("contact state Mailchimp FNAME = %q, want Three", got)
	}
	// A real change afterwards, even back to an earlier value, is applied.
	c := Change{ID: "mc-real", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0,
		OccurredAt: t0.Add(10 * time.Second), Email: "ada@example.com",
		Merges: Values{"EMAIL": "ada@example.com", "FNAME": "One", "LNAME": "Lovelace", "PHONE": "01234 567890", "BIRTHDAY": "03/07"}}
	if e := f.apply(t, c); e.Status != StatusSucceeded || !e.Changed {
		t.Errorf("real change back to One = %s changed=%v %q, want succeeded and changed", e.Status, e.Changed, e.Error)
	}
	if got := f.ap.users["1"].Fields["Forenames"]; got != "One" {
		t.Errorf("Forenames = %q, want One", got)
	}
}
