package local_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
)

// stamp formats t as accessplanit writes DateUpdated.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000") }

// Deliveries are triggers, never truth: an attacker holding the accessplanit
// webhook URL can name a real User, but what is written comes from the User
// as accessplanit holds it. A forged email moves nothing, a far-future time
// freezes nothing, and the next real edit still syncs.
func TestForgedAccessplanitDeliveriesWriteNothing(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "victim.ap@example.com"
	const mallory = "mallory.ap@example.com"
	id, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Vic", "Surname": "Tim", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	waitFor(t, "the member to be created", func() bool { _, ok := s.Mailchimp.Member(list, email); return ok })
	settle(t, s)
	mcWrites, apWrites := s.Mailchimp.Stats().MemberWrites, s.Accessplanit.Stats().Writes

	future := time.Now().AddDate(10, 0, 0)
	forged := []map[string]any{
		// another email and name for a real User
		{"ID": id, "Email": mallory, "Forenames": "Mallory", "Surname": "Evil", "Status": "Active", "DateUpdated": stamp(time.Now())},
		// a time ten years ahead, meant to make every later edit look stale
		{"ID": id, "Email": email, "Forenames": "Frozen", "Surname": "Tim", "Status": "Active", "DateUpdated": stamp(future)},
		// no ID: the email names the User to read
		{"Email": email, "Forenames": "Nobody", "Surname": "Else", "DateUpdated": stamp(future)},
	}
	for _, body := range forged {
		postAccessplanit(t, s, http.MethodPut, body)
	}
	waitFor(t, "the forged deliveries' executions", func() bool {
		return len(executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email})) >= 1+len(forged)
	})
	settle(t, s)
	if _, ok := s.Mailchimp.Member(list, mallory); ok {
		t.Errorf("a forged delivery created or moved a member to %s", mallory)
	}
	if m, _ := s.Mailchimp.Member(list, email); toString(m.MergeFields["FNAME"]) != "Vic" {
		t.Errorf("FNAME after forged deliveries = %v, want Vic", m.MergeFields["FNAME"])
	}
	if got := s.Mailchimp.Stats().MemberWrites - mcWrites; got != 0 {
		t.Errorf("Mailchimp writes after forged deliveries = %d, want 0", got)
	}
	if got := s.Accessplanit.Stats().Writes - apWrites; got != 0 {
		t.Errorf("accessplanit writes after forged deliveries = %d, want 0", got)
	}
	if got := toString(apUser(t, s, id)["Email"]); !strings.EqualFold(got, email) {
		t.Errorf("accessplanit Email = %q, want %s", got, email)
	}

	// The next real edit still syncs: nothing was frozen.
	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Forenames": "Victoria"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	waitFor(t, "the real edit to reach Mailchimp", func() bool {
		m, _ := s.Mailchimp.Member(list, email)
		return toString(m.MergeFields["FNAME"]) == "Victoria"
	})
	for _, e := range executions(t, s, apmc.ExecutionQuery{Contact: email}) {
		if e.Status == apmc.StatusFailed {
			t.Errorf("execution %s failed: %s", e.ID, e.Error)
		}
	}
}

// Signed Mailchimp deliveries that Mailchimp does not confirm write nothing:
// a profile with other values, a subscribe of an address the audience does
// not hold, and an email change to an address the attacker subscribed.
func TestUnconfirmedMailchimpDeliveriesWriteNothing(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "victim.mc@example.com"
	const mallory = "mallory.mc@example.com"
	const ghost = "ghost.mc@example.com"
	if err := s.Mailchimp.SubscribeInUI(list, email, map[string]any{"FNAME": "Vic", "LNAME": "Tim"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	waitFor(t, "the user to be created", func() bool { return len(usersWithEmail(s, email)) == 1 })
	settle(t, s)
	id := toString(usersWithEmail(s, email)[0]["ID"])
	// The attacker subscribes an address of their own, through a signup form.
	if err := s.Mailchimp.SubscribeInUI(list, mallory, map[string]any{"FNAME": "Mallory", "LNAME": "Evil"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	waitFor(t, "the attacker's user", func() bool { return len(usersWithEmail(s, mallory)) == 1 })
	settle(t, s)
	mcWrites, apWrites := s.Mailchimp.Stats().MemberWrites, s.Accessplanit.Stats().Writes
	users := len(s.Accessplanit.Users())

	now := time.Now()
	postMailchimp(t, s, profileForm(s, "profile", email, now.AddDate(10, 0, 0), map[string]string{"FNAME": "Forged", "LNAME": "Tim"}))
	postMailchimp(t, s, profileForm(s, "subscribe", ghost, now, map[string]string{"FNAME": "Ghost", "LNAME": "Writer"}))
	postMailchimp(t, s, upemailForm(s, email, mallory, now))
	waitFor(t, "the forged deliveries' executions", func() bool {
		return len(executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit, Contact: ghost})) >= 1 &&
			len(executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit, Contact: mallory})) >= 2 &&
			len(executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit, Contact: email})) >= 2
	})
	settle(t, s)
	if got := s.Accessplanit.Stats().Writes - apWrites; got != 0 {
		t.Errorf("accessplanit writes after forged deliveries = %d, want 0", got)
	}
	if got := s.Mailchimp.Stats().MemberWrites - mcWrites; got != 0 {
		t.Errorf("Mailchimp writes after forged deliveries = %d, want 0", got)
	}
	if got := len(s.Accessplanit.Users()); got != users {
		t.Errorf("accessplanit users = %d, want %d (no user for an address Mailchimp does not hold)", got, users)
	}
	u := apUser(t, s, id)
	if got := toString(u["Email"]); !strings.EqualFold(got, email) {
		t.Errorf("victim's login email = %q, want %s (an unconfirmed email change is not applied)", got, email)
	}
	if got := toString(u["Forenames"]); got != "Vic" {
		t.Errorf("victim's Forenames = %q, want Vic", got)
	}
	var upemail apmc.Execution
	for _, e := range executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit, Contact: mallory}) {
		if e.Event == apmc.EventUpEmail {
			upemail = e
		}
	}
	if upemail.Status != apmc.StatusSkipped || !strings.Contains(upemail.Reason, "not confirmed") {
		t.Errorf("forged upemail = %s %q, want skipped as not confirmed", upemail.Status, upemail.Reason)
	}

	// The next real edit still syncs: a far-future fired_at froze nothing.
	if err := s.Mailchimp.EditMemberInUI(list, email, map[string]any{"FNAME": "Victoria"}, "user"); err != nil {
		t.Fatalf("EditMemberInUI() error = %v", err)
	}
	waitFor(t, "the real edit to reach accessplanit", func() bool { return toString(apUser(t, s, id)["Forenames"]) == "Victoria" })
}

// A real email change made in Mailchimp is confirmed by Mailchimp (the old
// address is gone, the new one holds the same contact) and followed, on an
// instance set to follow.
func TestConfirmedMailchimpEmailChangeIsFollowed(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	followEmailChanges(t, s)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "mover.mc@example.com"
	const moved = "moved.mc@example.com"
	if err := s.Mailchimp.SubscribeInUI(list, email, map[string]any{"FNAME": "Mo", "LNAME": "Ver"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	waitFor(t, "the user to be created", func() bool { return len(usersWithEmail(s, email)) == 1 })
	settle(t, s)
	id := toString(usersWithEmail(s, email)[0]["ID"])
	if err := s.Mailchimp.ChangeEmailInUI(list, email, moved); err != nil {
		t.Fatalf("ChangeEmailInUI() error = %v", err)
	}
	waitFor(t, "the login email to follow", func() bool { return strings.EqualFold(toString(apUser(t, s, id)["Email"]), moved) })
	settle(t, s)
	if n := len(usersWithEmail(s, moved)); n != 1 {
		t.Errorf("users with %s = %d, want 1", moved, n)
	}
}

// upemailForm is a Mailchimp email-change delivery.
func upemailForm(s *local.Stack, oldEmail, newEmail string, fired time.Time) url.Values {
	return url.Values{
		"type":            []string{"upemail"},
		"fired_at":        []string{fired.UTC().Format("2006-01-02 15:04:05")},
		"data[list_id]":   []string{s.Info.Sandbox.Mailchimp.ListID},
		"data[new_id]":    []string{"id-" + newEmail},
		"data[new_email]": []string{newEmail},
		"data[old_email]": []string{oldEmail},
	}
}

// By default (mailchimp_email_changes: new_user) a confirmed email change
// makes the new address a new User: the old User keeps its login email, and
// its next edit does not add the old address back to the audience.
func TestMailchimpEmailChangeMakesANewUserByDefault(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "keeper.mc@example.com"
	const moved = "kept.mc@example.com"
	if err := s.Mailchimp.SubscribeInUI(list, email, map[string]any{"FNAME": "Kee", "LNAME": "Per"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	waitFor(t, "the user to be created", func() bool { return len(usersWithEmail(s, email)) == 1 })
	settle(t, s)
	id := toString(usersWithEmail(s, email)[0]["ID"])
	if err := s.Mailchimp.ChangeEmailInUI(list, email, moved); err != nil {
		t.Fatalf("ChangeEmailInUI() error = %v", err)
	}
	waitFor(t, "a User for the new address", func() bool { return len(usersWithEmail(s, moved)) == 1 })
	settle(t, s)
	// The email change that made the User succeeded (its state saved under
	// the new address), and no change of the new address failed.
	for _, e := range executions(t, s, apmc.ExecutionQuery{Contact: moved}) {
		if e.Status == apmc.StatusFailed {
			t.Errorf("execution %s (%s %s) failed: %s", e.ID, e.Flow, e.Event, e.Error)
		}
	}
	if got := toString(apUser(t, s, id)["Email"]); !strings.EqualFold(got, email) {
		t.Errorf("old User's email = %q, want %s kept", got, email)
	}
	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Forenames": "Keeper"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	waitExecution(t, s, "the old User's edit", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email}, func(e apmc.Execution) bool {
		return strings.Contains(e.Reason, "not added back")
	})
	if _, ok := s.Mailchimp.Member(list, email); ok {
		t.Errorf("the old address %s was added back to the audience", email)
	}
}

// With mailchimp_email_changes: ignore, a confirmed email change leaves
// accessplanit alone, and so do the moved member's later changes: no User
// appears for the new address.
func TestIgnoredMailchimpEmailChangeStaysIgnored(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	ctx := context.Background()
	in, err := s.Instances.Instance(ctx, s.Info.InstanceID)
	if err != nil {
		t.Fatalf("Instance() error = %v", err)
	}
	in.MailchimpEmailChanges = apmc.EmailChangesIgnore
	if err := s.Instances.Update(ctx, in); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	s.Cache.Forget(in.ID)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email, moved = "stay.mc@example.com", "stayed.mc@example.com"
	if err := s.Mailchimp.SubscribeInUI(list, email, map[string]any{"FNAME": "Stay", "LNAME": "Put"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	waitFor(t, "the user to be created", func() bool { return len(usersWithEmail(s, email)) == 1 })
	settle(t, s)
	if err := s.Mailchimp.ChangeEmailInUI(list, email, moved); err != nil {
		t.Fatalf("ChangeEmailInUI() error = %v", err)
	}
	settle(t, s)
	if err := s.Mailchimp.EditMemberInUI(list, moved, map[string]any{"FNAME": "Stayed"}, "user"); err != nil {
		t.Fatalf("EditMemberInUI() error = %v", err)
	}
	waitExecution(t, s, "the moved member's profile change", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit, Contact: moved}, func(e apmc.Execution) bool {
		return e.Event == apmc.EventProfile
	})
	settle(t, s)
	if n := len(usersWithEmail(s, moved)); n != 0 {
		t.Errorf("users with %s = %d, want none (email changes are ignored)", moved, n)
	}
	if n := len(usersWithEmail(s, email)); n != 1 {
		t.Errorf("users with %s = %d, want the one User, its email kept", email, n)
	}
}
