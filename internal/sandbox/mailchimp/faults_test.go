package mailchimp

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name     string
		rule     FaultRule
		wantCode int    // 0: the connection is dropped
		wantType string // Content-Type prefix
	}{
		{"status", FaultRule{Kind: FaultStatus, Status: 503}, 503, "application/problem+json"},
		{"status default", FaultRule{Kind: FaultStatus}, 500, "application/problem+json"},
		{"html 502", FaultRule{Kind: FaultHTML502}, 502, "text/html"},
		{"drop", FaultRule{Kind: FaultDrop}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.InjectFaults(tt.rule)
			req, _ := e.request("GET", "/3.0/ping", nil)
			resp, err := e.http.Client().Do(req)
			if tt.wantCode == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("GET /ping with a drop fault = %d, want a connection error", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatalf("GET /ping: %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.wantCode || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.wantType) {
					t.Errorf("GET /ping = %d %s, want %d %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.wantCode, tt.wantType)
				}
			}
			// The rule is used up: the next request passes.
			if resp, body := e.do("GET", "/3.0/ping", nil); resp.StatusCode != http.StatusOK {
				t.Errorf("GET /ping after the fault = %d %s, want 200", resp.StatusCode, body)
			}
			if got := e.srv.Stats().Faults; got != 1 {
				t.Errorf("Stats().Faults = %d, want 1", got)
			}
		})
	}
}

func TestFaultMatching(t *testing.T) {
	e := newEnv(t)
	e.srv.InjectFaults(FaultRule{Kind: FaultStatus, Status: 500, Method: "PUT", PathPrefix: "/3.0/lists/" + e.listID + "/members", Count: 2})
	put := step{name: "put", method: "PUT", path: e.memberPath("f@example.com"), body: map[string]any{"email_address": "f@example.com", "status_if_new": "subscribed"}}
	get := step{name: "get other method", method: "GET", path: "/3.0/lists/" + e.listID, wantCode: 200}
	fail, pass := put, put
	fail.wantCode, pass.wantCode = 500, 200
	e.run(t, []step{get, fail, fail, pass})
	if got := e.srv.Stats().MemberWrites; got != 1 {
		t.Errorf("Stats().MemberWrites = %d, want 1 (faulted requests never reach the handler)", got)
	}
}

func TestHangFaultStillWrites(t *testing.T) {
	e := newEnv(t)
	e.srv.InjectFaults(FaultRule{Kind: FaultHang, Hang: 300 * time.Millisecond})
	req, _ := e.request("PUT", e.memberPath("h@example.com"), map[string]any{"email_address": "h@example.com", "status_if_new": "subscribed"})
	client := &http.Client{Timeout: 100 * time.Millisecond}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("PUT with a hang fault = %d, want a client timeout", resp.StatusCode)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := e.srv.Member(e.listID, "h@example.com"); ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("Member(h@example.com) absent after the hang, want the write to have happened")
}

// TestFaultAimedAtAMember fails the requests about one member: a batch
// subscribe that does not carry it passes, one that does fails as a whole,
// and the rule is then used up.
func TestFaultAimedAtAMember(t *testing.T) {
	e := newEnv(t)
	e.srv.InjectFaults(FaultRule{Kind: FaultStatus, Status: 503, Member: "Aimed@Example.com"})
	batch := func(emails ...string) step {
		var members []map[string]any
		for _, m := range emails {
			members = append(members, map[string]any{"email_address": m, "status_if_new": "subscribed"})
		}
		return step{name: "batch " + strings.Join(emails, ","), method: "POST", path: "/3.0/lists/" + e.listID,
			body: map[string]any{"members": members, "update_existing": true}, wantCode: 200}
	}
	failing := batch("other@example.com", "aimed@example.com")
	failing.wantCode = 503
	e.run(t, []step{batch("other@example.com"), failing, batch("other@example.com", "aimed@example.com")})
	if got := e.srv.Stats().MembersWritten; got != 3 {
		t.Errorf("Stats().MembersWritten = %d, want 3 (the failed batch wrote nothing)", got)
	}
}
