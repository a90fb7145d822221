package mailchimp

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMemberValidation(t *testing.T) {
	extra := []MergeField{
		{Tag: "COMPANY", Name: "Company", Type: "text", Required: true},
		{Tag: "BIRTHDAY", Name: "Birthday", Type: "birthday"},
		{Tag: "AGE", Name: "Age", Type: "number"},
		{Tag: "START", Name: "Start", Type: "date"},
	}
	valid := func() map[string]any { return map[string]any{"COMPANY": "Acme"} }
	with := func(k string, v any) map[string]any { m := valid(); m[k] = v; return m }
	tests := []struct {
		name       string
		email      string
		merges     map[string]any
		wantCode   int
		wantTitle  string
		wantDetail string // suffix
		wantFields []FieldError
	}{
		{name: "valid", email: "ann@example.com", merges: with("BIRTHDAY", "05/01"), wantCode: 200},
		{name: "unknown tag ignored", email: "ann@example.com", merges: with("NOPE", "x"), wantCode: 200},
		{name: "no at sign", email: "ann.example.com", merges: valid(), wantCode: 400, wantTitle: "Invalid Resource", wantDetail: "looks fake or invalid, please enter a real email address."},
		{name: "reserved domain", email: "ann@example.invalid", merges: valid(), wantCode: 400, wantTitle: "Invalid Resource", wantDetail: "looks fake or invalid, please enter a real email address."},
		{name: "required field missing", email: "ann@example.com", merges: map[string]any{"FNAME": "Ann"}, wantCode: 400, wantTitle: "Invalid Resource",
			wantFields: []FieldError{{Field: "COMPANY", Message: "Please enter a value"}}},
		{name: "birthday with a year", email: "ann@example.com", merges: with("BIRTHDAY", "1990-05-01"), wantCode: 400, wantTitle: "Invalid Resource",
			wantFields: []FieldError{{Field: "BIRTHDAY", Message: "Please enter a complete birthday (month/day)"}}},
		{name: "birthday month 13", email: "ann@example.com", merges: with("BIRTHDAY", "13/01"), wantCode: 400, wantTitle: "Invalid Resource",
			wantFields: []FieldError{{Field: "BIRTHDAY", Message: "Please enter a complete birthday (month/day)"}}},
		{name: "text over 255 bytes", email: "ann@example.com", merges: with("FNAME", strings.Repeat("é", 128)), wantCode: 400, wantTitle: "Invalid Resource",
			wantFields: []FieldError{{Field: "FNAME", Message: "Value must be at most 255 characters"}}},
		{name: "text of 255 bytes", email: "ann@example.com", merges: with("FNAME", strings.Repeat("a", 255)), wantCode: 200},
		{name: "number not numeric", email: "ann@example.com", merges: with("AGE", "old"), wantCode: 400, wantTitle: "Invalid Resource",
			wantFields: []FieldError{{Field: "AGE", Message: "Please enter a number"}}},
		{name: "number as string", email: "ann@example.com", merges: with("AGE", "42"), wantCode: 200},
		{name: "date not ISO", email: "ann@example.com", merges: with("START", "01/02/2024"), wantCode: 400, wantTitle: "Invalid Resource",
			wantFields: []FieldError{{Field: "START", Message: "Please enter a valid date (YYYY-MM-DD)"}}},
		{name: "incomplete address", email: "ann@example.com", merges: with("ADDRESS", map[string]any{"addr1": "1 Main St"}), wantCode: 400, wantTitle: "Invalid Resource",
			wantFields: []FieldError{{Field: "ADDRESS", Message: "Please enter a complete address"}}},
		{name: "complete address", email: "ann@example.com", merges: with("ADDRESS", map[string]any{"addr1": "1 Main St", "city": "Leeds", "state": "WY", "zip": "LS1 1AA", "country": "GB"}), wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, extra...)
			resp, body := e.do("PUT", e.memberPath(tt.email), map[string]any{"email_address": tt.email, "status_if_new": "subscribed", "merge_fields": tt.merges})
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("PUT member %s = %d %s, want %d", tt.email, resp.StatusCode, body, tt.wantCode)
			}
			if tt.wantCode == 200 {
				return
			}
			p := decodeProblem(t, resp, body)
			if p.Title != tt.wantTitle || !strings.HasSuffix(p.Detail, tt.wantDetail) {
				t.Errorf("PUT member %s = %q %q, want %q ...%q", tt.email, p.Title, p.Detail, tt.wantTitle, tt.wantDetail)
			}
			if diff := cmp.Diff(tt.wantFields, p.Errors); diff != "" {
				t.Errorf("PUT member %s errors (-want +got):\n%s", tt.email, diff)
			}
		})
	}
}

func TestRequiredFieldOnUpdate(t *testing.T) {
	e := newEnv(t, MergeField{Tag: "COMPANY", Name: "Company", Type: "text", Required: true})
	e.run(t, []step{
		{name: "create", method: "PUT", path: e.memberPath("a@example.com"), body: map[string]any{"email_address": "a@example.com", "status_if_new": "subscribed", "merge_fields": map[string]any{"COMPANY": "Acme"}}, wantCode: 200},
		{name: "update without it", method: "PATCH", path: e.memberPath("a@example.com"), body: map[string]any{"merge_fields": map[string]any{"FNAME": "A"}}, wantCode: 200, wantMerges: map[string]any{"COMPANY": "Acme", "FNAME": "A"}},
		{name: "clear it", method: "PATCH", path: e.memberPath("a@example.com"), body: map[string]any{"merge_fields": map[string]any{"COMPANY": ""}}, wantCode: 400, wantTitle: "Invalid Resource"},
		{name: "skip merge validation", method: "PUT", path: e.memberPath("b@example.com") + "?skip_merge_validation=true", body: map[string]any{"email_address": "b@example.com", "status_if_new": "subscribed"}, wantCode: 200},
	})
}

func TestComplianceAndForgotten(t *testing.T) {
	tests := []struct {
		name      string
		prepare   func(e *env) error
		wantTitle string
	}{
		{"member in compliance state", func(e *env) error { return e.srv.SetComplianceState(e.listID, "c@example.com", true) }, "Member In Compliance State"},
		{"forgotten email", func(e *env) error { return e.srv.Forget(e.listID, "c@example.com") }, "Forgotten Email Not Subscribed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.run(t, []step{{name: "create", method: "PUT", path: e.memberPath("c@example.com"), body: map[string]any{"email_address": "c@example.com", "status_if_new": "unsubscribed"}, wantCode: 200}})
			if err := tt.prepare(e); err != nil {
				t.Fatal(err)
			}
			e.run(t, []step{{name: "upsert", method: "PUT", path: e.memberPath("c@example.com"), body: map[string]any{"email_address": "c@example.com", "status": "subscribed"}, wantCode: 400, wantTitle: tt.wantTitle}})
		})
	}
}
