package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
)

func startStack(t *testing.T) *local.Stack {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// kumo keeps state per process: every stack gets its own tables and queues.
	prefix := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	s, err := local.Start(ctx, local.Config{Prefix: prefix, RetryBase: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("local.Start() error = %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// waitExecutions waits until the contact has at least n executions of flow
// and returns them, newest first.
func waitExecutions(t *testing.T, s *local.Stack, contact string, flow apmc.Flow, n int) []apmc.Execution {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, _, err := s.Executions.Executions(context.Background(), s.Info.InstanceID, apmc.ExecutionQuery{Contact: contact, Flow: flow, Limit: 100})
		if err != nil {
			t.Fatalf("Executions() error = %v", err)
		}
		if len(list) >= n {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("contact %s has %d %s executions after 15 s, want %d: %+v", contact, len(list), flow, n, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAccessplanitToMailchimpEndToEnd(t *testing.T) {
	s := startStack(t)
	ap, mc, list := s.Accessplanit, s.Mailchimp, s.Info.Sandbox.Mailchimp.ListID

	id, err := ap.CreateUserInUI(map[string]any{"Forenames": "Ada", "Surname": "Lovelace", "Email": "Ada.Lovelace@Example.com", "Phone": "+44 20 7946 0000", "MarketingOptIn": true, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	const email = "ada.lovelace@example.com"
	execs := waitExecutions(t, s, email, apmc.FlowToMailchimp, 1)
	if e := execs[0]; e.Status != apmc.StatusSucceeded || !e.Changed || e.Origin != apmc.OriginWebhook || e.Attempt != 1 {
		t.Fatalf("create execution = %s changed=%v origin=%s attempt=%d error=%q, want succeeded, changed, webhook, 1", e.Status, e.Changed, e.Origin, e.Attempt, e.Error)
	}
	m, ok := mc.Member(list, email)
	if !ok {
		t.Fatalf("member %s not in the Mailchimp simulator", email)
	}
	want := map[string]any{"FNAME": "Ada", "LNAME": "Lovelace", "PHONE": "+44 20 7946 0000"}
	for tag, v := range want {
		if m.MergeFields[tag] != v {
			t.Errorf("merge field %s = %v, want %v", tag, m.MergeFields[tag], v)
		}
	}
	if m.Status != "subscribed" {
		t.Errorf("member status = %q, want subscribed", m.Status)
	}
	// Mailchimp's webhook for the service's own write (api source on) is an echo.
	back := waitExecutions(t, s, email, apmc.FlowToAccessplanit, 1)
	if back[0].Status != apmc.StatusSuppressed {
		t.Errorf("echo from Mailchimp: status = %s (%s %s), want suppressed", back[0].Status, back[0].Reason, back[0].Error)
	}

	// An update reaches Mailchimp.
	writes := mc.Stats().MemberWrites
	if err := ap.EditUserInUI(id, map[string]any{"Forenames": "Augusta Ada"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	execs = waitExecutions(t, s, email, apmc.FlowToMailchimp, 2)
	if execs[0].Status != apmc.StatusSucceeded || !execs[0].Changed {
		t.Fatalf("update execution = %s changed=%v %q", execs[0].Status, execs[0].Changed, execs[0].Error)
	}
	if m, _ := mc.Member(list, email); m.MergeFields["FNAME"] != "Augusta Ada" {
		t.Errorf("FNAME after update = %v, want Augusta Ada", m.MergeFields["FNAME"])
	}
	if got := mc.Stats().MemberWrites - writes; got != 1 {
		t.Errorf("Mailchimp member writes for one update = %d, want 1", got)
	}

	// An update of an unmapped field writes nothing.
	waitExecutions(t, s, email, apmc.FlowToAccessplanit, 2)
	writes = mc.Stats().MemberWrites
	if err := ap.EditUserInUI(id, map[string]any{"JobTitle": "Analyst"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	execs = waitExecutions(t, s, email, apmc.FlowToMailchimp, 3)
	if e := execs[0]; e.Status != apmc.StatusSucceeded || e.Changed {
		t.Errorf("unmapped update execution = %s changed=%v, want succeeded without change", e.Status, e.Changed)
	}
	if got := mc.Stats().MemberWrites - writes; got != 0 {
		t.Errorf("Mailchimp member writes for an unmapped change = %d, want 0", got)
	}
}

func TestUserWithoutEmailFailsPermanently(t *testing.T) {
	s := startStack(t)
	id, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "No", "Surname": "Email", "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, _, err := s.Executions.Executions(context.Background(), s.Info.InstanceID, apmc.ExecutionQuery{Status: apmc.StatusFailed})
		if err != nil {
			t.Fatalf("Executions() error = %v", err)
		}
		if len(list) == 1 {
			e := list[0]
			if !strings.Contains(e.Error, "mandatory value missing: EMAIL") || e.Retryable || e.Attempt != 1 {
				t.Errorf("execution = error %q retryable %v attempt %d; want a permanent failure naming EMAIL", e.Error, e.Retryable, e.Attempt)
			}
			if !strings.Contains(e.Error, id) {
				t.Errorf("error %q does not name user %s", e.Error, id)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed execution after 15 s (found %d)", len(list))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Not retried: no second attempt shows up.
	time.Sleep(time.Second)
	all, _, _ := s.Executions.Executions(context.Background(), s.Info.InstanceID, apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp})
	if len(all) != 1 {
		t.Errorf("executions = %d, want exactly 1 (a permanent failure is not retried)", len(all))
	}
	if n := len(s.Mailchimp.Members(s.Info.Sandbox.Mailchimp.ListID)); n != 0 {
		t.Errorf("Mailchimp members = %d, want 0", n)
	}
}

func TestExecutionsAPI(t *testing.T) {
	s := startStack(t)
	if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Grace", "Surname": "Hopper", "Email": "grace@example.com", "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	waitExecutions(t, s, "grace@example.com", apmc.FlowToMailchimp, 1)

	get := func(path, token string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(s.Info.APIURL, "/api/")+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s error = %v", path, err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	path := fmt.Sprintf("/api/instances/%s/executions", s.Info.InstanceID)
	if code, _ := get(path, ""); code != http.StatusUnauthorized {
		t.Errorf("anonymous GET = %d, want 401", code)
	}
	if code, _ := get(path, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("GET with a wrong token = %d, want 401", code)
	}
	code, body := get(path+"?flow=accessplanit_to_mailchimp&limit=1", s.Info.APIToken)
	if code != http.StatusOK {
		t.Fatalf("GET executions = %d %v", code, body)
	}
	list, _ := body["executions"].([]any)
	if len(list) != 1 {
		t.Fatalf("executions = %v, want 1", body)
	}
	first := list[0].(map[string]any)
	for _, k := range []string{"id", "flow", "origin", "attempt", "status", "changed", "contact", "started_at", "finished_at"} {
		if _, ok := first[k]; !ok {
			t.Errorf("execution lacks %q: %v", k, first)
		}
	}
	code, one := get(fmt.Sprintf("%s/%s", path, first["id"]), s.Info.APIToken)
	if code != http.StatusOK || one["id"] != first["id"] || one["steps"] == nil {
		t.Errorf("GET execution = %d %v", code, one)
	}
	if code, body := get(path+"?status=bogus", s.Info.APIToken); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["error"]), "status") {
		t.Errorf("bad filter = %d %v, want 400 naming status", code, body)
	}
	if code, _ := get("/api/instances/nope/executions", s.Info.APIToken); code != http.StatusNotFound {
		t.Errorf("unknown instance = %d, want 404", code)
	}
}
