package local_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// stamp formats t as accessplanit writes DateUpdated.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000") }

func TestAccessplanitDeliveriesInOrderDuplicatesAndStale(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "order.ap@example.com"
	// The User exists in accessplanit; its deliveries are crafted here.
	id, err := s.Accessplanit.AddUser(map[string]any{"Forenames": "Zero", "Surname": "Order", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatalf("AddUser() error = %v", err)
	}
	base := time.Now().Add(-time.Minute)
	user := func(first string, at time.Time) map[string]any {
		return map[string]any{"ID": id, "Email": email, "Forenames": first, "Surname": "Order", "Status": "Active", "DateUpdated": stamp(at)}
	}

	// In order: every delivery is applied, none is stale, the last wins.
	for i, first := range []string{"One", "Two", "Three"} {
		postAccessplanit(t, s, http.MethodPut, user(first, base.Add(time.Duration(i)*time.Second)))
	}
	waitFor(t, "three executions", func() bool {
		return len(executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email})) >= 3
	})
	settle(t, s)
	for _, e := range executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email}) {
		if e.Status != apmc.StatusSucceeded || !e.Changed {
			t.Errorf("in-order delivery execution = %s changed=%v reason %q error %q, want succeeded and changed", e.Status, e.Changed, e.Reason, e.Error)
		}
	}
	if m, _ := s.Mailchimp.Member(list, email); toString(m.MergeFields["FNAME"]) != "Three" {
		t.Fatalf("FNAME after in-order deliveries = %v, want Three", m.MergeFields["FNAME"])
	}

	// Out of order: the older delivery never overwrites the newer one; a
	// duplicate changes nothing.
	mcWrites, apWrites := s.Mailchimp.Stats().MemberWrites, s.Accessplanit.Stats().Writes
	newer, older := user("Newer", base.Add(20*time.Second)), user("Older", base.Add(10*time.Second))
	postAccessplanit(t, s, http.MethodPut, newer)
	postAccessplanit(t, s, http.MethodPut, older)
	postAccessplanit(t, s, http.MethodPut, newer)
	stale := waitExecution(t, s, "the stale execution", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email}, func(e apmc.Execution) bool {
		return e.Status == apmc.StatusSkipped
	})
	if !strings.Contains(stale.Reason, "stale") || stale.Changed {
		t.Errorf("older delivery = %s changed=%v %q, want skipped as stale", stale.Status, stale.Changed, stale.Reason)
	}
	settle(t, s)
	if m, _ := s.Mailchimp.Member(list, email); toString(m.MergeFields["FNAME"]) != "Newer" {
		t.Errorf("FNAME after a stale delivery = %v, want Newer", m.MergeFields["FNAME"])
	}
	if got := s.Mailchimp.Stats().MemberWrites - mcWrites; got != 1 {
		t.Errorf("Mailchimp writes for newer, older and a duplicate = %d, want 1", got)
	}
	if got := s.Accessplanit.Stats().Writes - apWrites; got != 0 {
		t.Errorf("accessplanit writes = %d, want 0 (nothing flows back)", got)
	}
	if got := toString(apUser(t, s, id)["Forenames"]); got != "Zero" {
		t.Errorf("accessplanit Forenames = %q, want Zero (crafted deliveries do not write back)", got)
	}
	for _, e := range executions(t, s, apmc.ExecutionQuery{Contact: email}) {
		if e.Status == apmc.StatusFailed {
			t.Errorf("execution %s failed: %s", e.ID, e.Error)
		}
	}
}

func TestMailchimpDeliveriesInOrderDuplicatesAndStale(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "order.mc@example.com"
	if err := s.Mailchimp.SubscribeInUI(list, email, map[string]any{"FNAME": "Zero", "LNAME": "Order"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	waitFor(t, "the user to be created", func() bool { return len(usersWithEmail(s, email)) == 1 })
	settle(t, s)
	id := toString(usersWithEmail(s, email)[0]["ID"])
	profiles := func() []apmc.Execution {
		var out []apmc.Execution
		for _, e := range executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit, Contact: email}) {
			if e.Event == apmc.EventProfile {
				out = append(out, e)
			}
		}
		return out
	}
	// Mailchimp's fired_at has whole seconds; start after the subscribe.
	base := time.Now().Add(2 * time.Second).Truncate(time.Second)

	for i, first := range []string{"One", "Two", "Three"} {
		postMailchimp(t, s, profileForm(s, "profile", email, base.Add(time.Duration(i)*time.Second), map[string]string{"FNAME": first, "LNAME": "Order"}))
	}
	waitFor(t, "three profile executions", func() bool { return len(profiles()) >= 3 })
	settle(t, s)
	for _, e := range profiles() {
		if e.Status != apmc.StatusSucceeded || !e.Changed {
			t.Errorf("in-order delivery execution = %s changed=%v reason %q error %q, want succeeded and changed", e.Status, e.Changed, e.Reason, e.Error)
		}
	}
	if got := toString(apUser(t, s, id)["Forenames"]); got != "Three" {
		t.Fatalf("Forenames after in-order deliveries = %q, want Three", got)
	}

	mcWrites, apWrites := s.Mailchimp.Stats().MemberWrites, s.Accessplanit.Stats().Writes
	newer := profileForm(s, "profile", email, base.Add(20*time.Second), map[string]string{"FNAME": "Newer", "LNAME": "Order"})
	older := profileForm(s, "profile", email, base.Add(10*time.Second), map[string]string{"FNAME": "Older", "LNAME": "Order"})
	postMailchimp(t, s, newer)
	postMailchimp(t, s, older)
	postMailchimp(t, s, newer)
	stale := waitExecution(t, s, "the stale execution", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit, Contact: email}, func(e apmc.Execution) bool {
		return e.Status == apmc.StatusSkipped
	})
	if !strings.Contains(stale.Reason, "stale") || stale.Changed {
		t.Errorf("older delivery = %s changed=%v %q, want skipped as stale", stale.Status, stale.Changed, stale.Reason)
	}
	settle(t, s)
	if got := toString(apUser(t, s, id)["Forenames"]); got != "Newer" {
		t.Errorf("Forenames after a stale delivery = %q, want Newer", got)
	}
	if got := s.Accessplanit.Stats().Writes - apWrites; got != 1 {
		t.Errorf("accessplanit writes for newer, older and a duplicate = %d, want 1", got)
	}
	if got := s.Mailchimp.Stats().MemberWrites - mcWrites; got != 0 {
		t.Errorf("Mailchimp writes = %d, want 0 (nothing flows back)", got)
	}
	if m, _ := s.Mailchimp.Member(list, email); toString(m.MergeFields["FNAME"]) != "Zero" {
		t.Errorf("Mailchimp FNAME = %v, want Zero (crafted deliveries do not write back)", m.MergeFields["FNAME"])
	}
	for _, e := range executions(t, s, apmc.ExecutionQuery{Contact: email}) {
		if e.Status == apmc.StatusFailed {
			t.Errorf("execution %s failed: %s", e.ID, e.Error)
		}
	}
}
