package mailchimp

import (
	"net/http"
	"testing"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	other := e.srv.AddList("ffffffffffffffffffffffffffffffff-us1", "Someone else's")
	tests := []struct {
		name      string
		path      string
		auth      func(*http.Request)
		wantCode  int
		wantTitle string
	}{
		{"bearer key", "/3.0/ping", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testKey) }, 200, ""},
		{"basic with any user", "/3.0/ping", func(r *http.Request) { r.SetBasicAuth("anystring", testKey) }, 200, ""},
		{"no credentials", "/3.0/ping", func(r *http.Request) { r.Header.Del("Authorization") }, 401, "API Key Invalid"},
		{"unknown bearer key", "/3.0/ping", func(r *http.Request) { r.Header.Set("Authorization", "Bearer 00-us21") }, 401, "API Key Invalid"},
		{"basic with wrong key", "/3.0/ping", func(r *http.Request) { r.SetBasicAuth("user", "nope-us21") }, 401, "API Key Invalid"},
		{"key as basic user only", "/3.0/ping", func(r *http.Request) { r.SetBasicAuth(testKey, "") }, 401, "API Key Invalid"},
		{"another account's audience", "/3.0/lists/" + other, func(*http.Request) {}, 404, "Resource Not Found"},
		{"own audience", "/3.0/lists/" + e.listID, func(*http.Request) {}, 200, ""},
		{"unknown path", "/3.0/nothing/here", func(*http.Request) {}, 404, "Resource Not Found"},
		{"wrong method", "/3.0/ping", func(r *http.Request) { r.Method = http.MethodDelete }, 405, "Method Not Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, raw := e.request(http.MethodGet, tt.path, nil)
			tt.auth(req)
			resp, body := e.send(req, raw)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("GET %s = %d %s, want %d", tt.path, resp.StatusCode, body, tt.wantCode)
			}
			if tt.wantTitle != "" {
				if p := decodeProblem(t, resp, body); p.Title != tt.wantTitle {
					t.Errorf("GET %s title = %q, want %q", tt.path, p.Title, tt.wantTitle)
				}
			}
		})
	}
}

func TestPingAndLists(t *testing.T) {
	e := newEnv(t)
	second := e.srv.AddList(testKey, "Second")
	_, body := e.do(http.MethodGet, "/3.0/ping", nil)
	if got := decodeObject(t, body)["health_status"]; got != "Everything's Chimpy!" {
		t.Errorf("GET /ping health_status = %v, want Everything's Chimpy!", got)
	}
	tests := []struct {
		query     string
		wantIDs   []string
		wantTotal float64
	}{
		{"", []string{e.listID, second}, 2},
		{"?count=1", []string{e.listID}, 2},
		{"?count=1&offset=1", []string{second}, 2},
		{"?offset=5", nil, 2},
	}
	for _, tt := range tests {
		resp, body := e.do(http.MethodGet, "/3.0/lists"+tt.query, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /lists%s = %d %s, want 200", tt.query, resp.StatusCode, body)
		}
		v := decodeObject(t, body)
		var ids []string
		for _, l := range v["lists"].([]any) {
			ids = append(ids, l.(map[string]any)["id"].(string))
		}
		if len(ids) != len(tt.wantIDs) || (len(ids) > 0 && ids[0] != tt.wantIDs[0]) || v["total_items"] != tt.wantTotal {
			t.Errorf("GET /lists%s = ids %v total %v, want %v total %v", tt.query, ids, v["total_items"], tt.wantIDs, tt.wantTotal)
		}
	}
}
