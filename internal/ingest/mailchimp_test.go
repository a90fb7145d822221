package ingest_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// mcSample reads a sample Mailchimp delivery (a form body).
func mcSample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "mailchimp", "testdata", "webhooks", name+".form"))
	if err != nil {
		t.Fatalf("read sample %s: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}

const formType = "application/x-www-form-urlencoded"

func TestMailchimpEndpoint(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	secret := e.byID[signedID].Secrets.MailchimpSigningSecret
	subscribe := mcSample(t, "subscribe")
	signed := func(body string, at time.Time) http.Header {
		return http.Header{mailchimp.SignatureHeader: {mailchimp.Sign(secret, []byte(body), at)}}
	}
	form := func(v url.Values) string { return v.Encode() }

	tests := []struct {
		name        string
		method      string
		path        func(ep *endpoint) string // default: the plain instance's URL
		contentType string
		body        string
		header      http.Header
		opts        []endpointOption
		wantStatus  int
		wantError   string
		wantBody    string // the "status" of a 2xx answer
		wantQueued  int
		check       func(t *testing.T, c apmc.Change)
	}{
		{name: "URL check, right token", method: http.MethodGet, wantStatus: http.StatusOK, wantBody: "ready"},
		{
			name: "URL check, wrong token", method: http.MethodGet,
			path:       func(ep *endpoint) string { return "/webhooks/mailchimp/" + plainID + "/nope" },
			wantStatus: http.StatusNotFound, wantError: "no such webhook",
		},
		{
			name: "URL check, unknown instance", method: http.MethodGet,
			path: func(ep *endpoint) string {
				return "/webhooks/mailchimp/nobody/" + e.byID[plainID].Secrets.MailchimpToken
			},
			wantStatus: http.StatusNotFound, wantError: "no such webhook",
		},
		{
			name: "URL check with the accessplanit token", method: http.MethodGet,
			path: func(ep *endpoint) string {
				return "/webhooks/mailchimp/" + plainID + "/" + e.byID[plainID].Secrets.AccessplanitToken
			},
			wantStatus: http.StatusNotFound, wantError: "no such webhook",
		},
		{
			name: "subscribe", method: http.MethodPost, contentType: formType, body: subscribe,
			wantStatus: http.StatusOK, wantBody: "queued", wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				if c.Event != apmc.EventSubscribe || c.Email != "api+test@mailchimp.com" || c.Merges["FNAME"] != "Zoë" || c.Merges["LNAME"] != "Łukasiewicz" {
					t.Errorf("queued change = %+v, want subscribe for api+test@mailchimp.com with FNAME Zoë, LNAME Łukasiewicz", c)
				}
			},
		},
		{
			name: "profile with a nested ADDRESS", method: http.MethodPost, contentType: formType, body: mcSample(t, "profile"),
			wantStatus: http.StatusOK, wantBody: "queued", wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				addr := c.Merges["ADDRESS"]
				if c.Event != apmc.EventProfile || !strings.Contains(addr, "1 Rue de l'Église") || !strings.Contains(addr, "Montréal") || strings.Contains(addr, "[") {
					t.Errorf("queued change = %+v, want profile with ADDRESS joined from its parts", c)
				}
			},
		},
		{
			name: "unsubscribe", method: http.MethodPost, contentType: formType, body: mcSample(t, "unsubscribe"),
			wantStatus: http.StatusOK, wantBody: "queued", wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				if c.Event != apmc.EventUnsubscribe || c.Action != "unsub" || c.Reason != "manual" {
					t.Errorf("queued change = %+v, want unsubscribe, action unsub, reason manual", c)
				}
			},
		},
		{
			name: "cleaned", method: http.MethodPost, contentType: formType, body: mcSample(t, "cleaned"),
			wantStatus: http.StatusOK, wantBody: "queued", wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				if c.Event != apmc.EventCleaned || c.Email != "api+cleaned@mailchimp.com" || c.Reason != "hard" {
					t.Errorf("queued change = %+v, want cleaned, api+cleaned@mailchimp.com, hard", c)
				}
			},
		},
		{
			name: "upemail", method: http.MethodPost, contentType: formType, body: mcSample(t, "upemail"),
			wantStatus: http.StatusOK, wantBody: "queued", wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				if c.Event != apmc.EventUpEmail || c.OldEmail != "old.address@example.com" || c.NewEmail != "new.address+news@example.com" {
					t.Errorf("queued change = %+v, want upemail old.address@example.com → new.address+news@example.com", c)
				}
				// Ordered with the changes to the new address that follow it.
				if want := (apmc.Change{InstanceID: plainID, Email: "new.address+news@example.com"}).GroupID(); c.GroupID() != want {
					t.Errorf("upemail group id = %s, want the new email's %s", c.GroupID(), want)
				}
			},
		},
		{
			name: "campaign is acknowledged and ignored", method: http.MethodPost, contentType: formType, body: mcSample(t, "campaign"),
			wantStatus: http.StatusOK, wantBody: "ignored",
		},
		{
			name: "duplicated form keys: the first wins", method: http.MethodPost, contentType: formType,
			body:       subscribe + "&data%5Bemail%5D=other%40example.com&data%5Bmerges%5D%5BFNAME%5D=Other",
			wantStatus: http.StatusOK, wantBody: "queued", wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				if c.Email != "api+test@mailchimp.com" || c.Merges["FNAME"] != "Zoë" {
					t.Errorf("queued change = %+v, want the first email and FNAME", c)
				}
			},
		},
		{
			name: "missing email", method: http.MethodPost, contentType: formType,
			body:       form(url.Values{"type": {"subscribe"}, "fired_at": {"2009-03-26 21:35:57"}, "data[id]": {"8a25ff1d98"}}),
			wantStatus: http.StatusBadRequest, wantError: "no data[email]",
		},
		{
			name: "missing type", method: http.MethodPost, contentType: formType,
			body:       form(url.Values{"fired_at": {"2009-03-26 21:35:57"}, "data[email]": {"a@example.com"}}),
			wantStatus: http.StatusBadRequest, wantError: "no type",
		},
		{
			name: "missing fired_at", method: http.MethodPost, contentType: formType,
			body:       form(url.Values{"type": {"profile"}, "data[email]": {"a@example.com"}}),
			wantStatus: http.StatusBadRequest, wantError: "no fired_at",
		},
		{
			name: "unknown type", method: http.MethodPost, contentType: formType,
			body:       form(url.Values{"type": {"resubscribe"}, "fired_at": {"2009-03-26 21:35:57"}, "data[email]": {"a@example.com"}}),
			wantStatus: http.StatusBadRequest, wantError: `unknown type "resubscribe"`,
		},
		{
			name: "not UTF-8", method: http.MethodPost, contentType: formType, body: subscribe + "&data%5Bmerges%5D%5BLNAME%5D=\xff",
			wantStatus: http.StatusBadRequest, wantError: "UTF-8",
		},
		{
			name: "percent-encoded bytes that are not UTF-8", method: http.MethodPost, contentType: formType,
			body:       strings.Replace(subscribe, "Zo%C3%AB", "Zo%FF", 1),
			wantStatus: http.StatusBadRequest, wantError: "UTF-8",
		},
		{
			name: "JSON instead of a form", method: http.MethodPost, contentType: "application/json", body: `{"type":"subscribe"}`,
			wantStatus: http.StatusUnsupportedMediaType, wantError: "application/x-www-form-urlencoded",
		},
		{
			name: "no content type", method: http.MethodPost, body: subscribe,
			wantStatus: http.StatusUnsupportedMediaType, wantError: "application/x-www-form-urlencoded",
		},
		{
			name: "PUT", method: http.MethodPut, contentType: formType, body: subscribe,
			wantStatus: http.StatusMethodNotAllowed, wantError: "method PUT",
		},
		{
			name: "signed: valid signature", method: http.MethodPost, contentType: formType, body: subscribe,
			path: func(ep *endpoint) string { return ep.mcPath(signedID) }, header: signed(subscribe, now.Add(-time.Minute)),
			wantStatus: http.StatusOK, wantBody: "queued", wantQueued: 1,
		},
		{
			name: "signed: no signature", method: http.MethodPost, contentType: formType, body: subscribe,
			path:       func(ep *endpoint) string { return ep.mcPath(signedID) },
			wantStatus: http.StatusUnauthorized, wantError: "signature missing",
		},
		{
			name: "signed: bad signature", method: http.MethodPost, contentType: formType, body: subscribe,
			path:       func(ep *endpoint) string { return ep.mcPath(signedID) },
			header:     http.Header{mailchimp.SignatureHeader: {"t=" + formatUnix(now) + ",v1=" + strings.Repeat("ab", 32)}},
			wantStatus: http.StatusUnauthorized, wantError: "signature invalid",
		},
		{
			name: "signed: signed 6 minutes ago", method: http.MethodPost, contentType: formType, body: subscribe,
			path: func(ep *endpoint) string { return ep.mcPath(signedID) }, header: signed(subscribe, now.Add(-6*time.Minute)),
			wantStatus: http.StatusUnauthorized, wantError: "out of range",
		},
		{
			name: "signed: signed 6 minutes ahead", method: http.MethodPost, contentType: formType, body: subscribe,
			path: func(ep *endpoint) string { return ep.mcPath(signedID) }, header: signed(subscribe, now.Add(6*time.Minute)),
			wantStatus: http.StatusUnauthorized, wantError: "out of range",
		},
		{
			name: "signed: signature of another body", method: http.MethodPost, contentType: formType, body: subscribe,
			path: func(ep *endpoint) string { return ep.mcPath(signedID) }, header: signed(mcSample(t, "profile"), now),
			wantStatus: http.StatusUnauthorized, wantError: "signature invalid",
		},
		{
			name: "unsigned instance ignores a signature header", method: http.MethodPost, contentType: formType, body: subscribe,
			header:     http.Header{mailchimp.SignatureHeader: {"t=1,v1=00"}},
			wantStatus: http.StatusOK, wantBody: "queued", wantQueued: 1,
		},
		{
			name: "paused instance: queued, the engine holds it", method: http.MethodPost, contentType: formType, body: subscribe,
			path:       func(ep *endpoint) string { return ep.mcPath(pausedID) },
			wantStatus: http.StatusOK, wantBody: "queued", wantQueued: 1,
		},
		{
			name: "body over the limit", method: http.MethodPost, contentType: formType, body: subscribe,
			opts:       []endpointOption{withMaxBody(64)},
			wantStatus: http.StatusRequestEntityTooLarge, wantError: "at most 64 bytes",
		},
		{
			name: "queue unreachable: 503 so Mailchimp retries", method: http.MethodPost, contentType: formType, body: subscribe,
			opts:       []endpointOption{withQueueURL("http://127.0.0.1:1/000000000000/missing.fifo")},
			wantStatus: http.StatusServiceUnavailable, wantError: "try again",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := e.start(t, append([]endpointOption{withNow(now)}, tc.opts...)...)
			path := ep.mcPath(plainID)
			if tc.path != nil {
				path = tc.path(ep)
			}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			a := ep.send(t, tc.method, path, tc.contentType, body, tc.header)
			checkAnswer(t, a, tc.wantStatus, tc.wantError)
			if tc.wantBody != "" && a.text("status") != tc.wantBody {
				t.Errorf("body = %s, want status %q", a.raw, tc.wantBody)
			}
			q := ep.drain(t)
			if len(q) != tc.wantQueued {
				t.Fatalf("%d messages queued, want %d: %+v", len(q), tc.wantQueued, q)
			}
			if tc.wantQueued > 0 {
				c := q[0].change
				if c.ID != a.text("change_id") || c.Source != apmc.SideMailchimp || !c.ReceivedAt.Equal(now) {
					t.Errorf("queued change id %q source %s received %s, want %q, mailchimp, %s", c.ID, c.Source, c.ReceivedAt, a.text("change_id"), now)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
			}
			ep.stillServing(t)
		})
	}
}

func formatUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
