package apmc

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// A User's email changes to an address that is already a (different)
// Mailchimp member carrying a marketer's tag of the same name as one the
// service manages: the service must never later take that tag off.
func TestMoveOntoAnotherMemberKeepsItsMarketersTag(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.Tags = TagSettings{Sync: true} })
	f.apply(t, apChange("c1", tagged(t0, "VIP")))
	// Another member, already in the audience, tagged VIP by a marketer.
	f.mc.members["ada2@example.com"] = Member{Email: "ada2@example.com", Status: "subscribed", MergeFields: Values{}}
	f.mc.tagInUI("ada2@example.com", "VIP")

	u := tagged(t0.Add(time.Minute), "VIP")
	u.Fields["Email"] = "ada2@example.com"
	f.apply(t, apChange("c2", u))
	if got := f.mc.members["ada2@example.com"].Tags; !slices.Equal(got, []string{"VIP"}) {
		t.Fatalf("after move: ada2 tags %q", got)
	}
	u = tagged(t0.Add(2 * time.Minute))
	u.Fields["Email"] = "ada2@example.com"
	f.apply(t, apChange("c3", u))
	if got := f.mc.members["ada2@example.com"].Tags; !slices.Equal(got, []string{"VIP"}) {
		t.Errorf("the marketer's VIP on the pre-existing member ada2 was taken off: tags now %q", got)
	}
}

// consent not_opted_in=skip: a User who books before opting in is not added;
// once they opt in, the member is created. Its NEXTCOURSE must be written.
func TestActivityOfAUserNotAddedIsWrittenOnceAdded(t *testing.T) {
	f := newFixture(t, func(in *Instance) {
		in.Activity = ActivitySettings{Enabled: true}
		in.Consent = &Consent{NotOptedIn: NotOptedInSkip}
	})
	f.ap.delegates = map[string][]Delegate{"1": {{ID: "1~10", UserID: "1", Course: "First Aid", Status: DelegateBooked, Start: t0.AddDate(0, 0, 7)}}}
	u := tagged(t0)
	u.Fields[FieldMarketingOptIn] = "false"
	f.apply(t, apChange("c1", u))
	f.ap.users["1"] = *u
	exec := f.apply(t, Change{ID: "b1", InstanceID: "inst1", Source: SideAccessplanit, Event: EventBooking, ReceivedAt: t0, UserID: "1", DelegateID: "1~10"})
	if _, ok := f.mc.members["ada@example.com"]; ok {
		t.Fatalf("not opted in, skip: member created (%s)", exec.Status)
	}
	u = tagged(t0.Add(time.Minute))
	u.Fields[FieldMarketingOptIn] = "true"
	exec = f.apply(t, apChange("c2", u))
	m, ok := f.mc.members["ada@example.com"]
	if !ok {
		t.Fatalf("opted in: no member (%s %s %s)", exec.Status, exec.Reason, exec.Error)
	}
	t.Logf("member tags %q, merge fields %v", m.Tags, m.MergeFields)
	if m.MergeFields[TagNextCourse] != "First Aid" {
		t.Errorf("member created without NEXTCOURSE: merge fields %v (tags %q)", m.MergeFields, m.Tags)
	}
}

// A person withdraws a GDPR marketing permission in Mailchimp; the next,
// unrelated edit of their User in accessplanit grants it again.
func TestPermissionWithdrawnInMailchimpIsNotGrantedAgain(t *testing.T) {
	f := newFixture(t, func(in *Instance) {
		in.Mappings = append(in.Mappings, FieldMapping{MergeTag: PermissionPrefix + "perm1", Field: "CF_EmailConsent", Direction: DirectionToMailchimp})
	})
	u := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	u.Fields["CF_EmailConsent"] = "true"
	f.apply(t, apChange("c1", u))
	m := f.mc.members["ada@example.com"]
	m.MarketingPermissions = map[string]bool{"perm1": false} // withdrawn by the person
	m.LastChanged = t0.Add(time.Minute)
	f.mc.members["ada@example.com"] = m
	prof := Change{ID: "p1", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0.Add(time.Minute), OccurredAt: t0.Add(time.Minute), Email: "ada@example.com", Merges: m.MergeFields.WithoutEmail()}
	exec := f.apply(t, prof)
	t.Logf("profile: %s %s", exec.Status, exec.Reason)

	u = apUser("1", "Ada", "Lovelace", "ada@example.com", t0.Add(2*time.Minute))
	u.Fields["CF_EmailConsent"] = "true"
	u.Fields["Phone"] = "09999 999999"
	exec = f.apply(t, apChange("c2", u))
	out := stepOutput(exec, "upsert_member")
	t.Logf("upsert_member output: %v", out)
	if slices.Contains(out["changed_fields"].([]string), PermissionPrefix+"perm1") {
		t.Errorf("a phone edit sent marketing permission perm1 enabled=true again, after the person withdrew it in Mailchimp")
	}

	// Consent given again in accessplanit (withdrawn there, then given):
	// that grants it.
	var last Execution
	for i, v := range []string{"false", "true"} {
		u = apUser("1", "Ada", "Lovelace", "ada@example.com", t0.Add(time.Duration(3+i)*time.Minute))
		u.Fields["CF_EmailConsent"] = v
		u.Fields["Phone"] = "09999 999999"
		last = f.apply(t, apChange(fmt.Sprintf("c%d", 3+i), u))
	}
	if changed, _ := stepOutput(last, "upsert_member")["changed_fields"].([]string); !slices.Contains(changed, PermissionPrefix+"perm1") {
		t.Errorf("the User gave perm1 again in accessplanit: write changed %v, want the permission sent", changed)
	}
}

// NEXTCOURSE is "the earliest future booked course": once that course has
// started, the next sync of the contact should move on to the next one.
func TestNextCourseMovesOnOnceItStarts(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.Activity = ActivitySettings{Enabled: true} })
	f.ap.delegates = map[string][]Delegate{"1": {
		{ID: "1~10", UserID: "1", Course: "First Aid", Status: DelegateBooked, Start: t0.AddDate(0, 0, 1)},
		{ID: "1~11", UserID: "1", Course: "Fire Safety", Status: DelegateBooked, Start: t0.AddDate(0, 1, 0)},
	}}
	u := tagged(t0)
	u.Fields[FieldLatestCourseDateBooked] = "2026-12-01T00:00:00"
	f.apply(t, apChange("c1", u))
	if got := f.mc.members["ada@example.com"].MergeFields[TagNextCourse]; got != "First Aid" {
		t.Fatalf("NEXTCOURSE = %q", got)
	}
	later := t0.AddDate(0, 0, 3) // First Aid started two days ago
	f.engine.Now = func() time.Time { return later }
	u = tagged(later)
	u.Fields[FieldLatestCourseDateBooked] = "2026-12-01T00:00:00"
	u.Fields["Phone"] = "09999 999999"
	f.apply(t, apChange("c2", u))
	if got := f.mc.members["ada@example.com"].MergeFields[TagNextCourse]; got != "Fire Safety" {
		t.Errorf("three days later, after a User edit: NEXTCOURSE = %q (started %s), want Fire Safety", got, t0.AddDate(0, 0, 1).Format("2006-01-02"))
	}
}
