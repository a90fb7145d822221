package apmc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A User's address and surname change together in accessplanit, and the
// change comes through the bulk queue (a burst). Moving the member makes
// Mailchimp send an email change, always queued on the changes queue: the
// bulk-queue change is moved there before it moves anything (so the email
// change queues behind it), and applied from there the surname survives on
// both sides, with one User.
func TestBulkQueueEmailChangeMovesToTheChangesQueue(t *testing.T) {
	for _, settledWindow := range []bool{true, false} {
		t.Run(map[bool]string{true: "settled", false: "announced"}[settledWindow], func(t *testing.T) {
			f := newFixture(t, nil)
			f.mc.members["ada@example.com"] = Member{Email: "ada@example.com", Status: "subscribed", ContactID: "ct1", MergeFields: Values{}}
			f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
			now := t0.Add(time.Hour)
			f.engine.Now = func() time.Time { return now }
			if settledWindow {
				f.engine.Windows = fixedWindows{w: BurstWindow{Since: now.Add(-5 * time.Minute), Until: now.Add(4 * time.Minute)}}
			}
			u := apUser("1", "Ada", "Byron", "ada.byron@example.com", t0.Add(time.Minute))
			f.platformHolds(apChange("c1", u))
			if _, err := f.engine.Apply(context.Background(), Delivery{Change: apChange("c1", u), Attempt: 1, Unordered: true}); !errors.Is(err, ErrOrderedQueue) {
				t.Fatalf("Apply(email change from the bulk queue) error = %v, want ErrOrderedQueue (moved before it writes)", err)
			}
			if _, ok := f.mc.members["ada.byron@example.com"]; ok {
				t.Fatal("the member was moved from the bulk queue")
			}
			// Applied from the changes queue, where the email change Mailchimp
			// sends then queues behind it.
			exec, err := f.engine.Apply(context.Background(), Delivery{Change: apChange("c1", u), Attempt: 1})
			if err != nil || exec.Status != StatusSucceeded {
				t.Fatalf("Apply(from the changes queue) = %s %v %q", exec.Status, err, exec.Error)
			}
			t.Logf("accessplanit users: %d; user 1 = %v", len(f.ap.users), f.ap.users["1"].Fields)
			t.Logf("mailchimp: %v", f.mc.members)
			if got := f.ap.users["1"].Fields["Surname"]; got != "Byron" || len(f.ap.users) != 1 {
				t.Errorf("accessplanit Surname = %q, users %d: want Byron kept and one User", got, len(f.ap.users))
			}
			if got := f.mc.members["ada.byron@example.com"].MergeFields["LNAME"]; got != "Byron" {
				t.Errorf("Mailchimp LNAME = %q, want Byron", got)
			}
		})
	}
}
