package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
)

const bearer = "Bearer " + operatorToken

func TestAPI(t *testing.T) {
	e := newEnv(t)
	all := e.pick(func(apmc.Execution) bool { return true })
	mid := e.executions[3].StartedAt // the fourth newest
	rfc := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339)) }
	otherCursor := base64.RawURLEncoding.EncodeToString([]byte(`{"instance_id":"beta","execution_id":"` + e.executions[0].ID + `"}`))

	tests := []struct {
		name       string
		method     string // default GET
		path       string
		auth       string // default: the operator token
		wantStatus int
		wantError  string   // part of the error message of a refusal
		wantIDs    []string // the executions listed, in order
		check      func(t *testing.T, a answer)
	}{
		{name: "anonymous", path: "/api/instances", auth: "-", wantStatus: http.StatusUnauthorized, wantError: "authentication required",
			check: func(t *testing.T, a answer) {
				if a.header.Get("WWW-Authenticate") == "" {
					t.Errorf("a 401 without WWW-Authenticate")
				}
			}},
		{name: "wrong token", path: "/api/instances", auth: "Bearer not-the-token", wantStatus: http.StatusUnauthorized, wantError: "authentication required"},
		{name: "empty bearer token", path: "/api/instances", auth: "Bearer ", wantStatus: http.StatusUnauthorized, wantError: "authentication required"},
		{name: "token without the Bearer scheme", path: "/api/instances", auth: operatorToken, wantStatus: http.StatusUnauthorized, wantError: "authentication required"},
		{name: "a webhook token is not an operator token", path: "/api/instances", auth: "Bearer ap-token-alpha-5c9a", wantStatus: http.StatusUnauthorized, wantError: "authentication required"},
		{name: "anonymous on an unknown route", path: "/api/nothing", auth: "-", wantStatus: http.StatusUnauthorized, wantError: "authentication required"},
		{name: "list instances", path: "/api/instances", wantStatus: http.StatusOK,
			check: func(t *testing.T, a answer) {
				var list []struct{ Instance apmc.Instance }
				if err := json.Unmarshal(a.body["instances"], &list); err != nil || len(list) != 2 || list[0].Instance.ID != "alpha" || list[1].Instance.ID != "beta" {
					t.Errorf("instances = %s (%v), want the summaries of alpha and beta", a.body["instances"], err)
				}
			}},
		{name: "one instance", path: "/api/instances/alpha", wantStatus: http.StatusOK,
			check: func(t *testing.T, a answer) {
				var in apmc.Instance
				if err := json.Unmarshal(a.body["instance"], &in); err != nil || in.ID != "alpha" || in.MailchimpListID != "list-alpha" {
					t.Errorf("summary = %s (%v), want alpha with its list", a.raw, err)
				}
			}},
		{name: "unknown instance", path: "/api/instances/nobody", wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "executions of an unknown instance", path: "/api/instances/nobody/executions", wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "unknown execution", path: "/api/instances/alpha/executions/01JZZZZZZZZZZZZZZZZZZZZZZZ", wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "another instance's execution", path: "/api/instances/beta/executions/" + e.executions[0].ID, wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "unknown route", path: "/api/nothing", wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "misspelt filter", path: "/api/instances/alpha/executions?stauts=failed", wantStatus: http.StatusBadRequest, wantError: `unknown query parameter "stauts"`},
		{name: "unknown filters among known ones", path: "/api/instances/alpha/executions?status=failed&page=2&sort=asc", wantStatus: http.StatusBadRequest, wantError: `unknown query parameters "page", "sort"`},
		{name: "a known filter, empty", path: "/api/instances/alpha/executions?cursor=&contact=", wantStatus: http.StatusOK, wantIDs: all},
		{name: "every execution carries error and contact", path: "/api/instances/alpha/executions?limit=200", wantStatus: http.StatusOK, wantIDs: all,
			check: func(t *testing.T, a answer) {
				var list []map[string]json.RawMessage
				if err := json.Unmarshal(a.body["executions"], &list); err != nil {
					t.Fatalf("executions = %s: %v", a.body["executions"], err)
				}
				for _, x := range list {
					for _, key := range []string{"error", "contact"} {
						if _, ok := x[key]; !ok {
							t.Errorf("execution %s lacks the key %q", x["id"], key)
						}
					}
				}
			}},
		{name: "unknown method", method: http.MethodDelete, path: "/api/instances/alpha", wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "one execution", path: "/api/instances/alpha/executions/" + e.executions[2].ID, wantStatus: http.StatusOK,
			check: func(t *testing.T, a answer) {
				var x apmc.Execution
				if err := json.Unmarshal([]byte(a.raw), &x); err != nil || x.ID != e.executions[2].ID || x.Status != e.executions[2].Status || len(x.Steps) != 1 {
					t.Errorf("execution = %s (%v), want %s", a.raw, err, e.executions[2].ID)
				}
			}},
		{name: "all executions, newest first", path: "/api/instances/alpha/executions", wantStatus: http.StatusOK, wantIDs: all},
		{name: "no executions", path: "/api/instances/beta/executions", wantStatus: http.StatusOK, wantIDs: []string{}},
		{name: "status", path: "/api/instances/alpha/executions?status=succeeded", wantStatus: http.StatusOK,
			wantIDs: e.pick(func(x apmc.Execution) bool { return x.Status == apmc.StatusSucceeded })},
		{name: "flow", path: "/api/instances/alpha/executions?flow=mailchimp_to_accessplanit", wantStatus: http.StatusOK,
			wantIDs: e.pick(func(x apmc.Execution) bool { return x.Flow == apmc.FlowToAccessplanit })},
		{name: "contact, any case", path: "/api/instances/alpha/executions?contact=Grace@Example.com", wantStatus: http.StatusOK,
			wantIDs: e.pick(func(x apmc.Execution) bool { return x.Contact == "grace@example.com" })},
		{name: "changed only", path: "/api/instances/alpha/executions?changed_only=true", wantStatus: http.StatusOK,
			wantIDs: e.pick(func(x apmc.Execution) bool { return x.Changed })},
		{name: "original only", path: "/api/instances/alpha/executions?original_only=1", wantStatus: http.StatusOK,
			wantIDs: e.pick(func(x apmc.Execution) bool { return x.Origin == apmc.OriginWebhook || x.Origin == apmc.OriginBackfill })},
		{name: "from (inclusive)", path: "/api/instances/alpha/executions?from=" + rfc(mid), wantStatus: http.StatusOK,
			wantIDs: e.pick(func(x apmc.Execution) bool { return !x.StartedAt.Before(mid) })},
		{name: "to (exclusive)", path: "/api/instances/alpha/executions?to=" + rfc(mid), wantStatus: http.StatusOK,
			wantIDs: e.pick(func(x apmc.Execution) bool { return x.StartedAt.Before(mid) })},
		{name: "filters combined", path: "/api/instances/alpha/executions?flow=accessplanit_to_mailchimp&contact=ada@example.com&original_only=true&limit=200", wantStatus: http.StatusOK,
			wantIDs: e.pick(func(x apmc.Execution) bool {
				return x.Flow == apmc.FlowToMailchimp && x.Contact == "ada@example.com" && x.Origin == apmc.OriginWebhook
			})},
		{name: "bad status", path: "/api/instances/alpha/executions?status=done", wantStatus: http.StatusBadRequest, wantError: "status must be"},
		{name: "bad flow", path: "/api/instances/alpha/executions?flow=both", wantStatus: http.StatusBadRequest, wantError: "flow must be"},
		{name: "bad from", path: "/api/instances/alpha/executions?from=yesterday", wantStatus: http.StatusBadRequest, wantError: "from must be an RFC 3339 time"},
		{name: "bad to", path: "/api/instances/alpha/executions?to=2026-01-01", wantStatus: http.StatusBadRequest, wantError: "to must be an RFC 3339 time"},
		{name: "from after to", path: "/api/instances/alpha/executions?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", wantStatus: http.StatusBadRequest, wantError: "from must be before to"},
		{name: "from equal to to", path: "/api/instances/alpha/executions?from=2026-02-01T00:00:00Z&to=2026-02-01T00:00:00Z", wantStatus: http.StatusBadRequest, wantError: "from must be before to"},
		{name: "bad original_only", path: "/api/instances/alpha/executions?original_only=maybe", wantStatus: http.StatusBadRequest, wantError: "original_only must be true or false"},
		{name: "bad changed_only", path: "/api/instances/alpha/executions?changed_only=2", wantStatus: http.StatusBadRequest, wantError: "changed_only must be true or false"},
		{name: "bad contact", path: "/api/instances/alpha/executions?contact=ada", wantStatus: http.StatusBadRequest, wantError: "contact must be an email address"},
		{name: "limit zero", path: "/api/instances/alpha/executions?limit=0", wantStatus: http.StatusBadRequest, wantError: "limit must be a number from 1 to 200"},
		{name: "limit too big", path: "/api/instances/alpha/executions?limit=201", wantStatus: http.StatusBadRequest, wantError: "limit must be"},
		{name: "limit not a number", path: "/api/instances/alpha/executions?limit=ten", wantStatus: http.StatusBadRequest, wantError: "limit must be"},
		{name: "cursor not base64", path: "/api/instances/alpha/executions?cursor=%21%21%21", wantStatus: http.StatusBadRequest, wantError: "cursor is not valid"},
		{name: "cursor not a key", path: "/api/instances/alpha/executions?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("[]")), wantStatus: http.StatusBadRequest, wantError: "cursor is not valid"},
		{name: "cursor of another instance", path: "/api/instances/alpha/executions?cursor=" + otherCursor, wantStatus: http.StatusBadRequest, wantError: "cursor is not valid"},
		{name: "every bad parameter named at once", path: "/api/instances/alpha/executions?status=x&flow=y&limit=-1", wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, a answer) {
				for _, p := range []string{"status", "flow", "limit"} {
					if !strings.Contains(a.errorMessage(), p+" must be") {
						t.Errorf("error = %q, want it to name %s", a.errorMessage(), p)
					}
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, auth := tc.method, tc.auth
			if method == "" {
				method = http.MethodGet
			}
			switch auth {
			case "":
				auth = bearer
			case "-":
				auth = ""
			}
			a := e.get(t, method, tc.path, auth)
			if a.status != tc.wantStatus {
				t.Errorf("%s %s = %d %s, want %d", method, tc.path, a.status, a.raw, tc.wantStatus)
			}
			if tc.wantStatus >= 400 {
				if msg := a.errorMessage(); msg == "" || !strings.Contains(msg, tc.wantError) {
					t.Errorf("error = %q, want it to say %q", msg, tc.wantError)
				}
			}
			if tc.wantIDs != nil {
				var list []apmc.Execution
				if err := json.Unmarshal(a.body["executions"], &list); err != nil {
					t.Fatalf("executions = %s: %v", a.body["executions"], err)
				}
				if diff := cmp.Diff(tc.wantIDs, ids(list)); diff != "" {
					t.Errorf("executions listed (-want +got):\n%s", diff)
				}
				if string(a.body["next_cursor"]) != `""` {
					t.Errorf("next_cursor = %s, want none", a.body["next_cursor"])
				}
			}
			if tc.check != nil {
				tc.check(t, a)
			}
			// The server keeps serving.
			if a := e.get(t, http.MethodGet, "/api/instances/alpha", bearer); a.status != http.StatusOK {
				t.Errorf("afterwards GET /api/instances/alpha = %d, want 200", a.status)
			}
		})
	}
}

func TestExecutionPages(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		filter string
		keep   func(x apmc.Execution) bool
	}{
		{"all", "", func(apmc.Execution) bool { return true }},
		{"changed only", "&changed_only=true", func(x apmc.Execution) bool { return x.Changed }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			cursor, pages := "", 0
			for {
				path := "/api/instances/alpha/executions?limit=2" + tc.filter
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				a := e.get(t, http.MethodGet, path, bearer)
				if a.status != http.StatusOK {
					t.Fatalf("GET %s = %d %s, want 200", path, a.status, a.raw)
				}
				var list []apmc.Execution
				if err := json.Unmarshal(a.body["executions"], &list); err != nil {
					t.Fatalf("executions = %s: %v", a.body["executions"], err)
				}
				if len(list) > 2 {
					t.Fatalf("page %d holds %d executions, want at most 2", pages, len(list))
				}
				got = append(got, ids(list)...)
				if err := json.Unmarshal(a.body["next_cursor"], &cursor); err != nil {
					t.Fatalf("next_cursor = %s: %v", a.body["next_cursor"], err)
				}
				if pages++; cursor == "" || pages > 10 {
					break
				}
			}
			want := e.pick(tc.keep)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("executions over all pages (-want +got):\n%s", diff)
			}
			if min := (len(want) + 1) / 2; pages < min {
				t.Errorf("%d pages, want at least %d", pages, min)
			}
		})
	}
}

func TestTokenMatches(t *testing.T) {
	hash := api.HashToken("s3cret")
	for _, tc := range []struct {
		token, hash string
		want        bool
	}{
		{"s3cret", hash, true},
		{"s3cret ", hash, false},
		{"S3cret", hash, false},
		{"", api.HashToken(""), false},
		{"s3cret", "", false},
		{"s3cret", "not hex", false},
		{"s3cret", hash[:10], false},
	} {
		if got := api.TokenMatches(tc.token, tc.hash); got != tc.want {
			t.Errorf("TokenMatches(%q, %q) = %v, want %v", tc.token, tc.hash, got, tc.want)
		}
	}
}
