package apmc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// tagged is apUser with tags.
func tagged(at time.Time, tags ...string) *User {
	u := apUser("1", "Ada", "Lovelace", "ada@example.com", at)
	u.Tags = tags
	return u
}

func TestApplyTags(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.Tags = TagSettings{Sync: true} })
	member := func() Member { return f.mc.members["ada@example.com"] }

	// A new contact: the member is created, then tagged.
	exec := f.apply(t, apChange("c1", tagged(t0, "Gold")))
	if exec.Status != StatusSucceeded || f.mc.writes != 2 {
		t.Fatalf("new contact: status %s, %d Mailchimp writes; want succeeded, 2 (upsert and tags)", exec.Status, f.mc.writes)
	}
	if out := stepOutput(exec, "update_tags"); !cmp.Equal(out["tags_added"], []string{"Gold"}) {
		t.Errorf("update_tags output = %v, want tags_added [Gold]", out)
	}

	// A marketer adds their own tag in Mailchimp.
	f.mc.tagInUI("ada@example.com", "VIP")

	// Only the tags change, a tag applied to a member known not to carry
	// it is removed: one call, no read.
	calls := func() (writes, reads int) { return f.mc.writes, f.mc.reads }
	writes, reads := calls()
	exec = f.apply(t, apChange("c2", tagged(t0.Add(time.Minute))))
	if !exec.Changed || f.mc.writes-writes != 1 || f.mc.reads != reads {
		t.Fatalf("tag removed: changed %v, %d writes, %d reads; want changed, 1 write, 0 reads", exec.Changed, f.mc.writes-writes, f.mc.reads-reads)
	}
	if got := member().Tags; !slices.Equal(got, []string{"VIP"}) {
		t.Errorf("member tags = %q, want only the marketer's [VIP]", got)
	}

	// The User gets the marketer's tag name too: added blind (one call, no
	// read); Mailchimp keeps the marketer's date_added.
	writes, reads = calls()
	f.apply(t, apChange("c3", tagged(t0.Add(2*time.Minute), "vip")))
	if f.mc.writes-writes != 1 || f.mc.reads != reads {
		t.Errorf("a tag added: %d writes, %d reads; want 1 write, no read", f.mc.writes-writes, f.mc.reads-reads)
	}
	// ... so removing it from the User reads the member's tags, finds it
	// older than the service's write, and leaves it.
	writes, reads = calls()
	exec = f.apply(t, apChange("c4", tagged(t0.Add(3*time.Minute))))
	if got := member().Tags; !slices.Equal(got, []string{"VIP"}) || f.mc.writes != writes || f.mc.tagReads == 0 || f.mc.reads-reads != 1 || exec.Changed {
		t.Errorf("after the User dropped vip: member tags %q, %d writes, %d reads, changed %v; want [VIP] kept, no write, 1 read, nothing changed", got, f.mc.writes-writes, f.mc.reads-reads, exec.Changed)
	}
	if c, _ := f.cs.Contact(t.Context(), "inst1", "ada@example.com"); len(c.Mailchimp.Tags) != 0 {
		t.Errorf("managed tags = %q, want none: VIP was added by hand", c.Mailchimp.Tags)
	}

	// Nothing differs: no call at all.
	writes, reads = calls()
	exec = f.apply(t, apChange("c5", tagged(t0.Add(4*time.Minute))))
	if f.mc.writes != writes || f.mc.reads != reads || exec.Changed {
		t.Errorf("no change: %d writes, %d reads, changed %v; want none", f.mc.writes-writes, f.mc.reads-reads, exec.Changed)
	}

	// A tag added blind, then swapped for another: one read (is it still
	// the service's?) and one write carrying both.
	f.apply(t, apChange("c6", tagged(t0.Add(5*time.Minute), "Silver")))
	f.mc.tagInUI("ada@example.com", "Silver") // a marketer adds it after the service: Mailchimp keeps it as it is
	writes, reads = calls()
	exec = f.apply(t, apChange("c7", tagged(t0.Add(6*time.Minute), "Bronze")))
	if f.mc.writes-writes != 1 || f.mc.reads-reads != 1 {
		t.Errorf("a tag swapped: %d writes, %d reads; want 1 and 1", f.mc.writes-writes, f.mc.reads-reads)
	}
	out := stepOutput(exec, "update_tags")
	if !cmp.Equal(out["tags_added"], []string{"Bronze"}) || !cmp.Equal(out["tags_removed"], []string{"Silver"}) {
		t.Errorf("update_tags output = %v, want Bronze added, Silver removed", out)
	}
	if got := member().Tags; !slices.Equal(got, []string{"VIP", "Bronze"}) {
		t.Errorf("after the swap: member tags %q, want [VIP Bronze]", got)
	}

	// A marketer adds Silver after the service took it off; the User gets
	// it again and loses it again: the marketer's Silver stays.
	f.mc.tagInUI("ada@example.com", "Silver")
	f.apply(t, apChange("c8", tagged(t0.Add(7*time.Minute), "Bronze", "Silver")))
	f.apply(t, apChange("c9", tagged(t0.Add(8*time.Minute), "Bronze")))
	if got := member().Tags; !slices.Equal(got, []string{"VIP", "Bronze", "Silver"}) {
		t.Errorf("after the User lost the marketer's Silver: member tags %q, want [VIP Bronze Silver]", got)
	}
}

func TestApplyTrainingActivity(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.Activity = ActivitySettings{Enabled: true} })
	f.ap.delegates = map[string][]Delegate{}
	f.apply(t, apChange("c1", tagged(t0)))
	writes := f.mc.writes

	booking := func(id string) Change {
		return Change{ID: id, InstanceID: "inst1", Source: SideAccessplanit, Event: EventBooking, ReceivedAt: t0, UserID: "1", DelegateID: "1~10"}
	}
	f.ap.delegates["1"] = []Delegate{{ID: "1~10", UserID: "1", Course: "First Aid", Status: DelegateBooked, Start: t0.AddDate(0, 0, 7)}}
	exec := f.apply(t, booking("b1"))
	m := f.mc.members["ada@example.com"]
	if exec.Status != StatusSucceeded || !exec.Changed {
		t.Fatalf("booking: %s changed %v (%s), want a change", exec.Status, exec.Changed, exec.Error)
	}
	if !slices.Equal(m.Tags, []string{"Booked: First Aid"}) || m.MergeFields[TagNextCourse] != "First Aid" || m.MergeFields[TagNextDate] != "2026-11-08" {
		t.Errorf("after booking: tags %q, merge fields %v", m.Tags, m.MergeFields)
	}
	if f.mc.writes-writes != 2 {
		t.Errorf("booking: %d Mailchimp writes, want 2 (fields and tags)", f.mc.writes-writes)
	}

	// A User change reuses the activity read: no delegate read.
	reads := f.ap.reads
	f.apply(t, apChange("c2", tagged(t0.Add(time.Minute))))
	if f.ap.reads-reads != 1 {
		t.Errorf("a User change made %d accessplanit reads, want 1 (the User)", f.ap.reads-reads)
	}

	// Cancelled: the tag goes inactive, the next course is cleared.
	f.ap.delegates["1"][0].Status = DelegateCancelled
	exec = f.apply(t, booking("b2"))
	m = f.mc.members["ada@example.com"]
	if len(m.Tags) != 0 || m.MergeFields[TagNextCourse] != "" {
		t.Errorf("after cancelling: tags %q, NEXTCOURSE %q; want none", m.Tags, m.MergeFields[TagNextCourse])
	}
	if out := stepOutput(exec, "update_tags"); !cmp.Equal(out["tags_removed"], []string{"Booked: First Aid"}, cmpopts.EquateEmpty()) {
		t.Errorf("update_tags output = %v, want tags_removed [Booked: First Aid]", out)
	}

	// The same booking again changes nothing.
	writes = f.mc.writes
	exec = f.apply(t, booking("b3"))
	if f.mc.writes != writes || exec.Changed || exec.Status != StatusSucceeded {
		t.Errorf("unchanged booking: %d writes, changed %v, status %s; want none, false, succeeded", f.mc.writes-writes, exec.Changed, exec.Status)
	}
}

func TestBookingWithTrainingActivityOffIsSkipped(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.Tags = TagSettings{Sync: true} })
	f.ap.delegates = map[string][]Delegate{"1": {{ID: "1~10", UserID: "1", Course: "First Aid", Status: DelegateBooked, Start: t0.AddDate(0, 0, 7)}}}
	f.apply(t, apChange("c1", tagged(t0, "Gold")))
	writes, reads := f.mc.writes, f.ap.reads
	exec := f.apply(t, Change{ID: "b1", InstanceID: "inst1", Source: SideAccessplanit, Event: EventBooking, ReceivedAt: t0, UserID: "1", DelegateID: "1~10"})
	if exec.Status != StatusSkipped || f.mc.writes != writes || f.ap.reads != reads {
		t.Errorf("booking with training activity off: %s (%s), %d writes, %d reads; want skipped without a call", exec.Status, exec.Reason, f.mc.writes-writes, f.ap.reads-reads)
	}
}

// A User change reads the User's delegates only when its booking dates say
// there is something new: never for a User that has never booked.
func TestTrainingActivityReadsFollowBookingDates(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.Activity = ActivitySettings{Enabled: true} })
	f.ap.delegates = map[string][]Delegate{"1": {{ID: "1~10", UserID: "1", Course: "First Aid", Status: DelegateBooked, Start: t0.AddDate(0, 0, 7)}}}
	user := func(at time.Time, lastBooking string) *User {
		u := tagged(at)
		if lastBooking != "" {
			u.Fields[FieldLastBooking] = lastBooking
			u.Fields[FieldLatestCourseDateBooked] = "2026-11-08T09:00:00"
		}
		return u
	}
	tests := []struct {
		name        string
		user        *User
		wantRead    bool
		wantNextTag bool // the member carries "Booked: First Aid"
	}{
		{"never booked: nothing read", user(t0, ""), false, false},
		{"booked since (its webhook lost): read", user(t0.Add(time.Minute), "2026-11-01T09:00:00"), true, true},
		{"same booking dates: not read again", user(t0.Add(2*time.Minute), "2026-11-01T09:00:00"), false, true},
		{"a new booking date: read", user(t0.Add(3*time.Minute), "2026-11-01T10:00:00"), true, true},
	}
	for i, tt := range tests {
		reads := f.ap.reads
		exec := f.apply(t, apChange(fmt.Sprint("c", i), tt.user))
		read := stepOutput(exec, "read_training_activity") != nil
		if read != tt.wantRead {
			t.Errorf("%s: delegates read = %v, want %v (%d accessplanit reads)", tt.name, read, tt.wantRead, f.ap.reads-reads)
		}
		tags := f.mc.members["ada@example.com"].Tags
		if got := slices.Contains(tags, "Booked: First Aid"); got != tt.wantNextTag {
			t.Errorf("%s: member tags %q, want Booked: First Aid %v", tt.name, tags, tt.wantNextTag)
		}
	}
}

// TestTagsOfALostAnswer covers a tag write Mailchimp applied whose answer
// the service never got (a timeout, a gateway's error) or whose state it
// could not save: the retry finds the tag on the member, or adds it again
// (Mailchimp keeps the first date), and must still know it as its own,
// while a marketer's older tag of the same name stays theirs.
func TestTagsOfALostAnswer(t *testing.T) {
	booking := func(id string) Change {
		return Change{ID: id, InstanceID: "inst1", Source: SideAccessplanit, Event: EventBooking, ReceivedAt: t0, UserID: "1", DelegateID: "1~10"}
	}
	withPhone := func(u *User, phone string) *User { u.Fields["Phone"] = phone; return u }
	tests := []struct {
		name     string
		instance func(*Instance)
		// setup runs once the contact is synced without tags.
		setup func(f *fixture)
		// lost is the change whose tag write is applied but answered with
		// a timeout; then is the later change that should take it off.
		lost, then Change
		tag        string
		wantKept   bool
		// putFails makes the first attempt's member write time out
		// instead, before any tag write.
		putFails bool
		// replay repeats the change as a replay an hour later, instead of
		// a second receive; resumed, as a held retry released on resume.
		replay, resumed bool
	}{
		{
			name:     "only tags: taken off when the User loses it",
			instance: func(in *Instance) { in.Tags = TagSettings{Sync: true} },
			lost:     apChange("c2", tagged(t0.Add(time.Minute), "Gold")),
			then:     apChange("c3", tagged(t0.Add(2*time.Minute))),
			tag:      "Gold",
		},
		{
			name:     "fields and tags under a prefix: the retry's member answer shows the tag",
			instance: func(in *Instance) { in.Tags = TagSettings{Sync: true, Prefix: "ap: "} },
			lost:     apChange("c2", withPhone(tagged(t0.Add(time.Minute), "Gold"), "0999")),
			then:     apChange("c3", withPhone(tagged(t0.Add(2*time.Minute)), "0999")),
			tag:      "ap: Gold",
		},
		{
			name:     "fields and tags: the retry's member answer shows the tag",
			instance: func(in *Instance) { in.Tags = TagSettings{Sync: true} },
			lost:     apChange("c2", withPhone(tagged(t0.Add(time.Minute), "Gold"), "0999")),
			then:     apChange("c3", withPhone(tagged(t0.Add(2*time.Minute)), "0888")),
			tag:      "Gold",
		},
		{
			name:     "only tags, replayed an hour later: taken off when the User loses it",
			instance: func(in *Instance) { in.Tags = TagSettings{Sync: true} },
			lost:     apChange("c2", tagged(t0.Add(time.Minute), "Gold")),
			then:     apChange("c3", tagged(t0.Add(2*time.Minute))),
			tag:      "Gold",
			replay:   true,
		},
		{
			name:     "only tags, a held retry released an hour later: taken off when the User loses it",
			instance: func(in *Instance) { in.Tags = TagSettings{Sync: true} },
			lost:     apChange("c2", tagged(t0.Add(time.Minute), "Gold")),
			then:     apChange("c3", tagged(t0.Add(2*time.Minute))),
			tag:      "Gold",
			resumed:  true,
		},
		{
			name:     "a booking's tag goes inactive when the booking is cancelled",
			instance: func(in *Instance) { in.Activity = ActivitySettings{Enabled: true} },
			setup: func(f *fixture) {
				f.ap.delegates = map[string][]Delegate{"1": {{ID: "1~10", UserID: "1", Course: "First Aid", Status: DelegateBooked, Start: t0.AddDate(0, 0, 7)}}}
			},
			lost: booking("b1"),
			then: booking("b2"),
			tag:  "Booked: First Aid",
		},
		{
			name:     "a marketer's older tag of the same name stays theirs",
			instance: func(in *Instance) { in.Tags = TagSettings{Sync: true} },
			setup: func(f *fixture) {
				f.mc.tagInUI("ada@example.com", "Gold")
				f.mc.setTagDate("ada@example.com", "Gold", t0.Add(-time.Hour))
			},
			lost:     apChange("c2", tagged(t0.Add(time.Minute), "Gold")),
			then:     apChange("c3", tagged(t0.Add(2*time.Minute))),
			tag:      "Gold",
			wantKept: true,
		},
		{
			name:     "a marketer's older tag under the prefix the retry's member answer shows stays theirs",
			instance: func(in *Instance) { in.Tags = TagSettings{Sync: true, Prefix: "ap: "} },
			putFails: true,
			setup: func(f *fixture) {
				f.mc.tagInUI("ada@example.com", "ap: Gold")
				f.mc.setTagDate("ada@example.com", "ap: Gold", t0.Add(-time.Hour))
			},
			lost:     apChange("c2", withPhone(tagged(t0.Add(time.Minute), "Gold"), "0999")),
			then:     apChange("c3", withPhone(tagged(t0.Add(2*time.Minute)), "0888")),
			tag:      "ap: Gold",
			wantKept: true,
		},
		{
			name:     "a marketer's older tag the retry's member answer shows stays theirs",
			instance: func(in *Instance) { in.Tags = TagSettings{Sync: true} },
			putFails: true,
			setup: func(f *fixture) {
				f.mc.tagInUI("ada@example.com", "Gold")
				f.mc.setTagDate("ada@example.com", "Gold", t0.Add(-time.Hour))
			},
			lost:     apChange("c2", withPhone(tagged(t0.Add(time.Minute), "Gold"), "0999")),
			then:     apChange("c3", withPhone(tagged(t0.Add(2*time.Minute)), "0888")),
			tag:      "Gold",
			wantKept: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.instance)
			f.apply(t, apChange("c1", tagged(t0)))
			if tt.setup != nil {
				tt.setup(f)
			}
			if tt.putFails {
				f.mc.fail = []error{&apiError{status: 504}}
			} else {
				f.mc.lostAnswer = &apiError{status: 504}
			}
			f.platformHolds(tt.lost)
			if _, err := f.engine.Apply(t.Context(), Delivery{Change: tt.lost, Attempt: 1}); err == nil {
				t.Fatal("first attempt: no retry asked for after a timed-out tag write")
			}
			again := Delivery{Change: tt.lost, Attempt: 2}
			if tt.resumed {
				r := tt.lost
				r.ID, r.ReceivedAt, r.FirstReceivedAt = "resumed-c2", t0.Add(time.Hour), tt.lost.ReceivedAt
				again = Delivery{Change: r, Attempt: 1}
			}
			if tt.replay {
				r := tt.lost
				r.ID, r.Origin, r.ReceivedAt, r.FirstReceivedAt = "replay-of-c2", OriginReplay, t0.Add(time.Hour), tt.lost.ReceivedAt
				again = Delivery{Change: r, Attempt: 1}
			}
			if exec, err := f.engine.Apply(t.Context(), again); err != nil || exec.Status != StatusSucceeded {
				t.Fatalf("retry: %s, error %v; want succeeded", exec.Status, err)
			}
			if !slices.Contains(f.mc.members["ada@example.com"].Tags, tt.tag) {
				t.Fatalf("member tags %q after the retry, want %q", f.mc.members["ada@example.com"].Tags, tt.tag)
			}
			if tt.then.Event == EventBooking {
				f.ap.delegates["1"][0].Status = DelegateCancelled
			}
			f.apply(t, tt.then)
			if got := slices.Contains(f.mc.members["ada@example.com"].Tags, tt.tag); got != tt.wantKept {
				t.Errorf("member tags %q once the User lost %q: kept %v, want %v", f.mc.members["ada@example.com"].Tags, tt.tag, got, tt.wantKept)
			}
		})
	}
}

// A tags-only change to a member permanently deleted in Mailchimp (its tag
// calls answer 404) ends blocked with the reason, not failed, and is not
// tried again: whether the User's tags changed, a booking changed only the
// activity tags, or a tag taken off needed the member's tags read first.
func TestTagsOnlyChangeToADeletedMemberIsBlocked(t *testing.T) {
	booking := func(id string) Change {
		return Change{ID: id, InstanceID: "inst1", Source: SideAccessplanit, Event: EventBooking, ReceivedAt: t0, UserID: "1"}
	}
	firstAid := Delegate{ID: "1~10", UserID: "1", Course: "First Aid", Status: DelegateBooked, Start: t0.AddDate(0, 0, 7)}
	fireSafety := Delegate{ID: "1~11", UserID: "1", Course: "Fire Safety", Status: DelegateBooked, Start: t0.AddDate(0, 0, 30)}
	tests := []struct {
		name   string
		mutate func(*Instance)
		before []Change // applied while the member is there
		setUp  func(f *fixture)
		change Change // applied once it is gone
		step   string // the tags call that finds it gone
	}{
		{
			name:   "the User's tags edited",
			mutate: func(in *Instance) { in.Tags = TagSettings{Sync: true} },
			before: []Change{apChange("c1", tagged(t0, "Gold"))},
			change: apChange("c2", tagged(t0.Add(time.Minute), "Gold", "Silver")),
			step:   "update_tags",
		},
		{
			name:   "a tag added blind taken off (its date read first)",
			mutate: func(in *Instance) { in.Tags = TagSettings{Sync: true} },
			before: []Change{apChange("c1", tagged(t0, "Gold")), apChange("c2", tagged(t0.Add(time.Minute), "Gold", "Silver"))},
			change: apChange("c3", tagged(t0.Add(2*time.Minute), "Gold")),
			step:   "read_member_tags",
		},
		{
			name:   "a booking that changes only the activity tags",
			mutate: func(in *Instance) { in.Activity = ActivitySettings{Enabled: true} },
			before: []Change{apChange("c1", tagged(t0)), booking("b1")},
			setUp: func(f *fixture) {
				f.ap.delegates = map[string][]Delegate{"1": {firstAid}}
			},
			change: booking("b2"),
			step:   "update_tags",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.mutate)
			if tt.setUp != nil {
				tt.setUp(f)
			}
			for _, c := range tt.before {
				if exec := f.apply(t, c); exec.Status != StatusSucceeded {
					t.Fatalf("%s: %s (%s %s), want succeeded", c.ID, exec.Status, exec.Reason, exec.Error)
				}
			}
			if f.ap.delegates != nil {
				f.ap.delegates["1"] = append(f.ap.delegates["1"], fireSafety) // a later course: NEXTCOURSE stays
			}
			delete(f.mc.members, "ada@example.com") // permanently deleted in Mailchimp
			writes := f.mc.writes

			f.platformHolds(tt.change)
			exec, err := f.engine.Apply(context.Background(), Delivery{Change: tt.change, Attempt: 1})
			if err != nil {
				t.Errorf("Apply() error = %v, want nil: a blocked contact is not retried", err)
			}
			if exec.Status != StatusBlocked || exec.Retryable || exec.Error != "" || !strings.Contains(exec.Reason, "no longer in the audience") {
				t.Errorf("execution = status %s retryable %v error %q reason %q; want blocked with the reason, not retryable", exec.Status, exec.Retryable, exec.Error, exec.Reason)
			}
			// The tags call finds it gone; its contact_id finds it nowhere
			// else (not an address changed in Mailchimp).
			if n := len(exec.Steps); f.mc.writes-writes > 1 || n < 2 || exec.Steps[n-2].Name != tt.step ||
				exec.Steps[n-1].Name != "find_member_by_contact_id" || exec.Steps[n-1].Output["found"] != false {
				t.Errorf("%d Mailchimp writes, steps %+v; want at most the tags call, %s then find_member_by_contact_id (not found) the last steps", f.mc.writes-writes, exec.Steps, tt.step)
			}
			if _, ok := f.mc.members["ada@example.com"]; ok {
				t.Error("the deleted member was added again")
			}
		})
	}
}

// A tags-only change that finds the member gone writes "blocked" to the
// instance's Mailchimp status field, as a field write Mailchimp refuses does.
func TestTagsOnlyChangeToADeletedMemberWritesTheStatusField(t *testing.T) {
	f := newFixture(t, func(in *Instance) {
		in.Tags = TagSettings{Sync: true}
		in.MailchimpStatusField = "CF_MailchimpStatus"
	})
	f.apply(t, apChange("c1", tagged(t0, "Gold")))
	delete(f.mc.members, "ada@example.com") // permanently deleted in Mailchimp
	exec := f.apply(t, apChange("c2", tagged(t0.Add(time.Minute), "Gold", "Silver")))
	if exec.Status != StatusBlocked {
		t.Fatalf("execution %s (%s %s), want blocked", exec.Status, exec.Reason, exec.Error)
	}
	if got := f.ap.users["1"].Fields["CF_MailchimpStatus"]; got != string(StatusBlocked) {
		t.Errorf("CF_MailchimpStatus = %q, want %q", got, StatusBlocked)
	}
}

// A tags-only change that finds no member at the address because the
// address was changed in Mailchimp (its email change still on its way) is
// tried again, not ended blocked: the member is found by its contact_id
// under the new address. Nothing is written to the status field.
func TestTagsOnlyChangeToAMemberRenamedInMailchimpIsRetried(t *testing.T) {
	f := newFixture(t, func(in *Instance) {
		in.Tags = TagSettings{Sync: true}
		in.MailchimpStatusField = "CF_MailchimpStatus"
	})
	f.apply(t, apChange("c1", tagged(t0, "Gold")))
	m := f.mc.members["ada@example.com"]
	delete(f.mc.members, "ada@example.com")
	m.Email = "ada@new.example.com"
	f.mc.members["ada@new.example.com"] = m
	c := apChange("c2", tagged(t0.Add(time.Minute), "Gold", "Silver"))
	f.platformHolds(c)
	exec, err := f.engine.Apply(t.Context(), Delivery{Change: c, Attempt: 1})
	if err == nil || exec.Status == StatusBlocked || !exec.Retryable || !strings.Contains(exec.Error, "ada@new.example.com") {
		t.Errorf("execution %s retryable %v error %q (Apply error %v); want a retry naming the new address", exec.Status, exec.Retryable, exec.Error, err)
	}
	// The email change never comes: the last receive ends skipped, naming
	// the address, not dead-lettered and not blocked.
	exec, err = f.engine.Apply(t.Context(), Delivery{Change: c, Attempt: DefaultMaxAttempts})
	if err != nil || exec.Status != StatusSkipped || !strings.Contains(exec.Reason, "ada@new.example.com") {
		t.Errorf("last receive: %s (%q), Apply error %v; want skipped naming the new address", exec.Status, exec.Reason, err)
	}
	if got := f.ap.users["1"].Fields["CF_MailchimpStatus"]; got != "" {
		t.Errorf("CF_MailchimpStatus = %q, want nothing written", got)
	}
}

// TestAMarketersTagSeenOnAWriteStaysTheirs: without a tag prefix, a tag a
// member write shows the member carrying (a marketer set it by hand) stays
// theirs through a later change that adds the User's tags without knowing
// the member's, and the User losing it later leaves it on the member.
func TestAMarketersTagSeenOnAWriteStaysTheirs(t *testing.T) {
	for _, later := range [][]string{{"VIP", "Gold"}, {"VIP"}} {
		f := newFixture(t, func(in *Instance) { in.Tags = TagSettings{Sync: true} })
		f.apply(t, apChange("c1", tagged(t0)))
		f.mc.tagInUI("ada@example.com", "VIP")
		f.mc.setTagDate("ada@example.com", "VIP", t0.Add(-time.Hour)) // set by hand, before
		edit := func(id string, at time.Duration, tags ...string) {
			u := tagged(t0.Add(at), tags...)
			u.Fields["Phone"] = "0999"
			f.apply(t, apChange(id, u))
		}
		edit("c2", time.Minute, "VIP") // the phone and the tag: the member write shows the tag
		edit("c3", 2*time.Minute, later...)
		edit("c4", 3*time.Minute)
		if !slices.Contains(f.mc.members["ada@example.com"].Tags, "VIP") {
			t.Errorf("later tags %q: the marketer's VIP was taken off: member tags %q", later, f.mc.members["ada@example.com"].Tags)
		}
	}
}
