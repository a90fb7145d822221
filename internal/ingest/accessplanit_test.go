package ingest_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ingest"
)

// apSample reads a sample accessplanit delivery.
func apSample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "accessplanit", "testdata", "webhooks", name))
	if err != nil {
		t.Fatalf("read sample %s: %v", name, err)
	}
	return string(b)
}

// wholeUser is a delivery carrying the whole User with the given forenames.
func wholeUser(forenames string) string {
	return fmt.Sprintf(`{"ID":2001,"Forenames":%q,"Surname":"Hopper","Email":"Grace@Example.com","DateUpdated":"2025-05-06T07:08:09Z"}`, forenames)
}

func TestAccessplanitEndpoint(t *testing.T) {
	e := newEnv(t)
	injections := `<script>alert(1)</script> '; DROP TABLE users; -- {{7*7}} ${7*7}`
	long := strings.Repeat("x", 10_000)

	tests := []struct {
		name        string
		method      string
		path        func(ep *endpoint) string // default: the plain instance's URL
		contentType string
		body        string
		opts        []endpointOption
		wantStatus  int
		wantError   string // part of the error message
		wantQueued  int
		check       func(t *testing.T, q []queued)
	}{
		{
			name: "POST whole user sample", method: http.MethodPost, contentType: "application/json", body: apSample(t, "bare-user.json"),
			wantStatus: http.StatusAccepted, wantQueued: 1,
			check: func(t *testing.T, q []queued) {
				c := q[0].change
				if c.Event != apmc.EventCreated || c.UserID != "1042" || c.Email != "ada@example.com" || c.User == nil || c.Source != apmc.SideAccessplanit || c.InstanceID != plainID {
					t.Errorf("queued change = %+v, want a created change for user 1042 ada@example.com carrying the User", c)
				}
			},
		},
		{
			name: "POST delegate sample: a booking of its User", method: http.MethodPost, contentType: "application/json", body: apSample(t, "delegate.json"),
			wantStatus: http.StatusAccepted, wantQueued: 1,
			check: func(t *testing.T, q []queued) {
				c := q[0].change
				if c.Event != apmc.EventBooking || c.UserID != "1042" || c.DelegateID != "1042~77" || c.User != nil {
					t.Errorf("queued change = %+v, want a booking of user 1042 from delegate 1042~77, without a User", c)
				}
				if want := (apmc.Change{InstanceID: plainID, UserID: "1042"}).GroupID(); q[0].groupID != want {
					t.Errorf("group id = %s, want the user's %s", q[0].groupID, want)
				}
			},
		},
		{
			name: "PUT wrapper with delivery id", method: http.MethodPut, contentType: "application/json", body: apSample(t, "wrapper-data.json"),
			wantStatus: http.StatusAccepted, wantQueued: 1,
			check: func(t *testing.T, q []queued) {
				if c := q[0].change; c.Event != apmc.EventUpdated || c.UserID != "1042" || !strings.HasPrefix(c.ID, "sha256:") {
					t.Errorf("queued change = %+v, want updated, user 1042, an id from the content", c)
				}
			},
		},
		{
			name: "PATCH id only", method: http.MethodPatch, contentType: "application/json", body: apSample(t, "id-only.json"),
			wantStatus: http.StatusAccepted, wantQueued: 1,
			check: func(t *testing.T, q []queued) {
				c := q[0].change
				if c.Event != apmc.EventUpdated || c.UserID != "1042" || c.Email != "" || c.User != nil {
					t.Errorf("queued change = %+v, want updated for user 1042 without email or User", c)
				}
				if want := (apmc.Change{InstanceID: plainID, UserID: "1042"}).GroupID(); q[0].groupID != want {
					t.Errorf("group id = %s, want the user's %s", q[0].groupID, want)
				}
			},
		},
		{
			name: "DELETE email only", method: http.MethodDelete, contentType: "application/json", body: apSample(t, "email-only.json"),
			wantStatus: http.StatusAccepted, wantQueued: 1,
			check: func(t *testing.T, q []queued) {
				if c := q[0].change; c.Event != apmc.EventDeleted || c.Email != "ada@example.com" {
					t.Errorf("queued change = %+v, want deleted for ada@example.com", c)
				}
			},
		},
		{
			name: "POST lower-case entity wrapper", method: http.MethodPost, contentType: "application/json", body: apSample(t, "wrapper-entity-lowercase.json"),
			wantStatus: http.StatusAccepted, wantQueued: 1,
			check: func(t *testing.T, q []queued) {
				if c := q[0].change; c.Email != "ada@example.com" || c.User == nil {
					t.Errorf("queued change = %+v, want ada@example.com with the User", c)
				}
			},
		},
		{
			name: "PUT payload as a JSON string", method: http.MethodPut, contentType: "application/json", body: apSample(t, "wrapper-string-payload.json"),
			wantStatus: http.StatusAccepted, wantQueued: 1,
		},
		{
			name: "charset parameter and no content type at all are fine", method: http.MethodPost, contentType: "application/json; charset=utf-8", body: `{"ID":7}`,
			wantStatus: http.StatusAccepted, wantQueued: 1,
		},
		{
			name: "no content type", method: http.MethodPost, body: `{"ID":8}`,
			wantStatus: http.StatusAccepted, wantQueued: 1,
		},
		{
			name: "another module", method: http.MethodPost, contentType: "application/json", body: apSample(t, "company-module.json"),
			wantStatus: http.StatusBadRequest, wantError: "module",
		},
		{
			name: "no user id nor email", method: http.MethodPut, contentType: "application/json", body: apSample(t, "no-user.json"),
			wantStatus: http.StatusBadRequest, wantError: "no user ID and no email",
		},
		{
			name: "GET", method: http.MethodGet,
			wantStatus: http.StatusMethodNotAllowed, wantError: "method GET",
		},
		{
			name: "unknown instance", method: http.MethodPost, contentType: "application/json", body: `{"ID":1}`,
			path: func(ep *endpoint) string {
				return "/webhooks/accessplanit/nobody/" + e.byID[plainID].Secrets.AccessplanitToken
			},
			wantStatus: http.StatusNotFound, wantError: "no such webhook",
		},
		{
			name: "wrong token", method: http.MethodPost, contentType: "application/json", body: `{"ID":1}`,
			path:       func(ep *endpoint) string { return "/webhooks/accessplanit/" + plainID + "/wrong-token" },
			wantStatus: http.StatusNotFound, wantError: "no such webhook",
		},
		{
			name: "another instance's token", method: http.MethodPost, contentType: "application/json", body: `{"ID":1}`,
			path: func(ep *endpoint) string {
				return "/webhooks/accessplanit/" + plainID + "/" + e.byID[signedID].Secrets.AccessplanitToken
			},
			wantStatus: http.StatusNotFound, wantError: "no such webhook",
		},
		{
			name: "the Mailchimp token", method: http.MethodPost, contentType: "application/json", body: `{"ID":1}`,
			path: func(ep *endpoint) string {
				return "/webhooks/accessplanit/" + plainID + "/" + e.byID[plainID].Secrets.MailchimpToken
			},
			wantStatus: http.StatusNotFound, wantError: "no such webhook",
		},
		{
			name: "empty token", method: http.MethodPost, contentType: "application/json", body: `{"ID":1}`,
			path:       func(ep *endpoint) string { return "/webhooks/accessplanit/" + plainID + "/" },
			wantStatus: http.StatusNotFound, wantError: "no such webhook",
		},
		{
			name: "truncated JSON", method: http.MethodPost, contentType: "application/json", body: `{"ID":1042,"Email":"ada@exa`,
			wantStatus: http.StatusBadRequest, wantError: "not valid JSON",
		},
		{
			name: "not UTF-8", method: http.MethodPost, contentType: "application/json", body: "{\"ID\":1042,\"Forenames\":\"\xff\xfe\"}",
			wantStatus: http.StatusBadRequest, wantError: "UTF-8",
		},
		{
			name: "empty body", method: http.MethodPost, contentType: "application/json", body: "",
			wantStatus: http.StatusBadRequest, wantError: "empty body",
		},
		{
			name: "JSON array", method: http.MethodPost, contentType: "application/json", body: `[{"ID":1042}]`,
			wantStatus: http.StatusBadRequest, wantError: "not a JSON object",
		},
		{
			name: "JSON null", method: http.MethodPost, contentType: "application/json", body: `null`,
			wantStatus: http.StatusBadRequest, wantError: "not a JSON object",
		},
		{
			name: "text/html", method: http.MethodPost, contentType: "text/html", body: `{"ID":1042}`,
			wantStatus: http.StatusUnsupportedMediaType, wantError: "application/json",
		},
		{
			name: "form", method: http.MethodPost, contentType: "application/x-www-form-urlencoded", body: `ID=1042`,
			wantStatus: http.StatusUnsupportedMediaType, wantError: "application/json",
		},
		{
			name: "unparsable content type", method: http.MethodPost, contentType: "application/json; charset", body: `{"ID":1042}`,
			wantStatus: http.StatusUnsupportedMediaType, wantError: "unsupported content type",
		},
		{
			// A 10,000-character field fits well within the body limit: it is
			// queued as sent, not cut and not refused.
			name: "10,000-character field is queued whole", method: http.MethodPut, contentType: "application/json", body: wholeUser(long),
			wantStatus: http.StatusAccepted, wantQueued: 1,
			check: func(t *testing.T, q []queued) {
				if u := q[0].change.User; u == nil || u.Fields[apmc.FieldForenames] != long {
					t.Errorf("queued User = %+v, want Forenames of %d characters", u, len(long))
				}
			},
		},
		{
			name: "injection-looking names are queued verbatim", method: http.MethodPut, contentType: "application/json", body: wholeUser(injections),
			wantStatus: http.StatusAccepted, wantQueued: 1,
			check: func(t *testing.T, q []queued) {
				if u := q[0].change.User; u == nil || u.Fields[apmc.FieldForenames] != injections {
					t.Errorf("queued User = %+v, want Forenames %q exactly", u, injections)
				}
			},
		},
		{
			// Under the body limit, but every "<" grows sixfold when the
			// change is encoded for the queue: the answer must not be a
			// 503, which would have the sender retry a delivery that can
			// never fit. See escapeHeavy in the loop below.
			name: "escape-heavy body under the limit", method: http.MethodPut, contentType: "application/json",
			body:       wholeUser(strings.Repeat("<", 100_000)),
			wantStatus: -1,
		},
		{
			name: "paused instance: accepted and queued, the engine holds it", method: http.MethodPost, contentType: "application/json", body: `{"ID":1042}`,
			path:       func(ep *endpoint) string { return ep.apPath(pausedID) },
			wantStatus: http.StatusAccepted, wantQueued: 1,
			check: func(t *testing.T, q []queued) {
				if q[0].change.InstanceID != pausedID {
					t.Errorf("queued change is for %s, want %s", q[0].change.InstanceID, pausedID)
				}
			},
		},
		{
			name: "chunked body over the limit", method: http.MethodPost, contentType: "application/json",
			body: `{"ID":1042,"Forenames":"` + strings.Repeat("a", 2048) + `"}`, opts: []endpointOption{withMaxBody(1024)},
			wantStatus: http.StatusRequestEntityTooLarge, wantError: "at most 1024 bytes",
		},
		{
			name: "queue unreachable: 503 so the sender retries", method: http.MethodPost, contentType: "application/json", body: `{"ID":1042}`,
			opts:       []endpointOption{withQueueURL("http://127.0.0.1:1/000000000000/missing.fifo")},
			wantStatus: http.StatusServiceUnavailable, wantError: "try again",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := e.start(t, tc.opts...)
			path := ep.apPath(plainID)
			if tc.path != nil {
				path = tc.path(ep)
			}
			var body io.Reader = strings.NewReader(tc.body)
			if tc.name == "chunked body over the limit" {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			a := ep.send(t, tc.method, path, tc.contentType, body, nil)
			if tc.wantStatus == -1 {
				escapeHeavy(t, ep, a)
				return
			}
			checkAnswer(t, a, tc.wantStatus, tc.wantError)
			if tc.wantStatus == http.StatusAccepted && (a.text("status") != "queued" || a.text("change_id") == "") {
				t.Errorf("body = %s, want status queued and a change_id", a.raw)
			}
			q := ep.drain(t)
			if len(q) != tc.wantQueued {
				t.Fatalf("%d messages queued, want %d: %+v", len(q), tc.wantQueued, q)
			}
			if tc.wantQueued > 0 && q[0].change.ID != a.text("change_id") {
				t.Errorf("queued change id = %q, answered %q", q[0].change.ID, a.text("change_id"))
			}
			if tc.check != nil {
				tc.check(t, q)
			}
			ep.stillServing(t)
		})
	}
}

func TestAccessplanitGroupsAndDedup(t *testing.T) {
	e := newEnv(t)
	ep := e.start(t)
	send := func(method, body string) {
		t.Helper()
		if a := ep.send(t, method, ep.apPath(plainID), "application/json", strings.NewReader(body), nil); a.status != http.StatusAccepted {
			t.Fatalf("%s %s = %d %s, want 202", method, body, a.status, a.raw)
		}
	}
	send(http.MethodPost, `{"ID":1,"Email":"Ada@Example.com"}`)
	// The same delivery sent again: it carries its change time, so it is a
	// retry and deduplicated. Without one it would be queued again
	// (TestDeduplicationByChangeTime).
	send(http.MethodPut, `{"ID":1,"Email":"ada@example.com","Surname":"Byron","DateUpdated":"2026-03-04T10:11:12.345"}`)
	send(http.MethodPut, `{"ID":1,"Email":"ada@example.com","Surname":"Byron","DateUpdated":"2026-03-04T10:11:12.345"}`)
	send(http.MethodPut, `{"ID":2,"Email":"grace@example.com"}`)
	q := ep.drain(t)
	if len(q) != 3 {
		t.Fatalf("%d messages queued, want 3 (the repeated delivery deduplicated): %+v", len(q), q)
	}
	if ep.queue.calls() != 4 {
		t.Errorf("Enqueue called %d times, want 4", ep.queue.calls())
	}
	byEmail := map[string][]queued{}
	dedup := map[string]bool{}
	for _, m := range q {
		byEmail[m.change.Email] = append(byEmail[m.change.Email], m)
		if dedup[m.dedupID] {
			t.Errorf("dedup id %s used twice", m.dedupID)
		}
		dedup[m.dedupID] = true
	}
	ada, grace := byEmail["ada@example.com"], byEmail["grace@example.com"]
	if len(ada) != 2 || len(grace) != 1 {
		t.Fatalf("messages per contact = ada %d, grace %d, want 2 and 1", len(ada), len(grace))
	}
	if ada[0].groupID != ada[1].groupID {
		t.Errorf("the same contact got group ids %s and %s, want one", ada[0].groupID, ada[1].groupID)
	}
	if ada[0].groupID == grace[0].groupID {
		t.Errorf("two contacts share group id %s", ada[0].groupID)
	}
	if ada[0].change.Event != apmc.EventCreated || ada[1].change.Event != apmc.EventUpdated {
		t.Errorf("ada's events = %s, %s, want created then updated", ada[0].change.Event, ada[1].change.Event)
	}
}

// TestAccessplanitOversizeNotRead sends a Content-Length far over the limit
// and only a little of the body: the answer must come without the rest.
func TestAccessplanitOversizeNotRead(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		path func(ep *endpoint) string
		ct   string
	}{
		{"accessplanit", func(ep *endpoint) string { return ep.apPath(plainID) }, "application/json"},
		{"mailchimp", func(ep *endpoint) string { return ep.mcPath(plainID) }, "application/x-www-form-urlencoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := e.start(t)
			conn, err := net.Dial("tcp", ep.srv.Listener.Addr().String())
			if err != nil {
				t.Fatalf("Dial() error = %v", err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			const length = 50 << 20
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n{\"ID\":", tc.path(ep), tc.ct, length)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer before the body was sent: %v", err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), fmt.Sprintf("at most %d", ingest.DefaultMaxBody)) {
				t.Errorf("answer = %d %s, want 413 naming the limit", res.StatusCode, raw)
			}
			if q := ep.drain(t); len(q) != 0 {
				t.Errorf("%d messages queued, want none", len(q))
			}
			ep.stillServing(t)
		})
	}
}

// escapeHeavy accepts either answer that does not make the sender retry in
// vain: queued whole, or refused with 400 naming the queue's limit.
func escapeHeavy(t *testing.T, ep *endpoint, a answer) {
	t.Helper()
	q := ep.drain(t)
	switch a.status {
	case http.StatusAccepted:
		if len(q) != 1 || q[0].change.User == nil || len(q[0].change.User.Fields[apmc.FieldForenames]) != 100_000 {
			t.Errorf("answered 202 but queued %d messages, want the whole change", len(q))
		}
	case http.StatusBadRequest:
		checkAnswer(t, a, http.StatusBadRequest, "limit")
		if len(q) != 0 {
			t.Errorf("answered 400 but queued %d messages", len(q))
		}
	default:
		t.Errorf("status = %d %s, want 202 or 400", a.status, a.raw)
	}
	ep.stillServing(t)
}
