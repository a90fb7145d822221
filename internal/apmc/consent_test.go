package apmc

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestNewMemberStatus(t *testing.T) {
	tests := []struct {
		name       string
		consent    *Consent
		optedIn    bool
		wantStatus string
		wantAdd    bool
	}{
		{"no consent settings: the instance's status", nil, false, "unsubscribed", true},
		{"no consent settings, opted in: still the instance's status", nil, true, "unsubscribed", true},
		{"opted in", &Consent{}, true, "subscribed", true},
		{"opted in, double opt-in", &Consent{DoubleOptIn: true}, true, "pending", true},
		{"not opted in: transactional by default", &Consent{}, false, "transactional", true},
		{"not opted in, transactional", &Consent{NotOptedIn: NotOptedInTransactional}, false, "transactional", true},
		{"not opted in, not added", &Consent{NotOptedIn: NotOptedInSkip}, false, "", false},
		{"opted in, skip setting does not matter", &Consent{NotOptedIn: NotOptedInSkip, DoubleOptIn: true}, true, "pending", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, add := NewMemberStatus(tt.consent, "unsubscribed", tt.optedIn)
			if status != tt.wantStatus || add != tt.wantAdd {
				t.Errorf("NewMemberStatus(%+v, opted in %v) = %q, %v; want %q, %v", tt.consent, tt.optedIn, status, add, tt.wantStatus, tt.wantAdd)
			}
		})
	}
}

func TestOptOutToMailchimp(t *testing.T) {
	yes, no := true, false
	on := &Consent{OptoutsToMailchimp: true}
	tests := []struct {
		name    string
		consent *Consent
		before  *bool
		now     bool
		want    bool
	}{
		{"opt-out with the setting on", on, &yes, false, true},
		{"opt-out with the setting off changes nothing", &Consent{}, &yes, false, false},
		{"opt-out without consent settings", nil, &yes, false, false},
		{"opt-in never subscribes", on, &no, true, false},
		{"still opted out", on, &no, false, false},
		{"still opted in", on, &yes, true, false},
		{"first seen not opted in: not a change", on, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OptOutToMailchimp(tt.consent, tt.before, tt.now); got != tt.want {
				t.Errorf("OptOutToMailchimp(%+v, %v, %v) = %v, want %v", tt.consent, tt.before, tt.now, got, tt.want)
			}
		})
	}
}

func TestOptOutToAccessplanit(t *testing.T) {
	on := &Consent{OptoutsToAccessplanit: true}
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	unsub, before, after := now.Add(-time.Hour), now.Add(-2*time.Hour), now.Add(-30*time.Minute)
	tests := []struct {
		name        string
		consent     *Consent
		status      string
		optedIn     bool
		unsubAt     time.Time
		userChanged time.Time
		want        bool
		applied     string // the contact state's Mailchimp status
	}{
		{"unsubscribed member, opted-in User", on, "unsubscribed", true, unsub, before, true, ""},
		{"setting off", &Consent{}, "unsubscribed", true, unsub, before, false, ""},
		{"no consent settings", nil, "unsubscribed", true, unsub, before, false, ""},
		{"User already opted out", on, "unsubscribed", false, unsub, before, false, ""},
		{"member still subscribed (the delivery lied)", on, "subscribed", true, unsub, before, false, ""},
		{"cleaned is a bounce, not an opt-out", on, "cleaned", true, unsub, before, false, ""},
		{"User changed after the unsubscribe (opted in again)", on, "unsubscribed", true, unsub, after, false, ""},
		{"User changed in the same instant", on, "unsubscribed", true, unsub, unsub, true, ""},
		{"User changed within the unsubscribe's second (last_changed has whole seconds)", on, "unsubscribed", true, unsub, unsub.Add(400 * time.Millisecond), true, ""},
		{"User's change time unknown", on, "unsubscribed", true, unsub, time.Time{}, true, ""},
		{"User's change time in the future is unknown", on, "unsubscribed", true, unsub, now.Add(time.Hour), true, ""},
		{"member's change time unknown", on, "unsubscribed", true, time.Time{}, after, true, ""},
		{"an unsubscribe the state holds applied already (opted in again since)", on, "unsubscribed", true, unsub, before, false, "unsubscribed"},
		{"the state holds the member subscribed", on, "unsubscribed", true, unsub, before, true, "subscribed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Member{Status: tt.status, LastChanged: tt.unsubAt}
			u := User{ID: "1", UpdatedAt: tt.userChanged, Fields: map[string]string{FieldMarketingOptIn: fmt.Sprint(tt.optedIn)}}
			if got := OptOutToAccessplanit(tt.consent, m, u, tt.applied, now); got != tt.want {
				t.Errorf("OptOutToAccessplanit(%+v, member %s at %v, User opted in %v changed %v) = %v, want %v", tt.consent, tt.status, tt.unsubAt, tt.optedIn, tt.userChanged, got, tt.want)
			}
		})
	}
}

func TestMarketingPermissions(t *testing.T) {
	ms := append(DefaultMappings(), FieldMapping{MergeTag: PermissionPrefix + "perm1", Field: "CF_EmailConsent"})
	tests := []struct {
		flag string
		want string
	}{
		{"true", "true"}, {"Yes", "true"}, {"1", "true"}, {"false", "false"}, {"", "false"}, {"no", "false"},
	}
	for _, tt := range tests {
		u := User{ID: "1", Fields: map[string]string{"Email": "a@example.com", "Forenames": "A", "Surname": "B", "CF_EmailConsent": tt.flag}}
		values, _, err := MapToMailchimp(ms, u)
		if err != nil {
			t.Fatalf("MapToMailchimp(flag %q) error = %v", tt.flag, err)
		}
		if got := values[PermissionPrefix+"perm1"]; got != tt.want {
			t.Errorf("MapToMailchimp(flag %q) permission = %q, want %q", tt.flag, got, tt.want)
		}
		m := MemberToWrite(ms, "a@example.com", values)
		if m.MarketingPermissions["perm1"] != (tt.want == "true") || len(m.MarketingPermissions) != 1 {
			t.Errorf("MemberToWrite(flag %q) permissions = %v", tt.flag, m.MarketingPermissions)
		}
		if _, ok := m.MergeFields[PermissionPrefix+"perm1"]; ok {
			t.Errorf("MemberToWrite(flag %q) sent the permission as a merge field: %v", tt.flag, m.MergeFields)
		}
		back := TargetValues(ms, Member{MarketingPermissions: map[string]bool{"perm1": tt.want == "true", "other": true}})
		if back[PermissionPrefix+"perm1"] != tt.want || len(back) != 1 {
			t.Errorf("TargetValues = %v, want only %s = %s", back, PermissionPrefix+"perm1", tt.want)
		}
	}
}

// consentUser is a User of the consent tests, opted in or not.
func consentUser(optedIn string) *User {
	u := apUser("1", "Ada", "Lovelace", "ada@example.com", t0)
	u.Fields[FieldMarketingOptIn] = optedIn
	return u
}

func TestEngineOptOuts(t *testing.T) {
	for _, tt := range []struct {
		name        string
		consent     Consent
		wantStatus  string
		wantWrites  int
		wantExecEnd Status
	}{
		{"opt-outs to Mailchimp off: nothing written", Consent{}, "subscribed", 0, StatusSucceeded},
		{"opt-outs to Mailchimp on: one unsubscribe", Consent{OptoutsToMailchimp: true}, "unsubscribed", 1, StatusSucceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			consent := tt.consent
			f := newFixture(t, func(in *Instance) { in.Consent = &consent })
			f.apply(t, apChange("c1", consentUser("true")))
			if got := f.mc.members["ada@example.com"].Status; got != "subscribed" {
				t.Fatalf("opted-in User's new member status = %q, want subscribed", got)
			}
			before := f.mc.writes
			exec := f.apply(t, apChange("c2", consentUser("false")))
			if exec.Status != tt.wantExecEnd {
				t.Errorf("opt-out execution = %s (%s %s), want %s", exec.Status, exec.Reason, exec.Error, tt.wantExecEnd)
			}
			if got := f.mc.writes - before; got != tt.wantWrites {
				t.Errorf("Mailchimp writes for the opt-out = %d, want %d", got, tt.wantWrites)
			}
			if got := f.mc.members["ada@example.com"].Status; got != tt.wantStatus {
				t.Errorf("member status after the opt-out = %q, want %q", got, tt.wantStatus)
			}
			// Opting in again never subscribes anyone.
			f.apply(t, apChange("c3", consentUser("true")))
			if got := f.mc.members["ada@example.com"].Status; got != tt.wantStatus {
				t.Errorf("member status after opting in again = %q, want %q (never re-subscribed)", got, tt.wantStatus)
			}
		})
	}
}

// TestOptOutWithOtherChanges covers an opt-out made in accessplanit in the
// same edit as other changes (optouts_to_mailchimp on): it reaches the
// member the User's address names after the edit, whatever else changed.
func TestOptOutWithOtherChanges(t *testing.T) {
	at := t0.Add(time.Minute)
	for _, tt := range []struct {
		name string
		// setup runs once the opted-in User is synced.
		setup      func(f *fixture)
		edit       func(u *User)
		email      string // the member that should end unsubscribed
		wantStatus string
		wantExec   Status
	}{
		{
			name:       "with an email change: the moved member",
			edit:       func(u *User) { u.Fields["Email"] = "ada@new.example.com" },
			email:      "ada@new.example.com",
			wantStatus: "unsubscribed",
			wantExec:   StatusSucceeded,
		},
		{
			name: "with an email change onto another member: that member",
			setup: func(f *fixture) {
				f.mc.members["ada@other.example.com"] = Member{Email: "ada@other.example.com", Status: "subscribed", MergeFields: Values{}}
			},
			edit:       func(u *User) { u.Fields["Email"] = "ada@other.example.com" },
			email:      "ada@other.example.com",
			wantStatus: "unsubscribed",
			wantExec:   StatusSucceeded,
		},
		{
			name:       "with a field change to an archived member: unsubscribed, as when only the consent changes",
			setup:      func(f *fixture) { f.setStatus("ada@example.com", "archived") },
			edit:       func(u *User) { u.Fields["Phone"] = "0999" },
			email:      "ada@example.com",
			wantStatus: "unsubscribed",
			wantExec:   StatusSucceeded,
		},
		{
			name:       "with a field change to a cleaned member: it stays cleaned (it receives nothing)",
			setup:      func(f *fixture) { f.setStatus("ada@example.com", "cleaned") },
			edit:       func(u *User) { u.Fields["Phone"] = "0999" },
			email:      "ada@example.com",
			wantStatus: "cleaned",
			wantExec:   StatusBlocked,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(in *Instance) { in.Consent = &Consent{OptoutsToMailchimp: true} })
			f.apply(t, apChange("c1", consentUser("true")))
			if tt.setup != nil {
				tt.setup(f)
			}
			u := apUser("1", "Ada", "Lovelace", "ada@example.com", at)
			u.Fields[FieldMarketingOptIn] = "false"
			tt.edit(u)
			exec := f.apply(t, apChange("c2", u))
			if exec.Status != tt.wantExec {
				t.Errorf("execution %s (%s %s), want %s", exec.Status, exec.Reason, exec.Error, tt.wantExec)
			}
			if got := f.mc.members[tt.email].Status; got != tt.wantStatus {
				t.Errorf("member %s is %q, want %q", tt.email, got, tt.wantStatus)
			}
		})
	}
}

// setStatus sets the member's status, as a marketer (archive) or Mailchimp
// (clean) does.
func (f *fixture) setStatus(email, status string) {
	m := f.mc.members[email]
	m.Status = status
	f.mc.members[email] = m
}

// TestUnsubscribeAfterTheServicesOwnWrite covers optouts_to_accessplanit
// when the service itself wrote the User after the member unsubscribed (a
// profile change made just before the unsubscribe, applied first): its own
// write opts nobody in, so the unsubscribe still clears MarketingOptIn,
// unless someone else changed the User after the unsubscribe.
func TestUnsubscribeAfterTheServicesOwnWrite(t *testing.T) {
	mcChange := func(id string, ev Event) Change {
		return Change{ID: id, InstanceID: "inst1", Source: SideMailchimp, Event: ev, ReceivedAt: t0, Email: "ada@example.com"}
	}
	for _, tt := range []struct {
		name  string
		owner string
		// editedAfter makes someone edit the User in accessplanit after
		// the unsubscribe, before the service's own write.
		editedAfter bool
		want        string
	}{
		{name: "the service's own write last: cleared", owner: "api-owner", want: "false"},
		{name: "someone edited the User after the unsubscribe: kept", owner: "api-owner", editedAfter: true, want: "true"},
		{name: "the integration's API user unknown: any later change holds it back", want: "true"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(in *Instance) {
				in.Consent = &Consent{OptoutsToAccessplanit: true}
				in.AccessplanitUserID = tt.owner
			})
			f.apply(t, apChange("c1", consentUser("true")))
			if tt.editedAfter {
				u := consentUser("true")
				u.UpdatedAt = t0.Add(2 * time.Minute)
				u.Fields["Phone"] = "0999"
				f.apply(t, apChange("c2", u))
			}
			// The person changes their name in Mailchimp, then unsubscribes
			// (before the edit, if any).
			m := f.mc.members["ada@example.com"]
			m.MergeFields["FNAME"] = "Adah"
			m.Status = "unsubscribed"
			m.LastChanged = t0.Add(time.Minute)
			f.mc.members["ada@example.com"] = m
			// The platform stamps its own time on the service's write.
			f.ap.onWrite = func(u User) {
				u.UpdatedAt = t0.Add(3 * time.Minute)
				f.ap.users[u.ID] = u
			}
			f.engine.Now = func() time.Time { return t0.Add(5 * time.Minute) }
			if exec := f.apply(t, mcChange("p1", EventProfile)); exec.Status != StatusSucceeded {
				t.Fatalf("profile change: %s (%s %s)", exec.Status, exec.Reason, exec.Error)
			}
			if got := f.ap.users["1"].Fields["Forenames"]; got != "Adah" {
				t.Fatalf("profile change not written to accessplanit: Forenames %q", got)
			}
			exec := f.apply(t, mcChange("u1", EventUnsubscribe))
			if got := f.ap.users["1"].Fields[FieldMarketingOptIn]; got != tt.want {
				t.Errorf("MarketingOptIn = %q after the unsubscribe (%s: %s), want %q", got, exec.Status, exec.Reason, tt.want)
			}
		})
	}
}

func TestEngineNotOptedInSkip(t *testing.T) {
	f := newFixture(t, func(in *Instance) { in.Consent = &Consent{NotOptedIn: NotOptedInSkip} })
	exec := f.apply(t, apChange("c1", consentUser("false")))
	if exec.Status != StatusSkipped || len(f.mc.members) != 0 {
		t.Errorf("not opted-in User: execution %s (%s), members %v; want skipped and no member", exec.Status, exec.Reason, f.mc.members)
	}
	// A member that exists is still updated, its status kept.
	f.mc.members["ada@example.com"] = Member{Email: "ada@example.com", Status: "subscribed", MergeFields: Values{"FNAME": "Old"}}
	exec = f.apply(t, apChange("c2", consentUser("false")))
	if exec.Status != StatusSucceeded || f.mc.members["ada@example.com"].MergeFields["FNAME"] != "Ada" || f.mc.members["ada@example.com"].Status != "subscribed" {
		t.Errorf("existing member: execution %s (%s %s), member %+v; want it updated, status kept", exec.Status, exec.Reason, exec.Error, f.mc.members["ada@example.com"])
	}
}

// blockedError is an adapter's refusal of a contact Mailchimp will not take.
type blockedError struct{}

func (blockedError) Error() string   { return "mailchimp: 400 Member In Compliance State" }
func (blockedError) Permanent() bool { return true }
func (blockedError) Blocked() string {
	return "Member In Compliance State: ada@example.com is in compliance state"
}

func TestBlockedIsNotFailedNorRetried(t *testing.T) {
	f := newFixture(t, nil)
	f.mc.fail = []error{blockedError{}}
	c := apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0))
	f.platformHolds(c)
	exec, err := f.engine.Apply(context.Background(), Delivery{Change: c, Attempt: 1})
	if err != nil {
		t.Errorf("Apply() error = %v, want nil: a blocked contact is not retried", err)
	}
	if exec.Status != StatusBlocked || exec.Retryable || exec.Reason != (blockedError{}).Blocked() {
		t.Errorf("execution = status %s retryable %v reason %q; want blocked with Mailchimp's reason", exec.Status, exec.Retryable, exec.Reason)
	}
}

func TestRememberOptIn(t *testing.T) {
	yes, no := true, false
	optOuts := &Consent{OptoutsToMailchimp: true}
	for _, tt := range []struct {
		name    string
		consent *Consent
		before  *bool
		user    string
		want    *bool
	}{
		{"no consent: nothing remembered", nil, nil, "true", nil},
		{"never seen, opted in", optOuts, nil, "true", &yes},
		{"never seen, not opted in", &Consent{}, nil, "false", &no},
		{"opted in again", optOuts, &no, "true", &yes},
		{"an opt-out not yet sent is kept", optOuts, &yes, "false", &yes},
		{"without optouts_to_mailchimp an opt-out is remembered", &Consent{}, &yes, "false", &no},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := Instance{Consent: tt.consent}
			u := User{ID: "1", Fields: map[string]string{FieldMarketingOptIn: tt.user}}
			got := RememberOptIn(in, Contact{MarketingOptIn: tt.before}, u).MarketingOptIn
			if !sameOptIn(got, tt.want) {
				t.Errorf("RememberOptIn(before %v, user %s) = %v, want %v", ptr(tt.before), tt.user, ptr(got), ptr(tt.want))
			}
		})
	}
}

func ptr(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func TestWrittenMemberBlocked(t *testing.T) {
	for status, want := range map[string]bool{"subscribed": false, "unsubscribed": false, "pending": false, "transactional": false, "cleaned": true, "archived": true} {
		reason, blocked := WrittenMemberBlocked(status)
		if blocked != want || blocked != (reason != "") {
			t.Errorf("WrittenMemberBlocked(%q) = %q, %v; want blocked %v with a reason", status, reason, blocked, want)
		}
	}
}

func TestStatusFieldValue(t *testing.T) {
	for _, tt := range []struct {
		current, member string
		want            string
		write           bool
	}{
		{"", "subscribed", "", false},
		{"subscribed", "subscribed", "", false},
		{"unsubscribed", "subscribed", "subscribed", true},
		{"blocked", "subscribed", "subscribed", true},
		{"", "unsubscribed", "unsubscribed", true},
		{"unsubscribed", "unsubscribed", "", false},
		{"subscribed", "cleaned", "cleaned", true},
		{"", "archived", "archived", true},
		{"", "blocked", "blocked", true},
		{"blocked", "blocked", "", false},
		{"unsubscribed", "pending", "", false},
		{"", "transactional", "", false},
	} {
		got, write := StatusFieldValue(tt.current, tt.member)
		if write != tt.write || write && got != tt.want {
			t.Errorf("StatusFieldValue(%q, %q) = %q, %v; want %q, %v", tt.current, tt.member, got, write, tt.want, tt.write)
		}
	}
}

// TestOptInGivenAgainSurvivesALaterUnsubscribeDelivery: an unsubscribe is
// applied (optouts_to_accessplanit), staff opt the person in again in
// accessplanit, the person edits their name in Mailchimp while still
// unsubscribed (the service writes it to the User), then an unsubscribe
// delivery comes (forged, or a replay of the first): the opt-in given again
// stays, whether or not the service knows its own API user.
func TestOptInGivenAgainSurvivesALaterUnsubscribeDelivery(t *testing.T) {
	for _, owner := range []string{"", "api-owner"} {
		mcChange := func(id string, ev Event) Change {
			return Change{ID: id, InstanceID: "inst1", Source: SideMailchimp, Event: ev, ReceivedAt: t0, Email: "ada@example.com"}
		}
		f := newFixture(t, func(in *Instance) {
			in.Consent = &Consent{OptoutsToAccessplanit: true}
			in.AccessplanitUserID = owner
		})
		f.apply(t, apChange("c1", consentUser("true")))
		writeAt := t0
		f.ap.onWrite = func(u User) { u.UpdatedAt = writeAt; f.ap.users[u.ID] = u }
		// T+1m: the person unsubscribes in Mailchimp; applied.
		m := f.mc.members["ada@example.com"]
		m.Status, m.LastChanged = "unsubscribed", t0.Add(time.Minute)
		f.mc.members["ada@example.com"] = m
		writeAt = t0.Add(time.Minute + 10*time.Second)
		f.engine.Now = func() time.Time { return t0.Add(90 * time.Second) }
		f.apply(t, mcChange("u0", EventUnsubscribe))
		if got := f.ap.users["1"].Fields[FieldMarketingOptIn]; got != "false" {
			t.Fatalf("unsubscribe not applied: %q", got)
		}
		// T+2m: staff opt the person in again in accessplanit (webhook applied).
		u := consentUser("true")
		u.UpdatedAt = t0.Add(2 * time.Minute)
		f.engine.Now = func() time.Time { return t0.Add(150 * time.Second) }
		f.apply(t, apChange("c2", u))
		// T+3m: the person edits their name in Mailchimp (still unsubscribed).
		m = f.mc.members["ada@example.com"]
		m.MergeFields["FNAME"] = "Adah"
		m.LastChanged = t0.Add(3 * time.Minute)
		f.mc.members["ada@example.com"] = m
		writeAt = t0.Add(3*time.Minute + 10*time.Second)
		f.engine.Now = func() time.Time { return t0.Add(4 * time.Minute) }
		if e := f.apply(t, mcChange("p1", EventProfile)); e.Status != StatusSucceeded || f.ap.users["1"].Fields["Forenames"] != "Adah" {
			t.Fatalf("profile: %s %s %s", e.Status, e.Reason, e.Error)
		}
		// T+5m: an unsubscribe delivery (forged, or a replay of u0).
		f.engine.Now = func() time.Time { return t0.Add(5 * time.Minute) }
		e := f.apply(t, mcChange("u1", EventUnsubscribe))
		if got := f.ap.users["1"].Fields[FieldMarketingOptIn]; got != "true" {
			t.Errorf("owner %q: re-opt-in cleared by a later unsubscribe delivery: MarketingOptIn %q (%s %s)", owner, got, e.Status, e.Reason)
		}
	}
}

// TestWriteAnswersKeepAnAppliedUnsubscribe: the status of a member write's
// answer is remembered only when the member can be sent to; an archived
// member (it takes the write and stays archived) leaves the unsubscribe
// recorded before, so a later unsubscribe delivery (the marketer
// unarchives it) does not clear the opt-in given again since.
func TestWriteAnswersKeepAnAppliedUnsubscribe(t *testing.T) {
	mcChange := func(id string, ev Event) Change {
		return Change{ID: id, InstanceID: "inst1", Source: SideMailchimp, Event: ev, ReceivedAt: t0, Email: "ada@example.com", Origin: OriginReconcile}
	}
	f := newFixture(t, func(in *Instance) {
		in.Consent = &Consent{OptoutsToAccessplanit: true}
		in.AccessplanitUserID = "api-owner"
	})
	f.apply(t, apChange("c1", consentUser("true")))
	f.ap.onWrite = func(u User) {
		u.UpdatedAt = t0.Add(70 * time.Second)
		u.UpdatedByID = "api-owner"
		f.ap.users[u.ID] = u
	}
	f.setStatus("ada@example.com", "unsubscribed")
	m := f.mc.members["ada@example.com"]
	m.LastChanged = t0.Add(time.Minute)
	f.mc.members["ada@example.com"] = m
	f.engine.Now = func() time.Time { return t0.Add(90 * time.Second) }
	f.apply(t, mcChange("u0", EventUnsubscribe))
	if got := f.ap.users["1"].Fields[FieldMarketingOptIn]; got != "false" {
		t.Fatalf("unsubscribe not applied: %q", got)
	}
	// Staff opt the person in again; a marketer archives the member; staff
	// edit the phone, which the service writes to the archived member.
	u := consentUser("true")
	u.UpdatedAt = t0.Add(2 * time.Minute)
	f.engine.Now = func() time.Time { return t0.Add(150 * time.Second) }
	f.apply(t, apChange("c2", u))
	f.setStatus("ada@example.com", "archived")
	u = consentUser("true")
	u.Fields["Phone"] = "0999"
	u.UpdatedAt = t0.Add(4 * time.Minute)
	f.engine.Now = func() time.Time { return t0.Add(270 * time.Second) }
	f.apply(t, apChange("c3", u))
	if c, _ := f.cs.Contact(t.Context(), "inst1", "ada@example.com"); c.Mailchimp.Status != "unsubscribed" {
		t.Errorf("contact state's Mailchimp status after a write answered archived = %q, want the applied unsubscribe kept", c.Mailchimp.Status)
	}
	// The marketer unarchives it: unsubscribed again, changed later.
	f.setStatus("ada@example.com", "unsubscribed")
	m = f.mc.members["ada@example.com"]
	m.LastChanged = t0.Add(6 * time.Minute)
	f.mc.members["ada@example.com"] = m
	f.engine.Now = func() time.Time { return t0.Add(7 * time.Minute) }
	e := f.apply(t, mcChange("r1", EventUnsubscribe))
	if got := f.ap.users["1"].Fields[FieldMarketingOptIn]; got != "true" {
		t.Errorf("opt-in given again after the applied unsubscribe cleared: %q (%s %s)", got, e.Status, e.Reason)
	}
}
