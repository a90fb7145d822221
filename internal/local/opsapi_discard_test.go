package local_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	"github.com/apmc-sync/apmc/internal/ops"
)

// postAPI sends an operator POST to the stack's API and decodes the answer.
func postAPI(t *testing.T, s *local.Stack, path string, into any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(s.Info.APIURL, "/api/")+path, nil)
	if err != nil {
		t.Fatalf("NewRequest(%s) error = %v", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Info.APIToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s error = %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d %s, want 200", path, res.StatusCode, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("POST %s answered %s: %v", path, body, err)
	}
}

func TestDiscardWhilePausedSkipsAndResumeReleasesNothing(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	id := s.Info.InstanceID
	in, err := s.Instances.Instance(ctx, id)
	if err != nil {
		t.Fatalf("Instance() error = %v", err)
	}
	in.DiscardWhilePaused = true
	if err := s.Instances.Update(ctx, in); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	var paused struct {
		Instance apmc.Instance `json:"instance"`
	}
	postAPI(t, s, "/api/instances/"+id+"/pause", &paused)
	if paused.Instance.State != apmc.StatePaused || !paused.Instance.DiscardWhilePaused {
		t.Fatalf("pause answered %+v, want paused and discarding", paused.Instance)
	}
	s.Cache.Forget(id)

	const email = "discarded@example.com"
	userID := newUser(t, s.Accessplanit, s.Info.Sandbox.Accessplanit.DefaultCompanyID, "First", email)
	waitExecutions(t, s, email, apmc.FlowToMailchimp, 1)
	if err := s.Accessplanit.EditUserInUI(userID, map[string]any{"Forenames": "Second"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	discarded := waitExecutions(t, s, email, apmc.FlowToMailchimp, 2)
	for _, e := range discarded {
		if e.Status != apmc.StatusSkipped || !strings.Contains(e.Reason, "discard") {
			t.Errorf("execution while paused = %s %q, want skipped, saying the change was discarded", e.Status, e.Reason)
		}
	}
	if n := len(s.Mailchimp.Members(s.Info.Sandbox.Mailchimp.ListID)); n != 0 {
		t.Fatalf("members while paused = %d, want 0", n)
	}

	var resumed ops.ResumeResult
	postAPI(t, s, "/api/instances/"+id+"/resume", &resumed)
	if resumed.Released != 0 || resumed.Instance.State != apmc.StateEnabled {
		t.Errorf("resume = released %d, state %s; want 0, enabled", resumed.Released, resumed.Instance.State)
	}
	// Nothing arrives later either: the discarded changes are gone.
	time.Sleep(2 * time.Second)
	after, _, err := s.Executions.Executions(ctx, id, apmc.ExecutionQuery{Contact: email, Limit: 100})
	if err != nil || len(after) != 2 {
		t.Errorf("executions after resume = %d (%v), want the 2 skipped only", len(after), err)
	}
	if n := len(s.Mailchimp.Members(s.Info.Sandbox.Mailchimp.ListID)); n != 0 {
		t.Errorf("members after resume = %d, want 0: a discarded change was applied", n)
	}
}
