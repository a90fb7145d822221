package apmc

import (
	"context"
	"testing"
	"time"
)

// A webhook delivered again after the queue's deduplication window reaches
// the engine as a new change: applying it again writes nothing, in either
// direction.
func TestRedeliveryAfterTheDedupWindowWritesNothing(t *testing.T) {
	tests := []struct {
		name   string
		change Change
	}{
		{name: "accessplanit", change: apChange("ap-1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0))},
		{name: "Mailchimp", change: Change{ID: "mc-1", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, OccurredAt: t0,
			Email: "grace@example.com", Merges: Values{"EMAIL": "grace@example.com", "FNAME": "Grace", "LNAME": "Hopper"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			first := f.apply(t, tt.change)
			if first.Status != StatusSucceeded || !first.Changed {
				t.Fatalf("first delivery = %s changed=%v (%s %s), want succeeded with a change", first.Status, first.Changed, first.Reason, first.Error)
			}
			writes := f.mc.writes + f.ap.writes
			again := tt.change
			again.ID += "-redelivered" // a new delivery id: the queue does not drop it
			again.ReceivedAt = t0.Add(2 * time.Hour)
			second, err := f.engine.Apply(context.Background(), Delivery{Change: again, Attempt: 1})
			if err != nil {
				t.Fatalf("Apply(redelivery) error = %v", err)
			}
			if got := f.mc.writes + f.ap.writes - writes; got != 0 {
				t.Errorf("writes for the redelivery = %d, want 0 (status %s, %s)", got, second.Status, second.Reason)
			}
			if second.Status == StatusFailed {
				t.Errorf("redelivery status = failed (%s)", second.Error)
			}
		})
	}
}
