package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	now := start
	th := newThrottle(func() time.Time { return now })
	const a, b = "192.0.2.1", "192.0.2.2"
	for i := range signInFailures {
		if w := th.wait(a); w != 0 {
			t.Fatalf("wait(%s) after %d failures = %v, want 0", a, i, w)
		}
		th.fail(a)
		now = now.Add(time.Second)
	}
	// Five failures at 0..4 s; now is 5 s: the oldest leaves the window at 60 s.
	if w := th.wait(a); w != 55*time.Second {
		t.Errorf("wait(%s) after %d failures = %v, want 55s", a, signInFailures, w)
	}
	if w := th.wait(b); w != 0 {
		t.Errorf("wait(%s) while %s is throttled = %v, want 0 (per client)", b, a, w)
	}
	now = start.Add(signInWindow)
	if w := th.wait(a); w != 0 {
		t.Errorf("wait(%s) once the first failure is a window old = %v, want 0", a, w)
	}
	th.fail(a) // five within the window again (1..4 s and 60 s)
	if w := th.wait(a); w != time.Second {
		t.Errorf("wait(%s) after failing again = %v, want 1s", a, w)
	}
	now = now.Add(2 * signInWindow)
	if w := th.wait(a); w != 0 || len(th.failures) != 0 {
		t.Errorf("wait(%s) long after = %v with %d clients tracked, want 0 and none", a, w, len(th.failures))
	}
}

func TestThrottleBounded(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	th := newThrottle(func() time.Time { return now })
	for i := range maxClients {
		th.fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	// Beyond the bound, new clients share one bucket.
	for i := range signInFailures {
		th.fail(fmt.Sprintf("172.16.0.%d", i))
	}
	if len(th.failures) > maxClients+1 {
		t.Errorf("clients tracked = %d, want at most %d", len(th.failures), maxClients+1)
	}
	if w := th.wait("172.16.0.200"); w == 0 {
		t.Errorf("wait(new client) with the overflow bucket full = 0, want a wait")
	}
	// Once the window has passed, room is made for clients of their own.
	now = now.Add(signInWindow)
	if w := th.wait("172.16.0.200"); w != 0 {
		t.Errorf("wait(new client) a window later = %v, want 0", w)
	}
	th.fail("172.16.0.200")
	if _, ok := th.failures["172.16.0.200"]; !ok {
		t.Errorf("client after the old ones expired not tracked on its own")
	}
}

func TestClientOf(t *testing.T) {
	tests := []struct {
		remote string
		want   string
	}{
		{"192.0.2.1:51234", "192.0.2.1"},
		{"192.0.2.1", "192.0.2.1"}, // API Gateway's SourceIP carries no port
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"not an address", "not an address"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/console/login", nil)
		r.RemoteAddr = tt.remote
		r.Header.Set("X-Forwarded-For", "198.51.100.9")
		if got := clientOf(r); got != tt.want {
			t.Errorf("clientOf(RemoteAddr %q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}
