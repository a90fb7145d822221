package mailchimp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestControlAPI(t *testing.T) {
	e := newEnv(t)
	e.run(t, []step{{name: "create", method: "PUT", path: e.memberPath("d@example.com"), wantCode: 200, body: map[string]any{"email_address": "d@example.com", "status_if_new": "subscribed"}}})
	tests := []struct {
		method, path, body string
		wantCode           int
		check              func(t *testing.T)
	}{
		{"POST", "/_sandbox/lists/" + e.listID + "/members/d@example.com/edit", `{"merges":{"FNAME":"Dee"},"source":"admin"}`, 204, func(t *testing.T) {
			if m, _ := e.srv.Member(e.listID, "d@example.com"); m.MergeFields["FNAME"] != "Dee" {
				t.Errorf("after edit FNAME = %v, want Dee", m.MergeFields["FNAME"])
			}
		}},
		{"POST", "/_sandbox/lists/" + e.listID + "/members/d@example.com/change-email", `{"new_email":"dee@example.com"}`, 204, func(t *testing.T) {
			if _, ok := e.srv.Member(e.listID, "dee@example.com"); !ok {
				t.Errorf("after change-email Member(dee@example.com) absent")
			}
		}},
		{"POST", "/_sandbox/lists/" + e.listID + "/members/nobody@example.com/edit", `{"merges":{"FNAME":"X"}}`, 404, nil},
		{"POST", "/_sandbox/lists/" + e.listID + "/members/dee@example.com/unsubscribe", `{"action":"bogus"}`, 400, nil},
		{"POST", "/_sandbox/latency", `{"latency":"20ms"}`, 204, nil},
		{"POST", "/_sandbox/faults", `{"kind":"status","status":503,"count":1}`, 204, func(t *testing.T) {
			start := time.Now()
			if resp, _ := e.do("GET", "/3.0/ping", nil); resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("GET /ping after a fault via control API = %d, want 503", resp.StatusCode)
			}
			if time.Since(start) < 20*time.Millisecond {
				t.Errorf("GET /ping took %v, want at least the 20ms latency", time.Since(start))
			}
		}},
		{"GET", "/_sandbox/stats", "", 200, nil},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, e.http.URL+tt.path, bytes.NewBufferString(tt.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if resp.StatusCode != tt.wantCode {
			t.Fatalf("%s %s = %d %v, want %d", tt.method, tt.path, resp.StatusCode, v, tt.wantCode)
		}
		if tt.check != nil {
			tt.check(t)
		}
	}
}
