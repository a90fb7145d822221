package executionsapp_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/apptest"
	"github.com/apmc-sync/apmc/internal/app/executionsapp"
	"github.com/apmc-sync/apmc/internal/console"
)

const operatorToken = "operator-token-41c9"

// deployment is a deployment on kumo holding one instance, "acme", with
// the operations' settings the executions function would have.
type deployment struct {
	clients app.Clients
	ops     executionsapp.OpsConfig
	key     string
}

func newDeployment(t *testing.T) deployment {
	t.Helper()
	in := apptest.Instance("acme")
	in.Name = "Acme"
	d := apptest.New(t, in)
	return deployment{
		clients: d.Clients,
		ops: executionsapp.OpsConfig{InstancesTable: d.Tables.Instances, ExecutionsTable: d.Tables.Executions,
			QueueURL: d.Queues.ChangesURL, DeadLetterURL: d.Queues.DeadLetterURL},
		key: d.KeyID,
	}
}

func TestConfigFromEnv(t *testing.T) {
	vars := map[string]string{
		"INSTANCES_TABLE": "instances", "EXECUTIONS_TABLE": "executions", "QUEUE_URL": "q", "DEAD_LETTER_QUEUE_URL": "dlq",
		"OPERATOR_TOKEN_HASH": "abc", "CONSOLE_SESSION_KEY_ID": "session-key",
	}
	got, err := executionsapp.ConfigFromEnv(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatalf("ConfigFromEnv() error = %v", err)
	}
	want := executionsapp.OpsConfig{InstancesTable: "instances", ExecutionsTable: "executions", QueueURL: "q", DeadLetterURL: "dlq"}
	if got.Ops != want || got.TokenHash != "abc" || got.SessionKeyID != "session-key" || !got.Secure {
		t.Errorf("ConfigFromEnv() = %+v, want Ops %+v, TokenHash abc, SessionKeyID session-key, Secure", got, want)
	}
	_, err = executionsapp.ConfigFromEnv(func(string) string { return "" })
	if want := "configuration: INSTANCES_TABLE is not set; EXECUTIONS_TABLE is not set; QUEUE_URL is not set; DEAD_LETTER_QUEUE_URL is not set"; err == nil || err.Error() != want {
		t.Errorf("ConfigFromEnv(nothing) error = %v, want %q", err, want)
	}
}

func TestNewOps(t *testing.T) {
	d := newDeployment(t)
	ctx := context.Background()
	tests := []struct {
		name           string
		cfg            executionsapp.OpsConfig
		wantErr        string
		wantDeadLetter bool
		wantSecrets    bool
	}{
		{"display only, as the function", d.ops, "", true, false},
		{"with the secrets key, as the CLI", func() executionsapp.OpsConfig { c := d.ops; c.KMSKeyID = d.key; return c }(), "", true, true},
		{"no dead-letter queue", func() executionsapp.OpsConfig { c := d.ops; c.DeadLetterURL = ""; return c }(), "", false, false},
		{"no tables", executionsapp.OpsConfig{QueueURL: "q"}, "operations configuration: no instances table, executions table", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := executionsapp.NewOps(tt.cfg, d.clients)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("NewOps() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewOps() error = %v", err)
			}
			if got := o.Service.DeadLetters != nil; got != tt.wantDeadLetter {
				t.Errorf("NewOps().Service.DeadLetters set = %v, want %v", got, tt.wantDeadLetter)
			}
			sum, err := o.Service.Summary(ctx, "acme")
			if err != nil || sum.Instance.Name != "Acme" {
				t.Errorf("Summary(acme) = %+v, %v, want the instance Acme", sum.Instance, err)
			}
			if !tt.wantSecrets {
				return // the store has no sealer: nothing may ask it for secrets
			}
			in, err := o.Instances.Instance(ctx, "acme")
			if err != nil || in.Secrets.MailchimpAPIKey != apptest.Instance("acme").Secrets.MailchimpAPIKey {
				t.Errorf("Instances.Instance(acme) = secrets %v, %v, want them opened", in.Secrets, err)
			}
		})
	}
}

func TestNewServesTheAPIAndTheConsole(t *testing.T) {
	d := newDeployment(t)
	key := bytes.Repeat([]byte{7}, console.MinSessionKeySize)
	trusted := func(r *http.Request) bool { return r.Header.Get("X-Test-Trusted") == "yes" }
	tests := []struct {
		name        string
		cfg         executionsapp.Config
		request     func() *http.Request
		wantStatus  int
		wantLogged  string // in the logs; "" for nothing in particular
		wantSecured bool   // the session cookie is Secure
	}{
		{"API with the token", executionsapp.Config{TokenHash: api.HashToken(operatorToken)},
			func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/api/instances/acme", nil)
				r.Header.Set("Authorization", "Bearer "+operatorToken)
				return r
			}, http.StatusOK, "console sign-in disabled", false},
		{"API without the token", executionsapp.Config{TokenHash: api.HashToken(operatorToken)},
			func() *http.Request { return httptest.NewRequest(http.MethodGet, "/api/instances/acme", nil) }, http.StatusUnauthorized, "", false},
		{"API request the platform authenticated", executionsapp.Config{TrustRequest: trusted},
			func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/api/instances/acme", nil)
				r.Header.Set("X-Test-Trusted", "yes")
				return r
			}, http.StatusOK, "", false},
		{"console sign-in with a session key", executionsapp.Config{TokenHash: api.HashToken(operatorToken), SessionKey: key},
			signIn, http.StatusSeeOther, "", false},
		{"console sign-in over HTTPS", executionsapp.Config{TokenHash: api.HashToken(operatorToken), SessionKey: key, Secure: true},
			signIn, http.StatusSeeOther, "", true},
		{"console sign-in without a session key", executionsapp.Config{TokenHash: api.HashToken(operatorToken)},
			signIn, http.StatusServiceUnavailable, "CONSOLE_SESSION_KEY_ID is not set", false},
		{"console sign-in when KMS cannot derive the key", executionsapp.Config{TokenHash: api.HashToken(operatorToken), SessionKeyID: d.key},
			signIn, http.StatusServiceUnavailable, "derive console session key", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := tt.cfg
			cfg.Ops = d.ops
			f, err := executionsapp.New(context.Background(), cfg, app.Deps{AWS: d.clients, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			r := tt.request()
			w := httptest.NewRecorder()
			f.Handler.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", r.Method, r.URL.Path, w.Code, w.Body, tt.wantStatus)
			}
			if !strings.Contains(logs.String(), tt.wantLogged) {
				t.Errorf("logs = %q, want them to hold %q", logs.String(), tt.wantLogged)
			}
			if tt.wantStatus == http.StatusSeeOther {
				cookies := w.Result().Cookies()
				if len(cookies) == 0 {
					t.Fatalf("sign-in set no cookie")
				}
				if cookies[0].Secure != tt.wantSecured {
					t.Errorf("session cookie Secure = %v, want %v", cookies[0].Secure, tt.wantSecured)
				}
			}
		})
	}
}

// signIn is the console's sign-in with the operator token.
func signIn() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/console/login", strings.NewReader(url.Values{"token": {operatorToken}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
