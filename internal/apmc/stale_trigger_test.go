package apmc

import (
	"context"
	"testing"
	"time"
)

// TestOlderTriggerAppliedLate holds what makes the bulk lane safe: a
// contact's accessplanit changes may reach the sync out of order (one on
// the changes queue, a later one on the bulk queue), and an older trigger
// applied after a newer one must write nothing old, because the sync reads
// the User back and decides from its current state, never from the
// delivery's values.
func TestOlderTriggerAppliedLate(t *testing.T) {
	older := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	tests := []struct {
		name string
		// newer is the User as accessplanit holds it now; its trigger is
		// applied first, then the older trigger (carrying older's values).
		newer      *User
		wantEmail  string
		wantFName  string
		wantAbsent string // an address that must hold no member
		wantWrites int
	}{
		{
			name:      "a field changed again",
			newer:     apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(time.Minute)),
			wantEmail: "ada@example.com", wantFName: "Augusta", wantWrites: 1,
		},
		{
			name:      "the email changed",
			newer:     apUser("1", "Ada", "Lovelace", "ada.king@example.com", t0.Add(time.Minute)),
			wantEmail: "ada.king@example.com", wantFName: "Ada", wantAbsent: "ada@example.com", wantWrites: 1,
		},
		{
			name:      "nothing changed since",
			newer:     apUser("1", "Ada", "Lovelace", "ada@example.com", t0),
			wantEmail: "ada@example.com", wantFName: "Ada", wantWrites: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.engine.Now = func() time.Time { return t0.Add(2 * time.Minute) }
			f.apply(t, apChange("c2", tt.newer))
			// The older trigger arrives last; accessplanit still holds the
			// newer User (no platformHolds: the delivery is out of date).
			late := apChange("c1", older)
			exec, err := f.engine.Apply(context.Background(), Delivery{Change: late, Attempt: 1})
			if err != nil {
				t.Fatalf("Apply(older trigger) error = %v", err)
			}
			if exec.Status == StatusFailed {
				t.Errorf("Apply(older trigger) status = %s (%s), want it applied without a failure", exec.Status, exec.Error)
			}
			m, ok := f.mc.members[tt.wantEmail]
			if !ok {
				t.Fatalf("member %s missing; members = %v", tt.wantEmail, f.mc.members)
			}
			if got := m.MergeFields["FNAME"]; got != tt.wantFName {
				t.Errorf("member %s FNAME = %q after the older trigger, want %q (the current User's)", tt.wantEmail, got, tt.wantFName)
			}
			if tt.wantAbsent != "" {
				if m, ok := f.mc.members[tt.wantAbsent]; ok && m.Status == "subscribed" {
					t.Errorf("member %s subscribed after the older trigger: its old address was written back", tt.wantAbsent)
				}
			}
			if f.mc.writes != tt.wantWrites {
				t.Errorf("Mailchimp writes = %d, want %d (the older trigger writes nothing)", f.mc.writes, tt.wantWrites)
			}
		})
	}
}
