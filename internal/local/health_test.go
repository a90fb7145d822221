package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// notifications is a local Slack-compatible receiver.
type notifications struct {
	mu    sync.Mutex
	texts []string
}

func (n *notifications) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	n.texts = append(n.texts, body.Text)
	n.mu.Unlock()
	_, _ = w.Write([]byte("ok"))
}

func (n *notifications) received() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.texts)
}

// TestNotificationURLIsToldOncePerChangeOfState runs the whole stack with a
// local receiver as the instance's notification URL: many failures notify
// once that the instance is failing, the first success after the quiet
// period once that it recovered, a pause once, however many changes it
// holds, and the resume once.
func TestNotificationURLIsToldOncePerChangeOfState(t *testing.T) {
	t.Parallel()
	const quiet = time.Second
	s := startStackWith(t, func(c *local.Config) {
		c.HealthPolicy = apmc.HealthPolicy{Quiet: quiet, Stamp: 100 * time.Millisecond}
	})
	ctx := context.Background()
	recv := &notifications{}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	id := s.Info.InstanceID
	in, err := s.Instances.Instance(ctx, id)
	if err != nil {
		t.Fatalf("Instance(%s) error = %v", id, err)
	}
	in.Secrets.NotificationURL = srv.URL + "/services/T0/B0/e2e"
	if err := s.Instances.Update(ctx, in); err != nil {
		t.Fatalf("Update error = %v", err)
	}
	s.Cache.Forget(id)
	createUser := func(email string) {
		t.Helper()
		if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Health", "Surname": "Check", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
			t.Fatalf("CreateUserInUI(%s) error = %v", email, err)
		}
	}
	want := func(what string, n int, last string) {
		t.Helper()
		waitFor(t, what, func() bool { return len(recv.received()) >= n })
		time.Sleep(300 * time.Millisecond) // a second notification would be late, not absent
		got := recv.received()
		if len(got) != n || !strings.Contains(got[n-1], last) || !strings.Contains(got[n-1], id) {
			t.Fatalf("after %s: notifications %q, want %d, the last saying %q of %s", what, got, n, last, id)
		}
	}

	// Many permanent failures: one notification.
	const failures = 8
	// Aimed at each member, so the write fails whether it goes out alone
	// or in a batch call with others.
	for i := range failures {
		s.Mailchimp.InjectFaults(sbmc.FaultRule{Kind: sbmc.FaultStatus, Status: http.StatusBadRequest, Title: "Invalid Resource", Member: fmt.Sprintf("failing-%d@example.com", i)})
	}
	for i := range failures {
		createUser(fmt.Sprintf("failing-%d@example.com", i))
	}
	waitFor(t, "every failure", func() bool {
		return len(executions(t, s, apmc.ExecutionQuery{Status: apmc.StatusFailed, Flow: apmc.FlowToMailchimp})) >= failures
	})
	want("the failures", 1, "is failing")

	// The first success after the quiet period: one notification.
	time.Sleep(quiet)
	for i := range 3 {
		createUser(fmt.Sprintf("recovered-%d@example.com", i))
	}
	want("the recovery", 2, "has recovered")

	// A pause, and several changes held: one notification. The functions'
	// cached instance still says enabled for up to its TTL: changes in that
	// window are applied, and must announce neither a resume nor the pause
	// twice.
	if _, err := s.Ops.Pause(ctx, id); err != nil {
		t.Fatalf("Pause error = %v", err)
	}
	for i := range 2 {
		createUser(fmt.Sprintf("stale-%d@example.com", i))
	}
	time.Sleep(s.Cache.TTL)
	for i := range 3 {
		createUser(fmt.Sprintf("held-%d@example.com", i))
	}
	waitFor(t, "the held changes", func() bool {
		return len(executions(t, s, apmc.ExecutionQuery{Status: apmc.StatusHeld, Flow: apmc.FlowToMailchimp})) >= 3
	})
	want("the pause", 3, "is paused")
	paused, err := s.Ops.Health(ctx, id)
	if err != nil {
		t.Fatalf("Health error = %v", err)
	}
	if paused.State != apmc.StatePaused || paused.Held < 3 {
		t.Errorf("Health while paused = %+v, want paused with 3 changes held", paused)
	}

	// The resume releases the held changes: one notification.
	if _, err := s.Ops.Resume(ctx, id); err != nil {
		t.Fatalf("Resume error = %v", err)
	}
	waitFor(t, "the released changes", func() bool {
		return len(executions(t, s, apmc.ExecutionQuery{Status: apmc.StatusSucceeded, Flow: apmc.FlowToMailchimp})) >= 8
	})
	want("the resume", 4, "is resumed")

	h, err := s.Ops.Health(ctx, id)
	if err != nil {
		t.Fatalf("Health error = %v", err)
	}
	if h.Failing || h.State != apmc.StateEnabled || h.Failed < failures || h.LastSuccessAt == nil || h.LastNotification == nil || h.LastNotification.Outcome != "delivered" {
		t.Errorf("Health = %+v, want enabled, healthy, its failures counted, a success and a delivered notification", h)
	}
}
