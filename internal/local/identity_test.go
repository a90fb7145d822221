package local_test

import (
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
)

// createSynced creates a User in the accessplanit UI and waits until the
// sync and its echo have settled.
func createSynced(t *testing.T, s *local.Stack, first, last, email string) string {
	t.Helper()
	id, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": first, "Surname": last, "Email": email, "MarketingOptIn": true, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	waitFor(t, "the member "+email, func() bool { _, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email); return ok })
	settle(t, s)
	return id
}

// noFailures fails the test for every failed execution of the instance.
func noFailures(t *testing.T, s *local.Stack) {
	t.Helper()
	for _, e := range executions(t, s, apmc.ExecutionQuery{Status: apmc.StatusFailed}) {
		t.Errorf("execution %s (%s %s %s) failed: %s", e.ID, e.Flow, e.Event, e.Contact, e.Error)
	}
}

func TestMailchimpEmailChangeUpdatesTheLinkedUser(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	followEmailChanges(t, s)
	list := s.Info.Sandbox.Mailchimp.ListID
	id := createSynced(t, s, "Ada", "Lovelace", "ada.old@example.com")
	mcWrites, apWrites := s.Mailchimp.Stats().MemberWrites, s.Accessplanit.Stats().Writes

	if err := s.Mailchimp.ChangeEmailInUI(list, "ada.old@example.com", "ada.new@example.com"); err != nil {
		t.Fatalf("ChangeEmailInUI() error = %v", err)
	}
	e := waitExecution(t, s, "the upemail execution", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit}, func(e apmc.Execution) bool { return e.Event == apmc.EventUpEmail })
	settle(t, s)
	if e.Status != apmc.StatusSucceeded || !e.Changed {
		t.Errorf("upemail execution = %s changed=%v %q %q, want succeeded and changed", e.Status, e.Changed, e.Reason, e.Error)
	}
	if n := len(s.Accessplanit.Users()); n != 1 {
		t.Errorf("accessplanit users = %d, want 1 (the linked User is updated, no second User)", n)
	}
	if got := toString(apUser(t, s, id)["Email"]); got != "ada.new@example.com" {
		t.Errorf("User %s Email = %q, want ada.new@example.com", id, got)
	}
	if got := s.Accessplanit.Stats().Writes - apWrites; got != 1 {
		t.Errorf("accessplanit writes = %d, want 1", got)
	}
	if got := s.Mailchimp.Stats().MemberWrites - mcWrites; got != 0 {
		t.Errorf("Mailchimp writes after its own email change = %d, want 0 (nothing flows back)", got)
	}
	noFailures(t, s)
}

func TestAccessplanitEmailChangeMovesTheMember(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	id := createSynced(t, s, "Grace", "Hopper", "grace.old@example.com")
	old, _ := s.Mailchimp.Member(list, "grace.old@example.com")
	apWrites := s.Accessplanit.Stats().Writes

	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Email": "grace.new@example.com"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	waitFor(t, "the member to move", func() bool { _, ok := s.Mailchimp.Member(list, "grace.new@example.com"); return ok })
	settle(t, s)
	if _, ok := s.Mailchimp.Member(list, "grace.old@example.com"); ok {
		t.Errorf("member grace.old@example.com still exists, want it moved")
	}
	m, _ := s.Mailchimp.Member(list, "grace.new@example.com")
	if m.ContactID != old.ContactID {
		t.Errorf("member ContactID = %s, want %s (moved, not re-created)", m.ContactID, old.ContactID)
	}
	if toString(m.MergeFields["FNAME"]) != "Grace" || m.Status != "subscribed" {
		t.Errorf("moved member = FNAME %v status %s, want Grace, subscribed", m.MergeFields["FNAME"], m.Status)
	}
	if n := len(s.Mailchimp.Members(list)); n != 1 {
		t.Errorf("Mailchimp members = %d, want 1", n)
	}
	if got := s.Accessplanit.Stats().Writes - apWrites; got != 1 {
		t.Errorf("accessplanit writes = %d, want 1 (the UI edit; nothing flows back)", got)
	}
	if n := len(s.Accessplanit.Users()); n != 1 {
		t.Errorf("accessplanit users = %d, want 1", n)
	}
	noFailures(t, s)
}

func TestAccessplanitEmailChangeToATakenAddressWritesThatMember(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	id := createSynced(t, s, "Alan", "Turing", "alan@example.com")
	// Someone else already subscribed at the new address, before accessplanit knew.
	setDirection(t, s, apmc.DirectionToMailchimp)
	if err := s.Mailchimp.SubscribeInUI(list, "taken@example.com", map[string]any{"FNAME": "Other", "LNAME": "Person"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	settle(t, s)
	setDirection(t, s, apmc.DirectionBoth)

	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Email": "taken@example.com"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	e := waitExecution(t, s, "the email change execution", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: "taken@example.com"}, func(apmc.Execution) bool { return true })
	settle(t, s)
	if e.Status != apmc.StatusSucceeded || !logsContain(e, "already a Mailchimp contact") {
		t.Errorf("execution = %s %q, logs %v; want succeeded with the reason logged", e.Status, e.Error, e.Logs)
	}
	if m, _ := s.Mailchimp.Member(list, "taken@example.com"); toString(m.MergeFields["FNAME"]) != "Alan" {
		t.Errorf("member taken@example.com FNAME = %v, want Alan", m.MergeFields["FNAME"])
	}
	if m, ok := s.Mailchimp.Member(list, "alan@example.com"); !ok || m.Status != "subscribed" {
		t.Errorf("member alan@example.com = %v %s, want kept as it is", ok, m.Status)
	}
	noFailures(t, s)
}

func TestUsersSharingAnEmailMostRecentChangeWins(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "shared@example.com"
	first := createSynced(t, s, "First", "Sharer", email)
	second, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Second", "Surname": "Sharer", "Email": email, "MarketingOptIn": true, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	e := waitExecution(t, s, "the second user's execution", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email}, func(e apmc.Execution) bool { return e.Event == apmc.EventCreated && logsContain(e, second) })
	settle(t, s)
	if e.Status != apmc.StatusSucceeded || !logsContain(e, "share the email") || !logsContain(e, "most recent change") {
		t.Errorf("second user's execution = %s, logs %v; want succeeded, saying the users share the email and the most recent change wins", e.Status, e.Logs)
	}
	if m, _ := s.Mailchimp.Member(list, email); toString(m.MergeFields["FNAME"]) != "Second" {
		t.Errorf("FNAME = %v, want Second (the most recent change)", m.MergeFields["FNAME"])
	}

	if err := s.Accessplanit.EditUserInUI(first, map[string]any{"Forenames": "First Again"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	waitFor(t, "the first user's change to win", func() bool {
		m, _ := s.Mailchimp.Member(list, email)
		return toString(m.MergeFields["FNAME"]) == "First Again"
	})
	settle(t, s)
	if m, _ := s.Mailchimp.Member(list, email); toString(m.MergeFields["FNAME"]) != "First Again" {
		t.Errorf("FNAME after settling = %v, want First Again", m.MergeFields["FNAME"])
	}
	for _, id := range []string{first, second} {
		if got := toString(apUser(t, s, id)["Surname"]); !strings.EqualFold(got, "Sharer") {
			t.Errorf("user %s Surname = %q, want Sharer (untouched)", id, got)
		}
	}
	if got := toString(apUser(t, s, second)["Forenames"]); got != "Second" {
		t.Errorf("user %s Forenames = %q, want Second (the echo must not overwrite the other user)", second, got)
	}
	noFailures(t, s)
}
