package console_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/console"
	"github.com/apmc-sync/apmc/internal/local"
)

// stacks counts the stacks started, to name each one's resources apart.
var stacks atomic.Int64

// startStack starts a local stack (kumo and the simulators, all on
// 127.0.0.1) whose stores and operations the console is tested against.
func startStack(t *testing.T) *local.Stack {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// kumo keeps state per process: every stack gets its own tables, queues and keys.
	prefix := fmt.Sprintf("console-%d-%s", stacks.Add(1), strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))
	s, err := local.Start(ctx, local.Config{Prefix: prefix, RetryBase: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("local.Start() error = %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// consoleServer serves a console over the stack's stores on 127.0.0.1.
type consoleServer struct {
	*httptest.Server
	stack  *local.Stack
	client *http.Client
}

func newConsole(t *testing.T, secure bool) *consoleServer {
	t.Helper()
	s := startStack(t)
	key := make([]byte, console.MinSessionKeySize)
	_, _ = rand.Read(key)
	h := console.New(console.Config{Ops: s.Ops, TokenHash: api.HashToken(s.Info.APIToken), SessionKey: key, Secure: secure})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &consoleServer{Server: srv, stack: s, client: client}
}

// do sends a request with the cookie (if any) and returns the response and
// its body.
func (c *consoleServer) do(t *testing.T, method, path string, form url.Values, cookie *http.Cookie) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	res, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s error = %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, path, err)
	}
	return res, string(b)
}

// login signs in and returns the session cookie.
func (c *consoleServer) login(t *testing.T) *http.Cookie {
	t.Helper()
	res, _ := c.do(t, http.MethodPost, "/console/login", url.Values{"token": {c.stack.Info.APIToken}}, nil)
	if res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 1 {
		t.Fatalf("POST /console/login with the token = %d with %d cookies, want 303 with a session cookie", res.StatusCode, len(res.Cookies()))
	}
	return res.Cookies()[0]
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page's forms.
func csrf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%s", body)
	}
	return m[1]
}

func TestLogin(t *testing.T) {
	for _, secure := range []bool{false, true} {
		c := newConsole(t, secure)
		tests := []struct {
			name       string
			token      string
			wantStatus int
			wantCookie bool
		}{
			{"right token", c.stack.Info.APIToken, http.StatusSeeOther, true},
			{"wrong token", "not-the-token", http.StatusUnauthorized, false},
			{"no token", "", http.StatusUnauthorized, false},
			{"token with a space", c.stack.Info.APIToken + " ", http.StatusUnauthorized, false},
		}
		for _, tt := range tests {
			res, body := c.do(t, http.MethodPost, "/console/login", url.Values{"token": {tt.token}}, nil)
			if res.StatusCode != tt.wantStatus || (len(res.Cookies()) > 0) != tt.wantCookie {
				t.Errorf("secure=%v %s: POST /console/login = %d with cookies %v, want %d (cookie %v)", secure, tt.name, res.StatusCode, res.Cookies(), tt.wantStatus, tt.wantCookie)
			}
			if !tt.wantCookie {
				if !strings.Contains(body, "not the operator token") || !strings.Contains(body, `name="token"`) {
					t.Errorf("secure=%v %s: the 401 page does not say why and offer the form again:\n%s", secure, tt.name, body)
				}
				continue
			}
			if loc := res.Header.Get("Location"); loc != "/console/" {
				t.Errorf("secure=%v: login redirects to %q, want /console/", secure, loc)
			}
			ck := res.Cookies()[0]
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" || ck.Secure != secure || ck.MaxAge != 12*3600 {
				t.Errorf("secure=%v: session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/console, Secure=%v, 12 h", secure, ck, secure)
			}
			if strings.Contains(ck.Value, c.stack.Info.APIToken) || strings.Contains(ck.Value, api.HashToken(c.stack.Info.APIToken)) {
				t.Errorf("session cookie %q carries the token or its hash", ck.Value)
			}
		}
	}
}

func TestSessionRequired(t *testing.T) {
	c := newConsole(t, false)
	good := c.login(t)
	forged := &http.Cookie{Name: good.Name, Value: good.Value[:len(good.Value)-2] + "AA"}
	paths := []string{"/console/", "/console/instances/demo", "/console/instances/demo/executions/01JAAAAAAAAAAAAAAAAAAAAAAA", "/console/instances/demo/timeline?contact=a@example.com", "/console/nowhere"}
	for _, p := range paths {
		for _, ck := range []*http.Cookie{nil, forged} {
			res, _ := c.do(t, http.MethodGet, p, nil, ck)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login" {
				t.Errorf("GET %s (cookie %v) = %d to %q, want 303 to /console/login", p, ck != nil, res.StatusCode, res.Header.Get("Location"))
			}
		}
		res, _ := c.do(t, http.MethodGet, p, nil, good)
		if res.StatusCode == http.StatusSeeOther {
			t.Errorf("GET %s signed in = 303 to %q, want the page", p, res.Header.Get("Location"))
		}
	}
	// The login page is open; signed in it forwards to the instances.
	if res, _ := c.do(t, http.MethodGet, "/console/login", nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /console/login = %d, want 200", res.StatusCode)
	}
	// Signing out clears the cookie.
	_, body := c.do(t, http.MethodGet, "/console/", nil, good)
	res, _ := c.do(t, http.MethodPost, "/console/logout", url.Values{"csrf": {csrf(t, body)}}, good)
	if res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 1 || res.Cookies()[0].MaxAge >= 0 {
		t.Errorf("POST /console/logout = %d with cookies %v, want 303 clearing the session cookie", res.StatusCode, res.Cookies())
	}
	// A copy of the cookie kept after signing out no longer signs anyone in.
	if res, _ := c.do(t, http.MethodGet, "/console/", nil, good); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login" {
		t.Errorf("GET /console/ with the cookie after signing out = %d to %q, want 303 to /console/login", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestPostsRequireCSRF(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	_, body := c.do(t, http.MethodGet, "/console/instances/demo", nil, ck)
	token := csrf(t, body)
	other := newConsole(t, false)
	_, otherBody := other.do(t, http.MethodGet, "/console/", nil, other.login(t))
	foreign := csrf(t, otherBody)

	posts := []string{"/console/instances/demo/pause", "/console/instances/demo/resume", "/console/instances/demo/replay-failed",
		"/console/instances/demo/executions/01JAAAAAAAAAAAAAAAAAAAAAAA/replay", "/console/logout"}
	for _, p := range posts {
		for _, form := range []url.Values{{}, {"csrf": {""}}, {"csrf": {foreign}}, {"csrf": {token + "x"}}} {
			res, body := c.do(t, http.MethodPost, p, form, ck)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "reload the page") {
				t.Errorf("POST %s with csrf %q = %d, want 403 explaining why", p, form.Get("csrf"), res.StatusCode)
			}
		}
	}
	in, err := c.stack.Instances.Display(context.Background(), "demo")
	if err != nil || in.State != apmc.StateEnabled {
		t.Fatalf("instance after refused pauses = %s, %v; want still enabled", in.State, err)
	}
	// With the token the action runs.
	res, _ := c.do(t, http.MethodPost, "/console/instances/demo/pause", url.Values{"csrf": {token}}, ck)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/instances/demo?done=paused" {
		t.Fatalf("POST pause with the token = %d to %q, want 303 to the instance", res.StatusCode, res.Header.Get("Location"))
	}
	if in, _ := c.stack.Instances.Display(context.Background(), "demo"); in.State != apmc.StatePaused {
		t.Errorf("instance after pause = %s, want paused", in.State)
	}
	_, body = c.do(t, http.MethodGet, "/console/instances/demo?done=paused", nil, ck)
	if !strings.Contains(body, "Instance paused") || !strings.Contains(body, `id="resume"`) {
		t.Errorf("instance page after pause lacks the notice or the Resume button")
	}
	res, _ = c.do(t, http.MethodPost, "/console/instances/demo/resume", url.Values{"csrf": {token}}, ck)
	if in, _ := c.stack.Instances.Display(context.Background(), "demo"); res.StatusCode != http.StatusSeeOther || in.State != apmc.StateEnabled {
		t.Errorf("POST resume = %d, instance %s; want 303 and enabled", res.StatusCode, in.State)
	}
}

func TestSecurityHeaders(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"Content-Type":            "text/html; charset=utf-8",
	}
	pages := []struct {
		path   string
		cookie *http.Cookie
		status int
	}{
		{"/console/login", nil, http.StatusOK},
		{"/console/", ck, http.StatusOK},
		{"/console/instances/demo", ck, http.StatusOK},
		{"/console/instances/demo?status=exploded", ck, http.StatusBadRequest},
		{"/console/instances/nope", ck, http.StatusNotFound},
		{"/console/instances/demo/executions/01JAAAAAAAAAAAAAAAAAAAAAAA", ck, http.StatusNotFound},
		{"/console/instances/demo/timeline?contact=not-an-email", ck, http.StatusBadRequest},
	}
	for _, p := range pages {
		res, _ := c.do(t, http.MethodGet, p.path, nil, p.cookie)
		if res.StatusCode != p.status {
			t.Errorf("GET %s = %d, want %d", p.path, res.StatusCode, p.status)
		}
		for k, v := range want {
			if got := res.Header.Get(k); got != v {
				t.Errorf("GET %s header %s = %q, want %q", p.path, k, got, v)
			}
		}
	}
	res, body := c.do(t, http.MethodGet, "/console/static/console.css", nil, nil)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, ".status-failed") {
		t.Errorf("GET the style sheet = %d %q, want 200 text/css", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("style sheet lacks nosniff")
	}
}

// hostile is markup an attacker could get into an execution through a
// contact's fields.
const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>`

func TestPagesEscapeData(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	now := time.Now().UTC()
	contact := "x@example.com"
	e := apmc.Execution{
		ID: apmc.NewExecutionID(now), InstanceID: "demo", ChangeID: "c1", Flow: apmc.FlowToMailchimp, Event: apmc.EventUpdated,
		Origin: apmc.OriginWebhook, Attempt: 1, Status: apmc.StatusFailed, Contact: contact, Error: "rejected " + hostile,
		StartedAt: now, FinishedAt: now.Add(time.Second), ExpiresAt: now.Add(24 * time.Hour),
		Steps:  []apmc.Step{{Name: "map", Status: "ok", Output: map[string]any{"FNAME": hostile}}, {Name: "write", Status: "failed", Error: hostile}},
		Logs:   []apmc.LogLine{{Time: now, Level: "info", Message: "user " + hostile}, {Time: now, Level: "error", Message: "failed " + hostile}},
		Change: &apmc.Change{ID: "c1", InstanceID: "demo", Email: contact},
	}
	if err := c.stack.Executions.SaveExecution(context.Background(), e); err != nil {
		t.Fatalf("SaveExecution() error = %v", err)
	}
	pages := []string{
		"/console/instances/demo",
		"/console/instances/demo?status=failed",
		"/console/instances/demo/executions/" + e.ID,
		"/console/instances/demo/executions/" + e.ID + "?errors_only=1",
		"/console/instances/demo/timeline?contact=" + url.QueryEscape(contact),
		"/console/instances/demo?contact=" + url.QueryEscape(`"><script>alert(3)</script>`),
	}
	for _, p := range pages {
		res, body := c.do(t, http.MethodGet, p, nil, ck)
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s = %d, want a page", p, res.StatusCode)
		}
		for _, bad := range []string{"<script", "<img"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s renders %q unescaped", p, bad)
			}
		}
	}
	_, body := c.do(t, http.MethodGet, "/console/instances/demo/executions/"+e.ID, nil, ck)
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `id="replay"`, "step-failed", "level-error", "level-info"} {
		if !strings.Contains(body, want) {
			t.Errorf("execution page lacks %q", want)
		}
	}
	_, body = c.do(t, http.MethodGet, "/console/instances/demo/timeline?contact="+url.QueryEscape(contact), nil, ck)
	if !strings.Contains(body, `id="timeline"`) || !strings.Contains(body, e.ID) {
		t.Errorf("timeline of %s does not list execution %s", contact, e.ID)
	}
	_, body = c.do(t, http.MethodGet, "/console/instances/demo/executions/"+e.ID+"?errors_only=1", nil, ck)
	if strings.Contains(body, "level-info") || !strings.Contains(body, "level-error") {
		t.Errorf("errors-only log still shows info lines or lost the error line")
	}
}

func TestPagesHoldNoSecret(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	info := c.stack.Info
	secrets := map[string]string{
		"operator token":         info.APIToken,
		"operator token hash":    api.HashToken(info.APIToken),
		"Mailchimp API key":      info.Sandbox.Mailchimp.APIKey,
		"Mailchimp signing key":  info.Sandbox.Mailchimp.SigningSecret,
		"accessplanit API key":   info.Sandbox.Accessplanit.APIKey,
		"accessplanit token URL": info.Webhooks.Accessplanit,
	}
	for _, p := range []string{"/console/login", "/console/", "/console/instances/demo"} {
		_, body := c.do(t, http.MethodGet, p, nil, ck)
		for name, secret := range secrets {
			if secret != "" && strings.Contains(body, secret) {
				t.Errorf("GET %s shows the %s", p, name)
			}
		}
	}
}
