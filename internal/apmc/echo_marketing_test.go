package apmc

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"
)

// editFNAMEInMailchimp is a marketer's edit of ada@example.com's FNAME in
// Mailchimp, applied at now: the service writes it to the User, once.
func (f *fixture) editFNAMEInMailchimp(t *testing.T, fname string, now time.Time) {
	t.Helper()
	m := f.mc.members["ada@example.com"]
	m.MergeFields["FNAME"] = fname
	f.mc.members["ada@example.com"] = m
	f.engine.Now = func() time.Time { return now }
	apWrites := f.ap.writes
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: Change{ID: "mc", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com"}, Attempt: 1})
	if err != nil || exec.Status != StatusSucceeded || f.ap.writes != apWrites+1 {
		t.Fatalf("Mailchimp edit = %s %v %q with %d accessplanit writes, want the User written once", exec.Status, err, exec.Error, f.ap.writes-apWrites)
	}
}

// An edit in accessplanit of only what syncs to Mailchimp beside the mapped
// fields (the User's Tags, its MarketingOptIn, its booking dates), made
// while the echo of the service's own write to that User is still expected,
// carries the mapped values the write left there. It is a change all the
// same: it reaches Mailchimp at once, whether its delivery claims the User
// or names it only; and the real echo that follows is still suppressed
// without a read.
func TestEchoDoesNotSwallowAnEditOfWhatElseSyncs(t *testing.T) {
	tests := []struct {
		name     string
		instance func(*Instance)
		// user is the User as synced first.
		user func(*User)
		// edit is the staff edit made while the echo is pending.
		edit func(f *fixture, u *User)
		// synced reports whether Mailchimp holds the edit, and what it holds.
		synced func(f *fixture) (bool, any)
	}{
		{
			name:     "a tag added",
			instance: func(in *Instance) { in.Tags = TagSettings{Sync: true} },
			user:     func(u *User) { u.Tags = []string{"Gold"} },
			edit:     func(_ *fixture, u *User) { u.Tags = []string{"Gold", "Silver"} },
			synced: func(f *fixture) (bool, any) {
				tags := f.mc.members["ada@example.com"].Tags
				return slices.Contains(tags, "Silver"), tags
			},
		},
		{
			name:     "a tag removed",
			instance: func(in *Instance) { in.Tags = TagSettings{Sync: true} },
			user:     func(u *User) { u.Tags = []string{"Gold", "Silver"} },
			edit:     func(_ *fixture, u *User) { u.Tags = []string{"Gold"} },
			synced: func(f *fixture) (bool, any) {
				tags := f.mc.members["ada@example.com"].Tags
				return !slices.Contains(tags, "Silver"), tags
			},
		},
		{
			name:     "an opt-out, sent to Mailchimp",
			instance: func(in *Instance) { in.Consent = &Consent{OptoutsToMailchimp: true} },
			user:     func(u *User) { u.Fields[FieldMarketingOptIn] = "true" },
			edit:     func(_ *fixture, u *User) { u.Fields[FieldMarketingOptIn] = "false" },
			synced: func(f *fixture) (bool, any) {
				status := f.mc.members["ada@example.com"].Status
				return status == "unsubscribed", status
			},
		},
		{
			name:     "a booking whose own webhook is late",
			instance: func(in *Instance) { in.Activity = ActivitySettings{Enabled: true} },
			user:     func(*User) {},
			edit: func(f *fixture, u *User) {
				f.ap.delegates = map[string][]Delegate{"1": {{ID: "1~10", UserID: "1", Course: "First Aid", Status: DelegateBooked, Start: t0.AddDate(0, 0, 7)}}}
				u.Fields[FieldLastBooking] = "2026-11-01T10:00:30"
				u.Fields[FieldLatestCourseDateBooked] = "2026-11-08T09:00:00"
			},
			synced: func(f *fixture) (bool, any) {
				m := f.mc.members["ada@example.com"]
				return slices.Contains(m.Tags, "Booked: First Aid") && m.MergeFields[TagNextCourse] == "First Aid", m
			},
		},
	}
	for _, tt := range tests {
		for _, claimed := range []bool{true, false} {
			name := tt.name + ", delivery names the User only"
			if claimed {
				name = tt.name + ", delivery claims the User"
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, tt.instance)
				first := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
				tt.user(first)
				if exec := f.apply(t, apChange("c0", first)); exec.Status != StatusSucceeded {
					t.Fatalf("first sync = %s %q", exec.Status, exec.Error)
				}

				// A marketer edits FNAME in Mailchimp: the service writes
				// the User, and the echo of that write is pending.
				f.editFNAMEInMailchimp(t, "Augusta", t0.Add(10*time.Second))
				written := f.ap.users["1"]
				written.Fields = maps.Clone(written.Fields)
				written.Tags = slices.Clone(written.Tags)
				echo := apChange("echo", &written)

				// Staff edit the User in accessplanit before the echo came.
				edited := f.ap.users["1"]
				edited.Fields = maps.Clone(edited.Fields)
				edited.Tags = slices.Clone(edited.Tags)
				tt.edit(f, &edited)
				edited.UpdatedAt, edited.UpdatedByID = t0.Add(20*time.Second), "ui-user"
				f.ap.users["1"] = edited
				f.engine.Now = func() time.Time { return t0.Add(30 * time.Second) }

				change := Change{ID: "edit", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, UserID: "1"}
				if claimed {
					change = apChange("edit", &edited)
				}
				exec := f.apply(t, change)
				if ok, holds := tt.synced(f); !ok || exec.Status != StatusSucceeded || !exec.Changed {
					t.Errorf("staff edit during a pending echo = %s changed=%v %q; Mailchimp holds %v, want the edit synced", exec.Status, exec.Changed, exec.Reason, holds)
				}

				// The real echo still is one: suppressed, without a read.
				apReads, mcWrites := f.ap.reads, f.mc.writes
				exec, err := f.engine.Apply(context.Background(), Delivery{Change: echo, Attempt: 1})
				if err != nil || exec.Status != StatusSuppressed {
					t.Errorf("Apply(real echo) = %s %v %q, want suppressed", exec.Status, err, exec.Reason)
				}
				if f.ap.reads != apReads || f.mc.writes != mcWrites {
					t.Errorf("real echo: %d accessplanit reads, %d Mailchimp writes; want none", f.ap.reads-apReads, f.mc.writes-mcWrites)
				}
			})
		}
	}
}

// A tag edit in accessplanit whose webhook is still on its way when the
// service writes the User from Mailchimp is not taken for the service's
// own: whichever of its webhook and the write's echo comes first, the tag
// reaches Mailchimp, and the User, last changed by the integration's own
// API user, is not thereby taken to hold nothing new.
func TestTagEditSurvivesAWriteFromMailchimp(t *testing.T) {
	for _, echoFirst := range []bool{false, true} {
		f := newFixture(t, func(in *Instance) {
			in.AccessplanitUserID = "api-owner"
			in.Tags = TagSettings{Sync: true}
		})
		f.apply(t, apChange("c0", tagged(t0, "Gold")))
		u := f.ap.users["1"]
		u.Fields = maps.Clone(u.Fields)
		u.Tags = []string{"Gold", "Silver"} // its webhook is delayed
		u.UpdatedAt = t0.Add(time.Second)
		f.ap.users["1"] = u
		staff := u
		staff.Fields = maps.Clone(u.Fields)
		f.editFNAMEInMailchimp(t, "Augusta", t0.Add(time.Minute))
		written := f.ap.users["1"]
		written.Fields = maps.Clone(written.Fields)
		deliveries := []Change{apChange("late", &staff), apChange("echo", &written)}
		if echoFirst {
			slices.Reverse(deliveries)
		}
		f.engine.Now = func() time.Time { return t0.Add(2 * time.Minute) }
		for _, c := range deliveries {
			if _, err := f.engine.Apply(context.Background(), Delivery{Change: c, Attempt: 1}); err != nil {
				t.Fatalf("Apply(%s) error = %v", c.ID, err)
			}
		}
		if tags := f.mc.members["ada@example.com"].Tags; !slices.Contains(tags, "Silver") {
			t.Errorf("echo first %v: Mailchimp tags = %q, want Silver synced", echoFirst, tags)
		}
	}
}

func TestUserFingerprint(t *testing.T) {
	values := Values{"EMAIL": "ada@example.com", "FNAME": "Ada", "LNAME": "Lovelace"}
	user := func(tags []string, optIn, lastBooking string) User {
		return User{ID: "1", Tags: tags, Fields: map[string]string{FieldMarketingOptIn: optIn, FieldLastBooking: lastBooking}}
	}
	all := Instance{Tags: TagSettings{Sync: true}, Consent: &Consent{}, Activity: ActivitySettings{Enabled: true}}
	base := user([]string{"Gold", "Silver"}, "true", "2026-11-01T10:00:00")
	tests := []struct {
		name string
		in   Instance
		u    User
		same bool // the same fingerprint as base's on the same instance
	}{
		{"the same User", all, user([]string{"Gold", "Silver"}, "true", "2026-11-01T10:00:00"), true},
		{"tags in another order and case", all, user([]string{"silver", " GOLD"}, "true", "2026-11-01T10:00:00"), true},
		{"a tag added", all, user([]string{"Gold", "Silver", "VIP"}, "true", "2026-11-01T10:00:00"), false},
		{"a tag removed", all, user([]string{"Gold"}, "true", "2026-11-01T10:00:00"), false},
		{"opted out", all, user([]string{"Gold", "Silver"}, "false", "2026-11-01T10:00:00"), false},
		{"a new booking", all, user([]string{"Gold", "Silver"}, "true", "2026-11-02T10:00:00"), false},
		{"tags not synced: a tag added is no difference", Instance{Consent: &Consent{}, Activity: ActivitySettings{Enabled: true}}, user([]string{"Gold", "Silver", "VIP"}, "true", "2026-11-01T10:00:00"), true},
		{"consent not synced: an opt-out is no difference", Instance{Tags: TagSettings{Sync: true}, Activity: ActivitySettings{Enabled: true}}, user([]string{"Gold", "Silver"}, "false", "2026-11-01T10:00:00"), true},
		{"activity off: a new booking is no difference", Instance{Tags: TagSettings{Sync: true}, Consent: &Consent{}}, user([]string{"Gold", "Silver"}, "true", "2026-11-02T10:00:00"), true},
	}
	for _, tt := range tests {
		if got := UserFingerprint(tt.in, values, tt.u) == UserFingerprint(tt.in, values, base); got != tt.same {
			t.Errorf("%s: UserFingerprint() equal to the base User's = %v, want %v", tt.name, got, tt.same)
		}
	}
	// An instance syncing none of them fingerprints the mapped values only,
	// as pending writes stored before were fingerprinted.
	if got, want := UserFingerprint(Instance{}, values, base), values.Fingerprint(); got != want {
		t.Errorf("UserFingerprint() on an instance syncing only fields = %s, want values.Fingerprint() %s", got, want)
	}
	if UserFingerprint(all, values, base) == values.Fingerprint() {
		t.Error("UserFingerprint() with tags, consent and activity synced = values.Fingerprint(), want them covered")
	}
}

// A User the integration's own API user changed last, holding the mapped
// values Mailchimp holds, is an echo only when its tags, MarketingOptIn and
// booking dates are also what the service last synced.
func TestDecideOwnersChangeHoldsNothingNew(t *testing.T) {
	in := testInstance()
	in.AccessplanitUserID = "api-owner"
	in.Tags = TagSettings{Sync: true}
	in.Consent = &Consent{OptoutsToMailchimp: true}
	in.Activity = ActivitySettings{Enabled: true}
	user := func(edit func(*User)) User {
		u := *apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
		u.UpdatedByID = "api-owner"
		u.Tags = []string{"Gold"}
		u.Fields[FieldMarketingOptIn] = "true"
		u.Fields[FieldLastBooking] = "2026-10-01T10:00:00"
		if edit != nil {
			edit(&u)
		}
		return u
	}
	values, _, err := MapToMailchimp(in.Mappings, user(nil))
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	contact := Contact{InstanceID: "inst1", Email: "ada@example.com", UserID: "1", Version: 3, MarketingOptIn: &yes,
		Mailchimp:    SideState{Values: values, Tags: []string{"Gold", "Booked: First Aid"}},
		Accessplanit: SideState{Values: values, Activity: &Activity{Tags: []string{"Booked: First Aid"}, Marker: BookingMarker(user(nil))}}}
	tests := []struct {
		name string
		user User
		want Action
	}{
		{"nothing new", user(nil), ActionSuppress},
		{"tags in another case", user(func(u *User) { u.Tags = []string{"GOLD"} }), ActionSuppress},
		{"a tag added", user(func(u *User) { u.Tags = []string{"Gold", "Silver"} }), ActionRecord},
		{"opted out", user(func(u *User) { u.Fields[FieldMarketingOptIn] = "false" }), ActionWrite},
		{"booked since", user(func(u *User) { u.Fields[FieldLastBooking] = "2026-11-01T10:00:00" }), ActionRecord},
	}
	for _, tt := range tests {
		p, err := DecideToMailchimp(ToMailchimpInput{Instance: in, User: tt.user, Found: true, Contact: contact, Now: t0.Add(time.Minute)})
		if err != nil || p.Action != tt.want {
			t.Errorf("%s: DecideToMailchimp() = %s %q, %v; want %s", tt.name, p.Action, p.Reason, err, tt.want)
		}
	}
}
