package mailchimp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testKey = "0123456789abcdef0123456789abcdef-us21"

// env is one simulator behind a real HTTP server on 127.0.0.1 with one
// account and one audience.
type env struct {
	t      *testing.T
	srv    *Server
	http   *httptest.Server
	listID string
	// validate holds every JSON answer to the contract (nil when the
	// contract document is absent).
	validate func(t *testing.T, req *http.Request, body []byte, resp *http.Response, respBody []byte)
}

func newEnv(t *testing.T, extra ...MergeField) *env {
	t.Helper()
	srv := New(Options{WebhookRetryDelay: 10 * time.Millisecond})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	srv.AddAccount(testKey)
	e := &env{t: t, srv: srv, http: ts, listID: srv.AddList(testKey, "Sandbox audience", extra...)}
	e.validate = contractResponseValidator()
	return e
}

// request builds an API request authenticated with a bearer key.
func (e *env) request(method, path string, body any) (*http.Request, []byte) {
	e.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			e.t.Fatalf("marshal body: %v", err)
		}
	}
	req, err := http.NewRequest(method, e.http.URL+path, bytes.NewReader(raw))
	if err != nil {
		e.t.Fatalf("NewRequest(%s %s): %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	return req, raw
}

// send sends req and returns the answer and its body; a JSON answer to a
// contract path is held to the contract.
func (e *env) send(req *http.Request, raw []byte) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body of %s %s: %v", req.Method, req.URL.Path, err)
	}
	if e.validate != nil && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		e.validate(e.t, req, raw, resp, body)
	}
	return resp, body
}

// do sends an authenticated API request with a JSON body.
func (e *env) do(method, path string, body any) (*http.Response, []byte) {
	e.t.Helper()
	req, raw := e.request(method, path, body)
	return e.send(req, raw)
}

// memberPath is the API path of email's member in the test audience.
func (e *env) memberPath(email string) string {
	return "/3.0/lists/" + e.listID + "/members/" + SubscriberHash(email)
}

// decodeProblem reads a problem+json body, failing when it is not one.
func decodeProblem(t *testing.T, resp *http.Response, body []byte) problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type = %q, want application/problem+json (body %s)", ct, body)
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode problem %s: %v", body, err)
	}
	if p.Type == "" || p.Title == "" || p.Status != resp.StatusCode || p.Detail == "" || p.Instance == "" {
		t.Errorf("problem = %+v, want type, title, status %d, detail and instance", p, resp.StatusCode)
	}
	return p
}

// decodeObject reads a JSON object body.
func decodeObject(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}
