package local_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

func newUser(t *testing.T, s interface {
	CreateUserInUI(map[string]any) (string, error)
}, company, first, email string) string {
	t.Helper()
	id, err := s.CreateUserInUI(map[string]any{"Forenames": first, "Surname": "Tester", "Email": email, "MainCompanyID": company})
	if err != nil {
		t.Fatalf("CreateUserInUI(%s) error = %v", email, err)
	}
	return id
}

func TestPauseHoldsAndResumeAppliesInOrder(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	company := s.Info.Sandbox.Accessplanit.DefaultCompanyID
	if _, err := s.Ops.Pause(ctx, s.Info.InstanceID); err != nil {
		t.Fatalf("Pause() error = %v", err)
	}
	const email = "held@example.com"
	id := newUser(t, s.Accessplanit, company, "First", email)
	waitExecutions(t, s, email, apmc.FlowToMailchimp, 1)
	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Forenames": "Second"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	held := waitExecutions(t, s, email, apmc.FlowToMailchimp, 2)
	for _, e := range held {
		if e.Status != apmc.StatusHeld {
			t.Fatalf("execution while paused = %s, want held", e.Status)
		}
	}
	if n := len(s.Mailchimp.Members(s.Info.Sandbox.Mailchimp.ListID)); n != 0 {
		t.Fatalf("members while paused = %d, want 0", n)
	}
	sum, err := s.Ops.Summary(ctx, s.Info.InstanceID)
	if err != nil || sum.Instance.State != apmc.StatePaused || sum.Last24h[apmc.StatusHeld] != 2 {
		t.Fatalf("Summary() = %+v, %v; want paused with 2 held", sum, err)
	}

	res, err := s.Ops.Resume(ctx, s.Info.InstanceID)
	if err != nil || res.Released != 2 {
		t.Fatalf("Resume() = %+v, %v; want 2 released", res, err)
	}
	after := waitExecutions(t, s, email, apmc.FlowToMailchimp, 4)
	applied := 0
	for _, e := range after {
		if e.Status == apmc.StatusHeld {
			t.Errorf("execution %s still held after resume", e.ID)
		}
		if e.Status == apmc.StatusSucceeded {
			applied++
		}
	}
	m, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email)
	if !ok || m.MergeFields["FNAME"] != "Second" {
		t.Errorf("member after resume = %+v, want FNAME Second (changes applied in order)", m.MergeFields)
	}
	if applied < 1 {
		t.Errorf("no succeeded execution after resume: %+v", after)
	}
}

func TestReplayOfAFailedExecution(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	s.Mailchimp.InjectFaults(sbmc.FaultRule{Kind: sbmc.FaultStatus, Method: http.MethodPut, Status: 400, Title: "Invalid Resource", Detail: "rejected for the test"})
	const email = "replay@example.com"
	newUser(t, s.Accessplanit, s.Info.Sandbox.Accessplanit.DefaultCompanyID, "Re", email)
	failed := waitExecutions(t, s, email, apmc.FlowToMailchimp, 1)[0]
	if failed.Status != apmc.StatusFailed || failed.Retryable {
		t.Fatalf("execution = %s retryable=%v (%s), want a permanent failure", failed.Status, failed.Retryable, failed.Error)
	}
	r, err := s.Ops.Replay(ctx, s.Info.InstanceID, failed.ID)
	if err != nil {
		t.Fatalf("Replay() error = %v", err)
	}
	list := waitExecutions(t, s, email, apmc.FlowToMailchimp, 2)
	replay := list[0]
	if replay.ID != r.ExecutionID || replay.Origin != apmc.OriginReplay || replay.OriginalID != failed.ID || replay.Status != apmc.StatusSucceeded {
		t.Errorf("replay = id %s origin %s original %s status %s; want id %s, replay of %s, succeeded", replay.ID, replay.Origin, replay.OriginalID, replay.Status, r.ExecutionID, failed.ID)
	}
	related, truncated, err := s.Ops.Related(ctx, failed)
	if err != nil || truncated || len(related) != 1 || related[0].ID != replay.ID {
		t.Errorf("Related(original) = %v, truncated %v, %v; want the replay", related, truncated, err)
	}
	tl, err := s.Ops.Timeline(ctx, s.Info.InstanceID, "Replay@Example.com")
	timeline := tl.Executions
	if err != nil || tl.Truncated || len(timeline) < 2 || timeline[0].ID != failed.ID {
		t.Errorf("Timeline() = %d executions, %v; want oldest first starting with the failure", len(timeline), err)
	}
	// Filters: original_only hides the replay.
	orig, _, err := s.Executions.Executions(ctx, s.Info.InstanceID, apmc.ExecutionQuery{Contact: email, Flow: apmc.FlowToMailchimp, OriginalOnly: true})
	if err != nil || len(orig) != 1 || orig[0].ID != failed.ID {
		t.Errorf("original_only = %d executions, %v; want only the original", len(orig), err)
	}
}

func TestDeadLetterRedrive(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	s.Mailchimp.InjectFaults(sbmc.FaultRule{Kind: sbmc.FaultStatus, Method: http.MethodPut, Status: 503, Count: 5})
	const email = "dlq@example.com"
	newUser(t, s.Accessplanit, s.Info.Sandbox.Accessplanit.DefaultCompanyID, "Dead", email)
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := s.Ops.DeadLetters.Depth(ctx)
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead-letter depth = %d (%v) after 60 s, want 1", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	execs := waitExecutions(t, s, email, apmc.FlowToMailchimp, 5)
	if execs[0].Attempt != 5 || execs[0].Retryable {
		t.Errorf("last attempt = %d retryable=%v, want 5 and not retryable", execs[0].Attempt, execs[0].Retryable)
	}
	listed, err := s.Ops.DeadLetterList(ctx, 10)
	if err != nil || len(listed) != 1 || listed[0].Email != email {
		t.Fatalf("DeadLetterList() = %+v, %v; want the change for %s", listed, err, email)
	}
	n, err := s.Ops.DeadLetterRedrive(ctx, 10)
	if err != nil || n != 1 {
		t.Fatalf("DeadLetterRedrive() = %d, %v; want 1", n, err)
	}
	after := waitExecutions(t, s, email, apmc.FlowToMailchimp, 6)
	if after[0].Origin != apmc.OriginReplay || after[0].Status != apmc.StatusSucceeded {
		t.Errorf("redriven execution = %s %s (%s), want a succeeded replay", after[0].Origin, after[0].Status, after[0].Error)
	}
	if _, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email); !ok {
		t.Errorf("member %s not written after redrive", email)
	}
}
