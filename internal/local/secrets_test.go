package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// lockedBuffer collects the stack's JSON log lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSecretsNeverLeak drives both flows, failures and every read of the API,
// then looks for each secret in the logs, the recorded executions and the API
// answers.
func TestSecretsNeverLeak(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	logs := &lockedBuffer{}
	ctx := context.Background()
	s, err := local.Start(ctx, local.Config{Prefix: "secrets-sweep", RetryBase: 100 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("local.Start() error = %v", err)
	}
	t.Cleanup(s.Close)
	in, err := s.Instances.Instance(ctx, s.Info.InstanceID)
	if err != nil {
		t.Fatalf("Instance() error = %v", err)
	}
	// A notification URL that refuses every call: the failure's outcome is
	// logged and recorded, never the URL.
	const hookPath = "/services/T0000/B0000/notification-url-secret-part"
	hook := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(hook.Close)
	in.Secrets.NotificationURL = hook.URL + hookPath
	if err := s.Instances.Update(ctx, in); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	s.Cache.Forget(in.ID)
	if in, err = s.Instances.Instance(ctx, s.Info.InstanceID); err != nil {
		t.Fatalf("Instance() error = %v", err)
	}
	secrets := map[string]string{
		"notification URL":           in.Secrets.NotificationURL,
		"notification URL's path":    hookPath,
		"Mailchimp API key":          in.Secrets.MailchimpAPIKey,
		"accessplanit API key":       in.Secrets.AccessplanitAPIKey,
		"accessplanit webhook token": in.Secrets.AccessplanitToken,
		"Mailchimp webhook token":    in.Secrets.MailchimpToken,
		"Mailchimp signing secret":   in.Secrets.MailchimpSigningSecret,
		"operator token":             s.Info.APIToken,
	}
	for name, v := range secrets {
		if len(v) < 16 {
			t.Fatalf("%s %q is too short to search for", name, v)
		}
	}

	company := s.Info.Sandbox.Accessplanit.DefaultCompanyID
	list := s.Info.Sandbox.Mailchimp.ListID
	// Success both ways, a transient failure, a permanent failure.
	newUser(t, s.Accessplanit, company, "Ok", "ok@example.com")
	waitExecutions(t, s, "ok@example.com", apmc.FlowToMailchimp, 1)
	s.Mailchimp.InjectFaults(sbmc.FaultRule{Kind: sbmc.FaultStatus, Method: http.MethodPut, Status: 503, Count: 1},
		sbmc.FaultRule{Kind: sbmc.FaultStatus, Method: http.MethodPut, Status: 401, Title: "API Key Invalid", Detail: "Your API key may be invalid", Count: 1})
	newUser(t, s.Accessplanit, company, "Flaky", "flaky@example.com")
	waitExecutions(t, s, "flaky@example.com", apmc.FlowToMailchimp, 2)
	if err := s.Mailchimp.SubscribeInUI(list, "fromchimp@example.com", map[string]any{"FNAME": "From", "LNAME": "Chimp"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	waitExecutions(t, s, "fromchimp@example.com", apmc.FlowToAccessplanit, 1)
	// Refused deliveries.
	for _, u := range []string{s.Info.Webhooks.Accessplanit + "x", s.Info.Webhooks.Mailchimp} {
		resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader("type=profile&data[email]=x@example.com"))
		if err == nil {
			resp.Body.Close()
		}
	}

	// Every read an operator can make.
	base := strings.TrimSuffix(s.Info.APIURL, "/api/")
	var bodies strings.Builder
	get := func(path string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+s.Info.APIToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d %s", path, resp.StatusCode, b)
		}
		bodies.Write(b)
	}
	id := s.Info.InstanceID
	get("/api/instances")
	get("/api/instances/" + id)
	get("/api/instances/" + id + "/executions?limit=200")
	get("/api/instances/" + id + "/contacts/flaky@example.com/timeline")
	get("/api/health")
	get("/api/instances/" + id + "/health")
	all, _, err := s.Executions.Executions(ctx, id, apmc.ExecutionQuery{Limit: 200})
	if err != nil || len(all) < 4 {
		t.Fatalf("Executions() = %d, %v", len(all), err)
	}
	for _, e := range all {
		get(fmt.Sprintf("/api/instances/%s/executions/%s", id, e.ID))
	}
	recorded, _ := json.Marshal(all)

	logText := logs.String()
	if !strings.Contains(logText, `"level":"WARN"`) || !strings.Contains(string(recorded), "401") || !strings.Contains(logText, "notification\":\"failed: post notification: answered 404") {
		t.Fatalf("the sweep did not exercise failures: logs %d bytes, executions %s", len(logText), recorded)
	}
	for name, secret := range secrets {
		for where, text := range map[string]string{"logs": logText, "executions": string(recorded), "API answers": bodies.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s appears in the %s", name, where)
			}
		}
	}
}
