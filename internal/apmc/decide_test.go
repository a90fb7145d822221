package apmc

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestDecideToMailchimp(t *testing.T) {
	in := testInstance()
	in.AccessplanitUserID = "9000"
	user := *apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	synced := Contact{InstanceID: "inst1", Email: "ada@example.com", UserID: "1", Version: 3}
	synced.Mailchimp.Values, _, _ = MapToMailchimp(in.Mappings, user)
	synced.Accessplanit.Values = synced.Mailchimp.Values
	synced.Accessplanit.SourceTime = t0
	edited := user
	edited.Fields = map[string]string{"ID": "1", "Forenames": "Augusta", "Surname": "Lovelace", "Email": "ada@example.com"}
	edited.UpdatedAt = t0.Add(time.Minute)
	byService := edited
	byService.UpdatedByID = "9000"
	// The service wrote Mailchimp's values to the User: Mailchimp holds them.
	wroteFromMC := synced
	wroteFromMC.Mailchimp.Values, _, _ = MapToMailchimp(in.Mappings, edited)
	frozen := synced
	frozen.Accessplanit.SourceTime = t0.AddDate(10, 0, 0) // stored by an older version that believed a delivery
	future := edited
	future.UpdatedAt = t0.AddDate(10, 0, 0)
	echoed := synced
	echoed.Mailchimp.Values, _, _ = MapToMailchimp(in.Mappings, edited)
	echoed.Accessplanit.RecordWrite(echoed.Mailchimp.Values.Fingerprint(), t0)
	deleted := user
	deleted.Fields = map[string]string{"ID": "1", "Forenames": "Ada", "Surname": "Lovelace", "Email": "ada@example.com", "Status": "Deleted"}
	previous := synced
	previous.Email = "old@example.com"

	tests := []struct {
		name       string
		user       User
		found      bool
		contact    Contact
		previous   *Contact
		now        time.Time
		wantAction Action
		wantReason string
	}{
		{name: "new contact is written", user: user, found: true, contact: Contact{InstanceID: "inst1", Email: "ada@example.com"}, wantAction: ActionWrite},
		{name: "unchanged values are only recorded", user: user, found: true, contact: synced, wantAction: ActionRecord, wantReason: "no mapped field changed"},
		{name: "an edit is written", user: edited, found: true, contact: synced, now: t0.Add(2 * time.Minute), wantAction: ActionWrite},
		{name: "gone user is skipped", found: false, contact: synced, wantAction: ActionSkip, wantReason: "no longer exists"},
		{name: "deleted user is skipped", user: deleted, found: true, contact: synced, wantAction: ActionSkip, wantReason: "deletes never cascade"},
		{name: "echo of the service's write is suppressed", user: edited, found: true, contact: echoed, now: t0.Add(time.Minute), wantAction: ActionSuppress, wantReason: "echo"},
		{name: "a User last changed by the integration's API user, holding what Mailchimp holds, is suppressed", user: byService, found: true, contact: wroteFromMC, now: t0.Add(2 * time.Minute), wantAction: ActionSuppress, wantReason: "integration's own API user"},
		{name: "a User last changed by the integration's API user but holding more is written", user: byService, found: true, contact: synced, now: t0.Add(2 * time.Minute), wantAction: ActionWrite},
		{name: "an older read than one applied is stale", user: user, found: true, contact: func() Contact { c := synced; c.Accessplanit.SourceTime = t0.Add(time.Hour); return c }(), now: t0.Add(2 * time.Hour), wantAction: ActionSkip, wantReason: "stale"},
		{name: "a stored future time is clamped, so a real edit is not stale", user: edited, found: true, contact: frozen, now: t0.Add(2 * time.Minute), wantAction: ActionWrite},
		{name: "a future time read from the API is clamped to now", user: future, found: true, contact: synced, now: t0.Add(2 * time.Minute), wantAction: ActionWrite},
		{name: "an address Mailchimp moved away is not added back", user: edited, found: true, contact: func() Contact { c := synced; c.MovedTo = "new@example.com"; return c }(), now: t0.Add(2 * time.Minute), wantAction: ActionSkip, wantReason: "not added back"},
		{name: "an email change moves the member", user: user, found: true, contact: Contact{InstanceID: "inst1", Email: "ada@example.com", UserID: "1", Mailchimp: previous.Mailchimp}, previous: &previous, wantAction: ActionMove},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			p, err := DecideToMailchimp(ToMailchimpInput{Instance: in, User: tt.user, Found: tt.found, Contact: tt.contact, Previous: tt.previous, Now: now})
			if err != nil {
				t.Fatalf("DecideToMailchimp() error = %v", err)
			}
			if p.Action != tt.wantAction || !strings.Contains(p.Reason, tt.wantReason) {
				t.Errorf("DecideToMailchimp() = %s %q, want %s %q", p.Action, p.Reason, tt.wantAction, tt.wantReason)
			}
			if p.Seen.Accessplanit.SourceTime.After(now.Add(clockSkew)) {
				t.Errorf("DecideToMailchimp() stores source time %v, after now %v", p.Seen.Accessplanit.SourceTime, now)
			}
		})
	}
}

func TestDecideEmailChange(t *testing.T) {
	in := testInstance()
	linked := Contact{InstanceID: "inst1", Email: "old@example.com", UserID: "1", MemberContactID: "person-1", Version: 2}
	same := Member{Email: "new@example.com", ContactID: "person-1"}
	other := Member{Email: "new@example.com", ContactID: "person-2"}
	tests := []struct {
		name       string
		setting    EmailChanges
		oldFound   bool
		newFound   bool
		newMember  Member
		contact    Contact
		wantAction Action
		wantReason string
	}{
		{name: "confirmed change is followed when set to follow", setting: EmailChangesFollow, newFound: true, newMember: same, contact: linked, wantAction: ActionMove},
		{name: "by default the new address is a new User", newFound: true, newMember: same, contact: linked, wantAction: ActionWrite, wantReason: "new User"},
		{name: "old address still in the audience", oldFound: true, newFound: true, newMember: same, contact: linked, wantAction: ActionSkip, wantReason: "still holds the old address"},
		{name: "new address not in the audience", contact: linked, wantAction: ActionSkip, wantReason: "does not hold the new address"},
		{name: "another person at the new address", newFound: true, newMember: other, contact: linked, wantAction: ActionSkip, wantReason: "not the contact"},
		{name: "no synced contact at the old address", newFound: true, newMember: same, wantAction: ActionSkip, wantReason: "cannot be confirmed"},
		{name: "contact id never seen", newFound: true, newMember: same, contact: func() Contact { c := linked; c.MemberContactID = ""; return c }(), wantAction: ActionSkip, wantReason: "cannot be confirmed"},
		{name: "ignore setting", setting: EmailChangesIgnore, newFound: true, newMember: same, contact: linked, wantAction: ActionSkip, wantReason: "ignore"},
		{name: "new_user setting", setting: EmailChangesNewUser, newFound: true, newMember: same, contact: linked, wantAction: ActionWrite, wantReason: "new User"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in.MailchimpEmailChanges = tt.setting
			p, err := DecideEmailChange(EmailChangeInput{Instance: in, OldEmail: "old@example.com", NewEmail: "new@example.com",
				OldFound: tt.oldFound, NewFound: tt.newFound, NewMember: tt.newMember, Contact: tt.contact})
			if err != nil {
				t.Fatalf("DecideEmailChange() error = %v", err)
			}
			if p.Action != tt.wantAction || !strings.Contains(p.Reason, tt.wantReason) {
				t.Errorf("DecideEmailChange() = %s %q, want %s %q", p.Action, p.Reason, tt.wantAction, tt.wantReason)
			}
			if confirmedNotFollowed := p.Action != ActionMove && p.Seen.Email != ""; confirmedNotFollowed && p.Seen.MovedTo != "new@example.com" {
				t.Errorf("DecideEmailChange() keeps the old contact without MovedTo: %+v", p.Seen)
			}
		})
	}
}

func TestDecideToAccessplanitNeedsTheMember(t *testing.T) {
	in := testInstance()
	p, err := DecideToAccessplanit(ToAccessplanitInput{Instance: in, Email: "ghost@example.com", Now: t0})
	if err != nil || p.Action != ActionSkip || !strings.Contains(p.Reason, "does not hold") {
		t.Errorf("DecideToAccessplanit(no member) = %s %q %v, want skip: Mailchimp does not hold the address", p.Action, p.Reason, err)
	}
}

func TestDecideToAccessplanitRefusesWhatAccessplanitCannotHold(t *testing.T) {
	in := testInstance()
	member := Member{Email: "ada@example.com", Status: "subscribed", LastChanged: t0, MergeFields: Values{"FNAME": "Ada", "LNAME": strings.Repeat("L", 41)}}
	_, err := DecideToAccessplanit(ToAccessplanitInput{Instance: in, Member: member, Found: true, Email: "ada@example.com", Now: t0})
	if !IsPermanent(err) || !strings.Contains(err.Error(), "Surname is 41 characters, accessplanit holds at most 40") {
		t.Errorf("DecideToAccessplanit(surname of 41 characters) error = %v, want a permanent one naming the limit", err)
	}
}

// A forged delivery names a real User but carries other values: the engine
// writes what accessplanit holds, and reads a whole batch in one request.
func TestForgedDeliveryWritesWhatTheSourceHolds(t *testing.T) {
	f := newFixture(t, nil)
	f.ap.users["1"] = *apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	f.ap.users["2"] = *apUser("2", "Alan", "Turing", "alan@example.com", t0)
	forged := apChange("c1", apUser("1", "Mallory", "Evil", "mallory@example.com", t0.AddDate(10, 0, 0)))
	other := apChange("c2", apUser("2", "Alan", "Turing", "alan@example.com", t0))
	reads := f.engine.ReadBatch(context.Background(), []Change{forged, other})
	if f.ap.batchReads != 1 {
		t.Fatalf("batch reads = %d, want 1 for two changes", f.ap.batchReads)
	}
	before := f.ap.reads
	for _, c := range []Change{forged, other} {
		exec, err := f.engine.Apply(context.Background(), Delivery{Change: c, Attempt: 1, Reads: reads})
		if err != nil || exec.Status != StatusSucceeded {
			t.Fatalf("Apply(%s) = %s %v %q", c.ID, exec.Status, err, exec.Error)
		}
		if got := stepOutput(exec, "read_user")["accessplanit_requests_per_change"]; got != 0.5 {
			t.Errorf("read_user step output requests per change = %v, want 0.5", got)
		}
	}
	if f.ap.reads != before {
		t.Errorf("accessplanit reads while applying = %d, want 0 (the batch read served both)", f.ap.reads-before)
	}
	if _, ok := f.mc.members["mallory@example.com"]; ok {
		t.Error("the forged email reached Mailchimp")
	}
	if got := f.mc.members["ada@example.com"].MergeFields["FNAME"]; got != "Ada" {
		t.Errorf("FNAME = %q, want Ada (what accessplanit holds)", got)
	}
	// The far-future time froze nothing: a real edit still syncs.
	u := *apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(time.Second))
	f.ap.users["1"] = u
	f.engine.Now = func() time.Time { return t0.Add(time.Minute) }
	if exec := f.apply(t, Change{ID: "c3", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, UserID: "1"}); exec.Status != StatusSucceeded || !exec.Changed {
		t.Errorf("real edit after a forged delivery = %s changed=%v %q", exec.Status, exec.Changed, exec.Reason)
	}
}

// A User with no email can never be a contact: it fails for good at once,
// before the contact state (keyed by email) is looked up, so no store
// refusal of an empty key turns it into retries.
func TestUserWithoutEmailFailsBeforeLoadingItsContact(t *testing.T) {
	f := newFixture(t, nil)
	exec := f.apply(t, apChange("c1", apUser("1", "Ada", "Lovelace", "", t0)))
	if exec.Status != StatusFailed || exec.Retryable || !strings.Contains(exec.Error, "EMAIL") {
		t.Fatalf("Apply() = %s retryable=%v %q, want failed for good naming EMAIL", exec.Status, exec.Retryable, exec.Error)
	}
	for _, s := range exec.Steps {
		if s.Name == "load_contact" {
			t.Errorf("steps include load_contact; want none for a User without email")
		}
	}
}

func stepOutput(e Execution, name string) map[string]any {
	for _, s := range e.Steps {
		if s.Name == name {
			return s.Output
		}
	}
	return nil
}

// A delivery claiming to be the echo of a pending write is suppressed
// without reading its source; a forged claim only uses the pending write up,
// and the real echo after it is read back and writes nothing.
func TestClaimedEchoIsSuppressedWithoutARead(t *testing.T) {
	f := newFixture(t, nil)
	f.mc.members["ada@example.com"] = Member{Email: "ada@example.com", Status: "subscribed", MergeFields: Values{"FNAME": "Ada", "LNAME": "Lovelace"}}
	// The service writes the User to Mailchimp: its echo is pending.
	f.apply(t, apChange("c0", apUser("1", "Augusta", "Lovelace", "ada@example.com", t0)))
	echo := Change{ID: "e1", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com",
		Merges: f.mc.members["ada@example.com"].MergeFields}
	mcReads, apWrites := f.mc.reads, f.ap.writes
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: echo, Attempt: 1})
	if err != nil || exec.Status != StatusSuppressed {
		t.Fatalf("Apply(echo) = %s %v %q, want suppressed", exec.Status, err, exec.Reason)
	}
	if f.mc.reads != mcReads {
		t.Errorf("Mailchimp reads for a claimed echo = %d, want 0", f.mc.reads-mcReads)
	}
	// The same claim again (a forgery, or a late duplicate) finds no pending
	// write: the member is read back, and nothing is written.
	again := echo
	again.ID = "e2"
	exec, err = f.engine.Apply(context.Background(), Delivery{Change: again, Attempt: 1})
	if err != nil || exec.Status == StatusFailed || exec.Changed {
		t.Fatalf("Apply(repeated claim) = %s changed=%v %v %q, want nothing written", exec.Status, exec.Changed, err, exec.Reason)
	}
	if f.mc.reads == mcReads || f.ap.writes != apWrites {
		t.Errorf("repeated claim: Mailchimp reads %d (want a read), accessplanit writes %d (want 0)", f.mc.reads-mcReads, f.ap.writes-apWrites)
	}
}

// A forged claim to be an echo uses up the pending write it names; the real
// echo after it is read back and, holding only what accessplanit is known
// to hold, writes nothing, so an edit made meanwhile in accessplanit
// survives and reaches Mailchimp.
func TestForgedEchoClaimLosesNoEdit(t *testing.T) {
	f := newFixture(t, nil)
	f.apply(t, apChange("c0", apUser("1", "Augusta", "Lovelace", "ada@example.com", t0)))
	written := f.mc.members["ada@example.com"].MergeFields
	claim := func(id string) Change {
		return Change{ID: id, InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com", Merges: written}
	}
	if exec, err := f.engine.Apply(context.Background(), Delivery{Change: claim("forged"), Attempt: 1}); err != nil || exec.Status != StatusSuppressed {
		t.Fatalf("Apply(forged claim) = %s %v, want suppressed", exec.Status, err)
	}
	// Meanwhile someone edits the User in accessplanit.
	u := f.ap.users["1"]
	u.Fields["Forenames"] = "Beatrice"
	u.UpdatedAt = t0.Add(time.Second)
	u.UpdatedByID = "ui-user"
	f.ap.users["1"] = u
	// The real echo of the service's write arrives.
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: claim("real-echo"), Attempt: 1})
	if err != nil || exec.Status == StatusFailed || exec.Changed {
		t.Fatalf("Apply(real echo) = %s changed=%v %v %q, want nothing written", exec.Status, exec.Changed, err, exec.Reason)
	}
	if got := f.ap.users["1"].Fields["Forenames"]; got != "Beatrice" {
		t.Fatalf("accessplanit Forenames after the real echo = %q, want Beatrice (the edit survives)", got)
	}
	f.engine.Now = func() time.Time { return t0.Add(time.Minute) }
	f.apply(t, Change{ID: "edit", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, UserID: "1"})
	if got := f.mc.members["ada@example.com"].MergeFields["FNAME"]; got != "Beatrice" {
		t.Errorf("Mailchimp FNAME = %q, want Beatrice", got)
	}
}

// A Mailchimp edit of one field writes only that field to accessplanit, so a
// concurrent accessplanit edit of another field is not reverted.
func TestMailchimpEditWritesOnlyWhatChanged(t *testing.T) {
	f := newFixture(t, nil)
	f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
	// accessplanit: Surname edited (its webhook not yet applied);
	// Mailchimp: FNAME edited.
	u := f.ap.users["1"]
	u.Fields["Surname"] = "Byron"
	f.ap.users["1"] = u
	m := f.mc.members["ada@example.com"]
	m.MergeFields["FNAME"] = "Augusta"
	f.mc.members["ada@example.com"] = m
	f.engine.Now = func() time.Time { return t0.Add(time.Minute) }
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: Change{ID: "mc", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com"}, Attempt: 1})
	if err != nil || exec.Status != StatusSucceeded {
		t.Fatalf("Apply(Mailchimp edit) = %s %v %q", exec.Status, err, exec.Error)
	}
	if n := stepOutput(exec, "find_user")["accessplanit_requests"]; n != 1 {
		t.Errorf("find_user step accessplanit_requests = %v, want 1 (the linked User read)", n)
	}
	if n := stepOutput(exec, "update_user")["accessplanit_requests"]; n != 1 {
		t.Errorf("update_user step accessplanit_requests = %v, want 1", n)
	}
	got := f.ap.users["1"].Fields
	if got["Forenames"] != "Augusta" || got["Surname"] != "Byron" {
		t.Errorf("accessplanit = %s %s, want Augusta Byron (FNAME written, the Surname edit kept)", got["Forenames"], got["Surname"])
	}
}

// An accessplanit edit whose webhook is still on its way when the service
// writes another field from Mailchimp is not taken for the service's own
// write: its webhook, applied late, still carries it to Mailchimp.
func TestAccessplanitEditSurvivesAWriteFromMailchimp(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.AccessplanitUserID = "api-owner" })
	f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
	u := f.ap.users["1"]
	u.Fields["Surname"] = "King" // its webhook is delayed
	u.UpdatedAt = t0.Add(time.Second)
	f.ap.users["1"] = u
	m := f.mc.members["ada@example.com"]
	m.MergeFields["FNAME"] = "Augusta"
	f.mc.members["ada@example.com"] = m
	f.engine.Now = func() time.Time { return t0.Add(time.Minute) }
	if exec, err := f.engine.Apply(context.Background(), Delivery{Change: Change{ID: "mc", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com"}, Attempt: 1}); err != nil || exec.Status != StatusSucceeded {
		t.Fatalf("Apply(Mailchimp edit) = %s %v %q", exec.Status, err, exec.Error)
	}
	f.engine.Now = func() time.Time { return t0.Add(2 * time.Minute) }
	exec := f.apply(t, Change{ID: "late", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, UserID: "1"})
	if exec.Status != StatusSucceeded || !exec.Changed {
		t.Errorf("late accessplanit webhook = %s changed=%v %q, want the Surname written", exec.Status, exec.Changed, exec.Reason)
	}
	if got := f.mc.members["ada@example.com"].MergeFields; got["LNAME"] != "King" || got["FNAME"] != "Augusta" {
		t.Errorf("Mailchimp = %v, want FNAME Augusta and LNAME King", got)
	}
}
