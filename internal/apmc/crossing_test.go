package apmc

import (
	"testing"
	"time"
)

// Edits on both sides at nearly the same time: a change whose side the
// service has written to since it was made is decided by that side's current
// state, so the two sides end equal instead of crossed.
func TestCrossingEditsConverge(t *testing.T) {
	type step struct {
		at     time.Duration // engine clock, from t0
		change func() Change
	}
	mcEdit := func(first string, fired time.Duration) func() Change {
		return func() Change {
			return Change{ID: "mc-" + first, InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0,
				OccurredAt: t0.Add(fired), Email: "ada@example.com",
				Merges: Values{"EMAIL": "ada@example.com", "FNAME": first, "LNAME": "Lovelace", "PHONE": "01234 567890", "BIRTHDAY": "03/07"}}
		}
	}
	apEdit := func(first string, updated time.Duration) func() Change {
		return func() Change {
			return apChange("ap-"+first, apUser("1", first, "Lovelace", "ada@example.com", t0.Add(updated)))
		}
	}
	tests := []struct {
		name string
		// what each side holds after the users' edits, before the service applies them
		apHolds, mcHolds string
		steps            []step
	}{
		{
			name:    "a delayed accessplanit delivery after a Mailchimp edit was applied",
			apHolds: "OldAP", mcHolds: "FromMC",
			steps: []step{{at: 11 * time.Second, change: mcEdit("FromMC", 10*time.Second)}, {at: 12 * time.Second, change: apEdit("OldAP", 5*time.Second)}},
		},
		{
			name:    "a delayed Mailchimp delivery after an accessplanit edit was applied",
			apHolds: "NewAP", mcHolds: "OldMC",
			steps: []step{{at: 11 * time.Second, change: apEdit("NewAP", 10*time.Second)}, {at: 12 * time.Second, change: mcEdit("OldMC", 5*time.Second)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			now := t0
			f.engine.Now = func() time.Time { return now }
			// Both sides start in sync.
			f.apply(t, apChange("ap-start", apUser("1", "Start", "Lovelace", "ada@example.com", t0)))
			// The users' edits, made before the service saw either.
			u := f.ap.users["1"]
			if u.Fields == nil {
				u = *apUser("1", tt.apHolds, "Lovelace", "ada@example.com", t0.Add(5*time.Second))
			}
			u.Fields["Forenames"] = tt.apHolds
			f.ap.users["1"] = u
			m := f.mc.members["ada@example.com"]
			m.MergeFields["FNAME"] = tt.mcHolds
			f.mc.members["ada@example.com"] = m

			for _, s := range tt.steps {
				now = t0.Add(s.at)
				if e := f.apply(t, s.change()); e.Status == StatusFailed {
					t.Fatalf("apply = failed: %s", e.Error)
				}
			}
			ap, mc := f.ap.users["1"].Fields["Forenames"], f.mc.members["ada@example.com"].MergeFields["FNAME"]
			if ap != mc {
				t.Errorf("accessplanit %q, Mailchimp %q: want them equal", ap, mc)
			}
		})
	}
}
