package apmc

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// A batch of changes that need the training activity of several Users
// reads their delegates together, in one accessplanit request besides the
// one that reads the Users, however many Users the batch names; it reads
// them one User at a time only when that request fails.
func TestBatchReadsDelegatesTogether(t *testing.T) {
	const n = 6
	tests := []struct {
		name string
		// booked says whether the batch's Users booked since their last
		// sync (their delegates are to be read).
		booked bool
		fail   bool // the batch's delegate read fails
		// wantReads are the accessplanit requests of the batch;
		// wantBatchReads those that read delegates for the batch.
		wantReads, wantBatchReads int
		wantRead                  string // the read_training_activity step's "read"
	}{
		{name: "bookings and Users with new booking dates", booked: true, wantReads: 2, wantBatchReads: 1, wantRead: "batch"},
		{name: "Users without new booking dates", booked: false, wantReads: 1, wantBatchReads: 0},
		{name: "the batch's delegate read fails: one read per User", booked: true, fail: true, wantReads: 2 + n, wantBatchReads: 1, wantRead: "single"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, func(in *Instance) { in.Activity = ActivitySettings{Enabled: true} })
			f.ap.delegates = map[string][]Delegate{}
			var batch []Change
			for i := range n {
				id, email := fmt.Sprint(i+1), fmt.Sprintf("user%d@example.com", i+1)
				f.apply(t, apChange("first-"+id, apUser(id, "Ada", fmt.Sprint("Person ", i), email, t0)))
				u := f.ap.users[id]
				u.UpdatedAt = t0.Add(time.Second)
				u.Fields["Phone"] = "0800 000 000"
				if tt.booked {
					f.ap.delegates[id] = []Delegate{{ID: id + "~10", UserID: id, Course: "First Aid", Status: DelegateBooked, Start: t0.AddDate(0, 0, 7)}}
					u.Fields[FieldLastBooking] = "2026-11-01T10:00:00"
					u.Fields[FieldLatestCourseDateBooked] = "2026-11-08T09:00:00"
				}
				f.ap.users[id] = u
				// Half the batch are bookings (named by User ID), half
				// are changes of the User (by email).
				c := Change{ID: "b" + id, InstanceID: "inst1", Source: SideAccessplanit, Event: EventBooking, ReceivedAt: t0, UserID: id, DelegateID: id + "~10"}
				if i%2 == 1 || !tt.booked {
					c = Change{ID: "u" + id, InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, UserID: id, Email: email}
				}
				batch = append(batch, c)
			}
			f.engine.Contacts = memBatchContacts{f.cs}
			f.engine.Now = func() time.Time { return t0.Add(time.Minute) }
			if tt.fail {
				f.ap.fail = []error{nil, &apiError{status: 503}}
			}
			reads, batchReads := f.ap.reads, f.ap.delegateBatchReads

			r := f.engine.ReadBatch(ctx, batch)
			for _, c := range batch {
				exec, err := f.engine.Apply(ctx, Delivery{Change: c, Attempt: 1, Reads: r})
				if err != nil || exec.Status != StatusSucceeded || !exec.Changed {
					t.Fatalf("Apply(%s) = %s changed=%v (%q %q), err %v; want succeeded with a change", c.ID, exec.Status, exec.Changed, exec.Reason, exec.Error, err)
				}
				out := stepOutput(exec, "read_training_activity")
				if got := fmt.Sprint(out["read"]); tt.wantRead != "" && got != tt.wantRead {
					t.Errorf("Apply(%s) read_training_activity read = %s, want %s (step %v)", c.ID, got, tt.wantRead, out)
				}
				if tt.fail && out["batch_read_error"] == nil {
					t.Errorf("Apply(%s) read_training_activity = %v, want the batch read's error", c.ID, out)
				}
			}
			if got := f.ap.reads - reads; got != tt.wantReads {
				t.Errorf("accessplanit requests for a batch of %d changed Users = %d, want %d", n, got, tt.wantReads)
			}
			if got := f.ap.delegateBatchReads - batchReads; got != tt.wantBatchReads {
				t.Errorf("batch delegate reads = %d, want %d", got, tt.wantBatchReads)
			}
			for i := range n {
				email := fmt.Sprintf("user%d@example.com", i+1)
				if got := slices.Contains(f.mc.members[email].Tags, "Booked: First Aid"); got != tt.booked {
					t.Errorf("member %s tags %q: Booked: First Aid %v, want %v", email, f.mc.members[email].Tags, got, tt.booked)
				}
			}
		})
	}
}
