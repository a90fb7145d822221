package ingest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ingest"
)

// opaqueReader hides the length of its reader, so the client sends the body
// chunked, without a Content-Length.
type opaqueReader struct{ io.Reader }

// percentEncodeAll encodes every byte of s as %XX, even the unreserved ones.
func percentEncodeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// TestMailchimpEndpointBadInput covers deliveries no well-behaved Mailchimp
// sends: each is answered in JSON with the status its kind calls for,
// queues only what it should, and leaves the server serving.
func TestMailchimpEndpointBadInput(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	base := url.Values{
		"type": {"profile"}, "fired_at": {"2026-03-04 09:59:58"}, "data[id]": {"8a25ff1d98"},
		"data[email]": {"bad.input@example.com"}, "data[merges][FNAME]": {"Ada"}, "data[merges][LNAME]": {"Lovelace"},
	}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range base {
			v[k] = append([]string(nil), vs...)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	without := func(key string) url.Values {
		v := with()
		v.Del(key)
		return v
	}

	long := strings.Repeat("ä", 5000) // 10,000 bytes, 5,000 characters
	long10k := strings.Repeat("x", 10000)
	injections := map[string]string{
		"FNAME": `Robert'); DROP TABLE Users;--`,
		"LNAME": `<script>alert("x")</script>{{.Secrets}}${jndi:ldap://127.0.0.1/a}`,
		"ORG":   `=HYPERLINK("http://127.0.0.1","x") | $(rm -rf /) %s %n ../../etc/passwd`,
	}
	// Every byte of every key and value percent-encoded, with a value large
	// enough that the encoded body is near (but under) the limit.
	heavyValue := strings.Repeat("é", 20000) // 40,000 bytes → 120,000 encoded
	heavy := with("data[merges][NOTES]", heavyValue)
	var heavyParts []string
	for k, vs := range heavy {
		heavyParts = append(heavyParts, percentEncodeAll(k)+"="+percentEncodeAll(vs[0]))
	}
	heavyBody := strings.Join(heavyParts, "&")
	if len(heavyBody) >= ingest.DefaultMaxBody {
		t.Fatalf("escape-heavy body is %d bytes, want under the %d-byte limit", len(heavyBody), ingest.DefaultMaxBody)
	}

	tests := []struct {
		name       string
		body       string
		chunked    bool
		wantStatus int
		wantError  string
		wantQueued int
		check      func(t *testing.T, c apmc.Change)
	}{
		{
			name: "10,000-character merge value is queued whole",
			body: with("data[merges][NOTES]", long10k, "data[merges][LNAME]", long).Encode(), wantStatus: http.StatusOK, wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				if c.Merges["NOTES"] != long10k {
					t.Errorf("queued NOTES has %d bytes, want the %d sent", len(c.Merges["NOTES"]), len(long10k))
				}
				if c.Merges["LNAME"] != long {
					t.Errorf("queued LNAME has %d bytes, want the %d sent", len(c.Merges["LNAME"]), len(long))
				}
			},
		},
		{
			name: "injection-looking names are queued verbatim",
			body: with("data[merges][FNAME]", injections["FNAME"], "data[merges][LNAME]", injections["LNAME"],
				"data[merges][ORG]", injections["ORG"]).Encode(),
			wantStatus: http.StatusOK, wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				for tag, want := range injections {
					if c.Merges[tag] != want {
						t.Errorf("queued %s = %q, want %q", tag, c.Merges[tag], want)
					}
				}
			},
		},
		{
			name: "broken percent-escape", body: "type=profile&fired_at=2026-03-04+09%3A59%3A58&data[email]=a%ZZ",
			wantStatus: http.StatusBadRequest, wantError: "cannot be decoded",
		},
		{
			name: "chunked body over the limit", chunked: true,
			body:       with("data[merges][NOTES]", strings.Repeat("y", ingest.DefaultMaxBody)).Encode(),
			wantStatus: http.StatusRequestEntityTooLarge, // The chunked path's message: no length was announced.
			wantError:  fmt.Sprintf("accepts: at most %d bytes", ingest.DefaultMaxBody),
		},
		{
			name: "chunked body under the limit is taken", chunked: true, body: base.Encode(),
			wantStatus: http.StatusOK, wantQueued: 1,
		},
		{
			name: "every byte percent-encoded, under the limit", body: heavyBody,
			wantStatus: http.StatusOK, wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				if c.Event != apmc.EventProfile || c.Email != "bad.input@example.com" || c.Merges["NOTES"] != heavyValue {
					t.Errorf("queued change: event %s, email %q, NOTES of %d bytes; want profile, bad.input@example.com, %d bytes",
						c.Event, c.Email, len(c.Merges["NOTES"]), len(heavyValue))
				}
			},
		},
		{
			name: "empty POST body", body: "",
			wantStatus: http.StatusBadRequest, wantError: "no type",
		},
		{
			name:       "type repeated: the first wins (subscribe, then unsubscribe)",
			body:       "type=subscribe&type=unsubscribe&" + without("type").Encode(),
			wantStatus: http.StatusOK, wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				if c.Event != apmc.EventSubscribe {
					t.Errorf("queued event = %s, want subscribe (the first type)", c.Event)
				}
			},
		},
		{
			name:       "type repeated: the first wins (cleaned, then subscribe)",
			body:       "type=cleaned&" + base.Encode() + "&type=subscribe",
			wantStatus: http.StatusOK, wantQueued: 1,
			check: func(t *testing.T, c apmc.Change) {
				if c.Event != apmc.EventCleaned {
					t.Errorf("queued event = %s, want cleaned (the first type)", c.Event)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := e.start(t, withNow(now))
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = opaqueReader{body}
			}
			a := ep.send(t, http.MethodPost, ep.mcPath(plainID), formType, body, nil)
			checkAnswer(t, a, tc.wantStatus, tc.wantError)
			if tc.wantQueued > 0 && a.text("status") != "queued" {
				t.Errorf("body = %s, want status %q", a.raw, "queued")
			}
			q := ep.drain(t)
			if len(q) != tc.wantQueued {
				t.Fatalf("%d messages queued, want %d", len(q), tc.wantQueued)
			}
			if tc.wantQueued > 0 {
				if c := q[0].change; c.ID != a.text("change_id") {
					t.Errorf("queued change id = %q, want the answer's %q", c.ID, a.text("change_id"))
				}
				if tc.check != nil {
					tc.check(t, q[0].change)
				}
			}
			ep.stillServing(t)
		})
	}
}
