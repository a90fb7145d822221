package local_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
)

// Deletes, unsubscribes and cleaned addresses never reach the other side:
// each is recorded as a skipped execution with its reason.
func TestNothingDestructiveFlows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		act    func(t *testing.T, s *local.Stack, userID, email string) error
		flow   apmc.Flow
		event  apmc.Event
		reason string
		// status is the Mailchimp member's status afterwards.
		status string
	}{
		{"accessplanit delete", func(t *testing.T, s *local.Stack, id, _ string) error {
			return s.Accessplanit.DeleteUserInUI(id)
		}, apmc.FlowToMailchimp, apmc.EventDeleted, "deletes never cascade", "subscribed"},
		{"Mailchimp delete", func(t *testing.T, s *local.Stack, _, email string) error {
			return s.Mailchimp.UnsubscribeInUI(s.Info.Sandbox.Mailchimp.ListID, email, "delete")
		}, apmc.FlowToAccessplanit, apmc.EventUnsubscribe, "deletes never cascade", "archived"},
		{"Mailchimp unsubscribe", func(t *testing.T, s *local.Stack, _, email string) error {
			return s.Mailchimp.UnsubscribeInUI(s.Info.Sandbox.Mailchimp.ListID, email, "unsub")
		}, apmc.FlowToAccessplanit, apmc.EventUnsubscribe, "unsubscribes never flow", "unsubscribed"},
		{"Mailchimp cleaned", func(t *testing.T, s *local.Stack, _, email string) error {
			return s.Mailchimp.Clean(s.Info.Sandbox.Mailchimp.ListID, email, "hard")
		}, apmc.FlowToAccessplanit, apmc.EventCleaned, "cleaned addresses never flow", "cleaned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startStackWith(t, nil)
			const email = "keep.me@example.com"
			id := createSynced(t, s, "Keep", "Me", email)
			mcWrites, apWrites := s.Mailchimp.Stats().MemberWrites, s.Accessplanit.Stats().Writes

			if err := tt.act(t, s, id, email); err != nil {
				t.Fatalf("%s error = %v", tt.name, err)
			}
			e := waitExecution(t, s, "the "+string(tt.event)+" execution", apmc.ExecutionQuery{Flow: tt.flow}, func(e apmc.Execution) bool { return e.Event == tt.event })
			settle(t, s)
			if e.Status != apmc.StatusSkipped || e.Changed || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("execution = %s changed=%v reason %q, want skipped: %q", e.Status, e.Changed, e.Reason, tt.reason)
			}
			m, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email)
			if !ok || m.Status != tt.status {
				t.Errorf("Mailchimp member exists=%v status %q, want kept with status %q", ok, m.Status, tt.status)
			}
			u := apUser(t, s, id)
			wantStatus := "Active"
			if tt.event == apmc.EventDeleted {
				wantStatus = "Deleted" // the UI's own delete, nothing more
			}
			if got := toString(u["Status"]); got != wantStatus {
				t.Errorf("accessplanit user Status = %q, want %q", got, wantStatus)
			}
			if got := s.Mailchimp.Stats().MemberWrites - mcWrites; got != 0 {
				t.Errorf("Mailchimp writes = %d, want 0", got)
			}
			wantAP := 0
			if tt.event == apmc.EventDeleted {
				wantAP = 1
			}
			if got := s.Accessplanit.Stats().Writes - apWrites; got != wantAP {
				t.Errorf("accessplanit writes = %d, want %d", got, wantAP)
			}
		})
	}
}

func TestSyncNeverResubscribes(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "opted.out@example.com"
	id := createSynced(t, s, "Opted", "Out", email)
	if err := s.Mailchimp.UnsubscribeInUI(list, email, "unsub"); err != nil {
		t.Fatalf("UnsubscribeInUI() error = %v", err)
	}
	settle(t, s)
	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Forenames": "Still Out"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	waitFor(t, "the edit to reach Mailchimp", func() bool {
		m, _ := s.Mailchimp.Member(list, email)
		return toString(m.MergeFields["FNAME"]) == "Still Out"
	})
	settle(t, s)
	if m, _ := s.Mailchimp.Member(list, email); m.Status != "unsubscribed" {
		t.Errorf("member status after an accessplanit edit = %q, want unsubscribed", m.Status)
	}
	noFailures(t, s)
}

// Mailchimp refuses writes to members in compliance state and to forgotten
// addresses: blocked, not failed, shown with the reason, never retried.
func TestMailchimpRefusalsAreBlocked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		refuse func(s *local.Stack, email string) error
		reason string
	}{
		{"compliance state", func(s *local.Stack, email string) error {
			return s.Mailchimp.SetComplianceState(s.Info.Sandbox.Mailchimp.ListID, email, true)
		}, "Compliance State"},
		{"forgotten email", func(s *local.Stack, email string) error {
			return s.Mailchimp.Forget(s.Info.Sandbox.Mailchimp.ListID, email)
		}, "Forgotten Email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startStackWith(t, nil)
			const email = "refused@example.com"
			id := createSynced(t, s, "Refused", "Contact", email)
			if err := tt.refuse(s, email); err != nil {
				t.Fatalf("refuse error = %v", err)
			}
			if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Forenames": "Changed"}); err != nil {
				t.Fatalf("EditUserInUI() error = %v", err)
			}
			e := waitExecution(t, s, "the blocked execution", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Status: apmc.StatusBlocked}, func(apmc.Execution) bool { return true })
			if e.Retryable || e.Attempt != 1 || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("execution = attempt %d retryable=%v reason %q, want blocked, naming %q", e.Attempt, e.Retryable, e.Reason, tt.reason)
			}
			// Not retried: no second attempt shows up, nothing in the DLQ.
			time.Sleep(500 * time.Millisecond)
			settle(t, s)
			if n := len(executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Status: apmc.StatusBlocked})); n != 1 {
				t.Errorf("blocked executions = %d, want 1", n)
			}
			if n := len(executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Status: apmc.StatusFailed})); n != 0 {
				t.Errorf("failed executions = %d, want 0", n)
			}
			if !queueEmpty(t, s, s.Queues.DeadLetterURL) {
				t.Errorf("dead-letter queue is not empty, want a blocked contact settled at once")
			}
		})
	}
}
