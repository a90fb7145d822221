package ingest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUnknownInstanceLooksLikeWrongToken checks that nobody can tell from
// an answer whether an instance exists: an unknown instance, a wrong token
// and an empty token get the same status, headers and body.
func TestUnknownInstanceLooksLikeWrongToken(t *testing.T) {
	e := newEnv(t)
	ep := e.start(t)
	for _, tc := range []struct {
		name, method, prefix, contentType, body string
	}{
		{"accessplanit POST", http.MethodPost, "/webhooks/accessplanit/", "application/json", `{"ID":1}`},
		{"mailchimp GET", http.MethodGet, "/webhooks/mailchimp/", "", ""},
		{"mailchimp POST", http.MethodPost, "/webhooks/mailchimp/", formType, "type=subscribe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			paths := map[string]string{
				"wrong token":            tc.prefix + plainID + "/wrong",
				"unknown instance":       tc.prefix + "nobody/wrong",
				"unknown, right token":   tc.prefix + "nobody/" + e.byID[plainID].Secrets.AccessplanitToken,
				"empty token":            tc.prefix + plainID + "/",
				"extra segment":          tc.prefix + plainID + "/wrong/more",
				"very long instance id":  tc.prefix + strings.Repeat("i", 3000) + "/wrong",
				"escaped slash in token": tc.prefix + plainID + "/a%2Fb",
			}
			var first answer
			var firstName string
			for name, path := range paths {
				var body io.Reader
				if tc.body != "" {
					body = strings.NewReader(tc.body)
				}
				a := ep.send(t, tc.method, path, tc.contentType, body, nil)
				checkAnswer(t, a, http.StatusNotFound, "no such webhook")
				a.header.Del("Date")
				if firstName == "" {
					first, firstName = a, name
					continue
				}
				if a.status != first.status || a.raw != first.raw {
					t.Errorf("%s answered %d %q, %s answered %d %q: want the same", name, a.status, a.raw, firstName, first.status, first.raw)
				}
				if diff := cmp.Diff(first.header, a.header); diff != "" {
					t.Errorf("headers of %s differ from %s (-%s +%s):\n%s", name, firstName, firstName, name, diff)
				}
			}
			if q := ep.drain(t); len(q) != 0 {
				t.Errorf("%d messages queued, want none", len(q))
			}
			ep.stillServing(t)
		})
	}
}
