package apmc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMergeContact(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	p1 := PendingWrite{Fingerprint: "a", At: at}
	p2 := PendingWrite{Fingerprint: "b", At: at.Add(time.Second)}
	base := Contact{Email: "ada@example.com", UserID: "1", Version: 3,
		Mailchimp: SideState{Values: Values{"FNAME": "Ada"}, Pending: []PendingWrite{p1}}}
	tests := []struct {
		name   string
		mine   func(c *Contact)
		theirs func(c *Contact)
		want   func(c *Contact)
		ok     bool
	}{
		{
			name: "my tags and write onto their used-up echo",
			mine: func(c *Contact) {
				c.Mailchimp.Tags = []string{"Booked: X"}
				c.Mailchimp.Pending = append(c.Mailchimp.Pending, p2)
			},
			theirs: func(c *Contact) { c.Mailchimp.Pending = nil; c.Mailchimp.SourceTime = at },
			want: func(c *Contact) {
				c.Mailchimp.Tags = []string{"Booked: X"}
				c.Mailchimp.Pending = []PendingWrite{p2}
				c.Mailchimp.SourceTime = at
			},
			ok: true,
		},
		{
			name:   "the later time someone else changed the User",
			mine:   func(c *Contact) { c.Accessplanit.OthersChangedAt = at.Add(time.Minute) },
			theirs: func(c *Contact) { c.Accessplanit.OthersChangedAt = at },
			want:   func(c *Contact) { c.Accessplanit.OthersChangedAt = at.Add(time.Minute) },
			ok:     true,
		},
		{
			name:   "both changed the values the same way",
			mine:   func(c *Contact) { c.Mailchimp.Values = Values{"FNAME": "Augusta"} },
			theirs: func(c *Contact) { c.Mailchimp.Values = Values{"FNAME": "Augusta"} },
			want:   func(c *Contact) { c.Mailchimp.Values = Values{"FNAME": "Augusta"} },
			ok:     true,
		},
		{
			name:   "both changed the values differently",
			mine:   func(c *Contact) { c.Mailchimp.Values = Values{"FNAME": "Augusta"} },
			theirs: func(c *Contact) { c.Mailchimp.Values = Values{"FNAME": "Ida"} },
			want:   func(c *Contact) { c.Mailchimp.Values = Values{"FNAME": "Augusta"} },
			ok:     false,
		},
		{
			name:   "my remembered opt-in and member status, their echo used up",
			mine:   func(c *Contact) { yes := true; c.MarketingOptIn = &yes; c.Mailchimp.Status = "subscribed" },
			theirs: func(c *Contact) { c.Mailchimp.Pending = nil },
			want: func(c *Contact) {
				yes := true
				c.MarketingOptIn, c.Mailchimp.Status, c.Mailchimp.Pending = &yes, "subscribed", nil
			},
			ok: true,
		},
		{
			name:   "opt-ins remembered differently",
			mine:   func(c *Contact) { yes := true; c.MarketingOptIn = &yes },
			theirs: func(c *Contact) { no := false; c.MarketingOptIn = &no },
			want:   func(c *Contact) { yes := true; c.MarketingOptIn = &yes },
			ok:     false,
		},
		{
			name:   "my activity, their user",
			mine:   func(c *Contact) { c.Accessplanit.Activity = &Activity{Tags: []string{"Booked: X"}} },
			theirs: func(c *Contact) { c.UserID = "2" },
			want:   func(c *Contact) { c.UserID = "2"; c.Accessplanit.Activity = &Activity{Tags: []string{"Booked: X"}} },
			ok:     true,
		},
	}
	clone := func(c Contact) Contact {
		c.Mailchimp.Pending = append([]PendingWrite(nil), c.Mailchimp.Pending...)
		c.Mailchimp.Values = Values{"FNAME": c.Mailchimp.Values["FNAME"]}
		return c
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mine, theirs, want := clone(base), clone(base), clone(base)
			tt.mine(&mine)
			tt.theirs(&theirs)
			tt.theirs(&want)
			tt.want(&want)
			got, ok := mergeContact(base, mine, theirs)
			if ok != tt.ok {
				t.Fatalf("mergeContact() ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" && ok {
				t.Errorf("mergeContact() differs (-want +got):\n%s", diff)
			}
		})
	}
}
