package console

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
)

func TestParseFilters(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name    string
		form    url.Values
		want    apmc.ExecutionQuery
		wantF   filters
		invalid bool
	}{
		{name: "none", form: url.Values{}, want: apmc.ExecutionQuery{Limit: pageSize}},
		{
			name: "all, as the form sends them",
			form: url.Values{"status": {"failed"}, "flow": {"accessplanit_to_mailchimp"}, "from": {"2026-11-26T09:00"}, "to": {"2026-11-27T10:30:15"},
				"original_only": {"on"}, "changed_only": {"on"}, "contact": {"Ada@Example.com"}, "cursor": {"abc"}},
			want: apmc.ExecutionQuery{Status: apmc.StatusFailed, Flow: apmc.FlowToMailchimp, From: at("2026-11-26T09:00:00Z"), To: at("2026-11-27T10:30:15Z"),
				OriginalOnly: true, ChangedOnly: true, Contact: "ada@example.com", Cursor: "abc", Limit: pageSize},
			wantF: filters{Status: "failed", Flow: "accessplanit_to_mailchimp", From: "2026-11-26T09:00:00", To: "2026-11-27T10:30:15",
				OriginalOnly: true, ChangedOnly: true, Contact: "Ada@Example.com", Cursor: "abc"},
		},
		{
			name:  "RFC 3339 with an offset, as the API takes it",
			form:  url.Values{"from": {"2026-11-26T10:00:00+01:00"}, "original_only": {"true"}},
			want:  apmc.ExecutionQuery{From: at("2026-11-26T09:00:00Z"), OriginalOnly: true, Limit: pageSize},
			wantF: filters{From: "2026-11-26T09:00:00", OriginalOnly: true},
		},
		{name: "unknown status", form: url.Values{"status": {"exploded"}}, invalid: true},
		{name: "unknown flow", form: url.Values{"flow": {"sideways"}}, invalid: true},
		{name: "bad time", form: url.Values{"from": {"yesterday"}}, invalid: true},
		{name: "from after to", form: url.Values{"from": {"2026-11-27T00:00"}, "to": {"2026-11-26T00:00"}}, invalid: true},
		{name: "bad checkbox", form: url.Values{"changed_only": {"maybe"}}, invalid: true},
		{name: "bad contact", form: url.Values{"contact": {"<script>"}}, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, q, err := parseFilters(tt.form)
			if tt.invalid {
				if !apmc.IsInvalid(err) {
					t.Fatalf("parseFilters(%v) error = %v, want invalid", tt.form, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFilters(%v) error = %v", tt.form, err)
			}
			if diff := cmp.Diff(tt.want, q); diff != "" {
				t.Errorf("parseFilters(%v) query (-want +got):\n%s", tt.form, diff)
			}
			if diff := cmp.Diff(tt.wantF, f); diff != "" {
				t.Errorf("parseFilters(%v) filters (-want +got):\n%s", tt.form, diff)
			}
			// The links the page builds read back as the same filters.
			u, err := url.Parse(f.url("demo", f.Cursor))
			if err != nil {
				t.Fatalf("url() = %v", err)
			}
			again, q2, err := parseFilters(u.Query())
			if err != nil || !cmp.Equal(again, f) || !cmp.Equal(q2, q) {
				t.Errorf("parseFilters(url()) = %+v, %v; want the filters again", again, err)
			}
		})
	}
}

func TestTemplatesParse(t *testing.T) {
	if templatesErr != nil {
		t.Fatalf("parseTemplates() error = %v", templatesErr)
	}
	for _, name := range pageNames {
		if templates[name] == nil {
			t.Errorf("template %s missing", name)
		}
	}
}
