package mailchimp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBatchSubscribeAnswerAndWebhooks(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	e.register(t, rc, "/all", map[string]bool{"user": true, "admin": true, "api": true})
	if err := e.srv.Import(e.listID, []ImportedMember{
		{EmailAddress: "kept@example.com", Status: "unsubscribed", MergeFields: map[string]any{"FNAME": "Kept"}},
		{EmailAddress: "forced@example.com"},
		{EmailAddress: "same@example.com", MergeFields: map[string]any{"FNAME": "Same"}},
	}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do("POST", "/3.0/lists/"+e.listID, map[string]any{"update_existing": true, "members": []map[string]any{
		{"email_address": "new@example.com", "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "New"}},
		{"email_address": "kept@example.com", "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "Changed"}},
		{"email_address": "forced@example.com", "status": "unsubscribed"},
		{"email_address": "same@example.com", "status_if_new": "subscribed", "merge_fields": map[string]any{"FNAME": "Same"}},
		{"email_address": "not-an-email", "status_if_new": "subscribed"},
	}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("batch subscribe = %d %s, want 200", resp.StatusCode, body)
	}
	v := decodeObject(t, body)
	emailsOf := func(key string) []string {
		var out []string
		for _, m := range v[key].([]any) {
			out = append(out, m.(map[string]any)["email_address"].(string))
		}
		slices.Sort(out)
		return out
	}
	if got := emailsOf("new_members"); !slices.Equal(got, []string{"new@example.com"}) {
		t.Errorf("new_members = %v, want [new@example.com]", got)
	}
	if got := emailsOf("updated_members"); !slices.Equal(got, []string{"forced@example.com", "kept@example.com", "same@example.com"}) {
		t.Errorf("updated_members = %v, want forced, kept and same", got)
	}
	errs := v["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["email_address"] != "not-an-email" || errs[0].(map[string]any)["error_code"] != "ERROR_GENERIC" || errs[0].(map[string]any)["error"] == "" {
		t.Errorf("errors = %v, want one ERROR_GENERIC for not-an-email with a message", errs)
	}
	if v["total_created"] != 1.0 || v["total_updated"] != 3.0 || v["error_count"] != 1.0 {
		t.Errorf("totals = created %v updated %v errors %v, want 1 3 1", v["total_created"], v["total_updated"], v["error_count"])
	}
	// status_if_new leaves an existing member's status alone; status with
	// update_existing changes it, as Mailchimp documents (but never back to
	// subscribed: TestBatchSubscribeConsent).
	if m, _ := e.srv.Member(e.listID, "kept@example.com"); m.Status != "unsubscribed" || m.MergeFields["FNAME"] != "Changed" {
		t.Errorf("kept@ = %s %v, want unsubscribed with FNAME Changed", m.Status, m.MergeFields["FNAME"])
	}
	if m, _ := e.srv.Member(e.listID, "forced@example.com"); m.Status != "unsubscribed" {
		t.Errorf("forced@ status = %s, want unsubscribed", m.Status)
	}

	// The same webhooks as single writes, with source api; none for a
	// member whose values did not change.
	if !e.srv.WaitWebhooks(5 * time.Second) {
		t.Fatal("WaitWebhooks(5s) = false")
	}
	var got []string
	for _, d := range rc.deliveries() {
		form, _ := url.ParseQuery(string(d.body))
		got = append(got, form.Get("type")+" "+form.Get("data[email]"))
	}
	slices.Sort(got)
	want := []string{"profile kept@example.com", "subscribe new@example.com", "unsubscribe forced@example.com"}
	if !slices.Equal(got, want) {
		t.Errorf("webhooks after a batch = %v, want %v", got, want)
	}
}

func TestBatchLatency(t *testing.T) {
	tests := []struct {
		name            string
		base, perMember time.Duration
		members         int
		min             time.Duration
	}{
		{"base only", 150 * time.Millisecond, 0, 3, 150 * time.Millisecond},
		{"per member", 0, 20 * time.Millisecond, 10, 200 * time.Millisecond},
		{"both", 100 * time.Millisecond, 10 * time.Millisecond, 10, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.SetBatchLatency(tt.base, tt.perMember)
			members := make([]map[string]any, tt.members)
			for i := range members {
				members[i] = map[string]any{"email_address": "b" + string(rune('a'+i)) + "@example.com", "status_if_new": "subscribed"}
			}
			start := time.Now()
			resp, _ := e.do("POST", "/3.0/lists/"+e.listID, map[string]any{"members": members})
			took := time.Since(start)
			if resp.StatusCode != http.StatusOK || took < tt.min || took > tt.min+2*time.Second {
				t.Errorf("batch of %d = %d in %v, want 200 in about %v", tt.members, resp.StatusCode, took, tt.min)
			}
			// Single-member writes do not pay the batch cost.
			start = time.Now()
			e.do("PUT", e.memberPath("single@example.com"), map[string]any{"email_address": "single@example.com", "status_if_new": "subscribed"})
			if took := time.Since(start); took >= tt.min {
				t.Errorf("single write took %v, want less than the batch cost %v", took, tt.min)
			}
		})
	}
}

func TestControlBatchLatency(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/_sandbox/latency", strings.NewReader(`{"latency":"0s","batch_base":"120ms","batch_per_member":"1ms"}`))
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /_sandbox/latency = %d, want 204", resp.StatusCode)
	}
	if got := e.srv.batchLatency(20); got != 140*time.Millisecond {
		t.Errorf("batch latency of 20 members = %v, want 140ms", got)
	}
	req, _ = http.NewRequest(http.MethodPost, e.http.URL+"/_sandbox/latency", strings.NewReader(`{"latency":"0s","batch_base":"-1s"}`))
	resp, err = e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /_sandbox/latency with a negative batch_base = %d, want 400", resp.StatusCode)
	}
}

// A batch subscribe takes no marketing permissions (the published schema
// has none: they are ignored), and refuses to re-subscribe a member who
// unsubscribed, as a single write does.
func TestBatchSubscribeConsent(t *testing.T) {
	e := newEnv(t)
	perm, err := e.srv.AddMarketingPermission(e.listID, "Email")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Import(e.listID, []ImportedMember{{EmailAddress: "p@example.com"}, {EmailAddress: "gone@example.com", Status: "unsubscribed"}}); err != nil {
		t.Fatal(err)
	}
	members := []map[string]any{
		{"email_address": "p@example.com", "status_if_new": "subscribed", "marketing_permissions": []any{map[string]any{"marketing_permission_id": perm, "enabled": true}}},
		{"email_address": "gone@example.com", "status": "subscribed"},
	}
	resp, body := e.do("POST", "/3.0/lists/"+e.listID, map[string]any{"members": members, "update_existing": true})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /lists/{id} = %d %s, want 200", resp.StatusCode, body)
	}
	v := decodeObject(t, body)
	errs, _ := v["errors"].([]any)
	if v["total_updated"] != float64(1) || len(errs) != 1 {
		t.Fatalf("batch answer = updated %v errors %v, want p@ updated and gone@ refused", v["total_updated"], v["errors"])
	}
	if e0, _ := errs[0].(map[string]any); e0["email_address"] != "gone@example.com" || !strings.Contains(fmt.Sprint(e0["error"]), "compliance state") {
		t.Errorf("batch error = %v, want gone@example.com in compliance state", e0)
	}
	if m, _ := e.srv.Member(e.listID, "p@example.com"); m.MarketingPermissions[perm] {
		t.Errorf("member p@ permissions = %v: a batch subscribe applied marketing_permissions", m.MarketingPermissions)
	}
	if m, _ := e.srv.Member(e.listID, "gone@example.com"); m.Status != "unsubscribed" {
		t.Errorf("member gone@ status = %s, want unsubscribed", m.Status)
	}
}
