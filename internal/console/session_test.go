package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/api"
)

func requestWith(c *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/console/", nil)
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

func TestSessions(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	hash := api.HashToken("operator-token")
	s := newSessions(hash, clock)
	sess, cookie, ok := s.issue(true)
	if !ok {
		t.Fatal("issue() ok = false, want a session")
	}
	if !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/console" {
		t.Errorf("cookie = %+v, want HttpOnly, Secure, SameSite=Strict, Path=/console", cookie)
	}
	if got := cookie.Expires.Sub(now); got != sessionTTL {
		t.Errorf("cookie expires in %v, want %v", got, sessionTTL)
	}
	if strings.Contains(cookie.Value, hash) || strings.Contains(cookie.Value, "operator-token") {
		t.Errorf("cookie value %q holds the token or its hash", cookie.Value)
	}
	tamper := func(f func(parts []string)) *http.Cookie {
		parts := strings.Split(cookie.Value, ".")
		f(parts)
		return &http.Cookie{Name: cookieName, Value: strings.Join(parts, ".")}
	}
	tests := []struct {
		name     string
		sessions *sessions
		cookie   *http.Cookie
		want     bool
	}{
		{"valid", s, cookie, true},
		{"no cookie", s, nil, false},
		{"other id", s, tamper(func(p []string) { p[0] = strings.ToUpper(p[0][:4]) + strings.ToLower(p[0][4:]) + "x" }), false},
		{"later expiry", s, tamper(func(p []string) { p[1] = "9999999999" }), false},
		{"bad signature", s, tamper(func(p []string) { p[2] = "AAAA" }), false},
		{"two parts", s, &http.Cookie{Name: cookieName, Value: "a.b"}, false},
		{"expired", newSessions(hash, func() time.Time { return now.Add(sessionTTL) }), cookie, false},
		{"another token", newSessions(api.HashToken("another-token"), clock), cookie, false},
		{"no token hash", newSessions("", clock), cookie, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.sessions.check(requestWith(tt.cookie))
			if ok != tt.want {
				t.Fatalf("check() ok = %v, want %v", ok, tt.want)
			}
			if ok && got.CSRF != sess.CSRF {
				t.Errorf("check() CSRF = %q, want %q (the issued one)", got.CSRF, sess.CSRF)
			}
		})
	}
}

func TestSessionsWithoutTokenHashIssueNothing(t *testing.T) {
	for _, hash := range []string{"", "not-hex", "abcd"} {
		if _, _, ok := newSessions(hash, nil).issue(false); ok {
			t.Errorf("newSessions(%q).issue() ok = true, want false", hash)
		}
	}
}

func TestCSRFTokens(t *testing.T) {
	s := newSessions(api.HashToken("operator-token"), nil)
	a, _, _ := s.issue(false)
	b, _, _ := s.issue(false)
	if a.CSRF == b.CSRF {
		t.Errorf("two sessions share CSRF token %q", a.CSRF)
	}
	tests := []struct {
		token string
		want  bool
	}{{a.CSRF, true}, {b.CSRF, false}, {"", false}, {a.CSRF + "x", false}}
	for _, tt := range tests {
		if got := a.validCSRF(tt.token); got != tt.want {
			t.Errorf("validCSRF(%q) = %v, want %v", tt.token, got, tt.want)
		}
	}
}
