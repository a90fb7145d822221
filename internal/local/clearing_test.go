package local_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

func TestFieldClearedInAccessplanitIsClearedInMailchimp(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	id := createSynced(t, s, "Ada", "Lovelace", "clear.ap@example.com")
	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Phone": "+44 1"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	waitFor(t, "the phone to reach Mailchimp", func() bool {
		m, _ := s.Mailchimp.Member(list, "clear.ap@example.com")
		return toString(m.MergeFields["PHONE"]) == "+44 1"
	})
	settle(t, s)
	apWrites := s.Accessplanit.Stats().Writes

	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Phone": nil, "Forenames": "Augusta"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	waitFor(t, "the phone to be cleared in Mailchimp", func() bool {
		m, _ := s.Mailchimp.Member(list, "clear.ap@example.com")
		return toString(m.MergeFields["PHONE"]) == "" && toString(m.MergeFields["FNAME"]) == "Augusta"
	})
	settle(t, s)
	if got := s.Accessplanit.Stats().Writes - apWrites; got != 1 {
		t.Errorf("accessplanit writes = %d, want 1 (the UI edit; nothing flows back)", got)
	}
	u := apUser(t, s, id)
	if toString(u["Phone"]) != "" {
		t.Errorf("accessplanit Phone = %v, want it to stay cleared", u["Phone"])
	}
	noFailures(t, s)
}

func TestFieldClearedInMailchimpIsClearedInAccessplanit(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	id := createSynced(t, s, "Grace", "Hopper", "clear.mc@example.com")
	if err := s.Mailchimp.EditMemberInUI(list, "clear.mc@example.com", map[string]any{"PHONE": "+1 555 0100"}, "user"); err != nil {
		t.Fatalf("EditMemberInUI() error = %v", err)
	}
	waitFor(t, "the phone to reach accessplanit", func() bool { return toString(apUser(t, s, id)["Phone"]) == "+1 555 0100" })
	settle(t, s)
	writes := s.Mailchimp.Stats().MemberWrites

	if err := s.Mailchimp.EditMemberInUI(list, "clear.mc@example.com", map[string]any{"PHONE": ""}, "user"); err != nil {
		t.Fatalf("EditMemberInUI() error = %v", err)
	}
	waitFor(t, "the phone to be cleared in accessplanit", func() bool { return toString(apUser(t, s, id)["Phone"]) == "" })
	settle(t, s)
	if got := s.Mailchimp.Stats().MemberWrites - writes; got != 0 {
		t.Errorf("Mailchimp member writes = %d, want 0 (nothing flows back)", got)
	}
	noFailures(t, s)
}

// Another app changes a member's address and name in one call: Mailchimp
// sends an upemail and then a profile for the new address. The linked User
// gets both; no second User appears.
func TestMailchimpEmailAndNameChangedTogether(t *testing.T) {
	t.Parallel()
	for run := range 3 {
		s := startStackWith(t, nil)
		followEmailChanges(t, s)
		list := s.Info.Sandbox.Mailchimp.ListID
		id := createSynced(t, s, "Alan", "Turing", "alan.old@example.com")
		body, _ := json.Marshal(map[string]any{"email_address": "alan.new@example.com", "merge_fields": map[string]string{"FNAME": "Alan M."}})
		req, _ := http.NewRequest(http.MethodPatch, s.Info.Sandbox.Mailchimp.BaseURL+"/lists/"+list+"/members/"+sbmc.SubscriberHash("alan.old@example.com"), bytes.NewReader(body))
		req.SetBasicAuth("another-app", s.Info.Sandbox.Mailchimp.APIKey)
		send(t, req, http.StatusOK)
		waitFor(t, "the User to take the new address and name", func() bool {
			u := apUser(t, s, id)
			return toString(u["Email"]) == "alan.new@example.com" && toString(u["Forenames"]) == "Alan M."
		})
		settle(t, s)
		if n := len(s.Accessplanit.Users()); n != 1 {
			t.Fatalf("run %d: accessplanit users = %d, want 1", run, n)
		}
		noFailures(t, s)
	}
}

func TestEmailMoveEchoIsSuppressed(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	id := createSynced(t, s, "Mary", "Somerville", "mary.old@example.com")
	writes := s.Mailchimp.Stats().Requests["PATCH"] + s.Mailchimp.Stats().Requests["PUT"]
	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Email": "mary.new@example.com"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	waitFor(t, "the member to move", func() bool { _, ok := s.Mailchimp.Member(list, "mary.new@example.com"); return ok })
	settle(t, s)
	if got := s.Mailchimp.Stats().Requests["PATCH"] + s.Mailchimp.Stats().Requests["PUT"] - writes; got != 1 {
		t.Errorf("Mailchimp writes for an address change = %d, want 1 (the move)", got)
	}
	echo := waitExecution(t, s, "the upemail echo", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit, Contact: "mary.new@example.com"},
		func(e apmc.Execution) bool { return e.Event == apmc.EventUpEmail })
	if echo.Status != apmc.StatusSuppressed {
		t.Errorf("upemail echo = %s (%s), want suppressed", echo.Status, echo.Reason)
	}
}
