package console

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// testKey returns a session key of n bytes, each b.
func testKey(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func TestSessions(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	key := testKey(7, 32)
	hash := api.HashToken("operator-token")
	s := newSessions(key, hash, clock)
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
		{"same key, another process", newSessions(key, hash, clock), cookie, true},
		{"no cookie", s, nil, false},
		{"other id", s, tamper(func(p []string) { p[0] = strings.ToUpper(p[0][:4]) + strings.ToLower(p[0][4:]) + "x" }), false},
		{"later expiry", s, tamper(func(p []string) { p[1] = "9999999999" }), false},
		{"bad signature", s, tamper(func(p []string) { p[2] = "AAAA" }), false},
		{"two parts", s, &http.Cookie{Name: cookieName, Value: "a.b"}, false},
		{"expired", newSessions(key, hash, func() time.Time { return now.Add(sessionTTL) }), cookie, false},
		{"another key", newSessions(testKey(8, 32), hash, clock), cookie, false},
		{"another token", newSessions(key, api.HashToken("another-token"), clock), cookie, false},
		{"no key", newSessions(nil, hash, clock), cookie, false},
		{"short key", newSessions(key[:31], hash, clock), cookie, false},
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

// forgeFromTokenHash mints a session cookie and CSRF token the way the
// console once did: signed with HMAC-SHA256(token hash, "apmc console
// session key v1"), a key anyone reading the function's configuration could
// compute.
func forgeFromTokenHash(t *testing.T, tokenHash string, exp time.Time) (*http.Cookie, string) {
	t.Helper()
	raw, err := hex.DecodeString(tokenHash)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, raw)
	m.Write([]byte("apmc console session key v1"))
	key := m.Sum(nil)
	sign := func(purpose, payload string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(purpose + "|" + payload))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	id := base64.RawURLEncoding.EncodeToString([]byte("forged-session-id!"))
	payload := id + "." + strconv.FormatInt(exp.Unix(), 10)
	return &http.Cookie{Name: cookieName, Value: payload + "." + sign("session", payload)}, sign("csrf", id)
}

func TestSessionForgedFromTokenHashRefused(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	hash := api.HashToken("operator-token")
	forged, _ := forgeFromTokenHash(t, hash, now.Add(time.Hour))
	// Control: the forger's scheme does produce cookies a console keyed by
	// the hash-derived key accepts, so the refusal below is the key's doing.
	raw, _ := hex.DecodeString(hash)
	m := hmac.New(sha256.New, raw)
	m.Write([]byte("apmc console session key v1"))
	hashKeyed := &sessions{key: m.Sum(nil), now: func() time.Time { return now }}
	if _, ok := hashKeyed.check(requestWith(forged)); !ok {
		t.Fatal("forged cookie refused even under the hash-derived key: the forger does not mint the old format")
	}
	s := newSessions(testKey(7, 32), hash, func() time.Time { return now })
	if _, ok := s.check(requestWith(forged)); ok {
		t.Errorf("check(cookie signed with a key derived from the token hash) ok = true, want false")
	}
}

func TestSessionsWithoutKeyIssueNothing(t *testing.T) {
	for _, key := range [][]byte{nil, {}, testKey(1, 31)} {
		s := newSessions(key, api.HashToken("operator-token"), nil)
		if s.ready() {
			t.Errorf("newSessions(%d bytes).ready() = true, want false", len(key))
		}
		if _, _, ok := s.issue(false); ok {
			t.Errorf("newSessions(%d bytes).issue() ok = true, want false", len(key))
		}
	}
	if !newSessions(testKey(1, 32), "", nil).ready() {
		t.Errorf("newSessions(32 bytes).ready() = false, want true")
	}
}

func TestSessionKeyIsCopied(t *testing.T) {
	key := testKey(7, 32)
	s := newSessions(key, "", nil)
	_, cookie, _ := s.issue(false)
	key[0] ^= 0xff
	if _, ok := s.check(requestWith(cookie)); !ok {
		t.Errorf("check() after the caller changed its key slice ok = false, want true (the key is copied)")
	}
}

func TestRevoke(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := newSessions(testKey(7, 32), "", clock)
	a, cookieA, _ := s.issue(false)
	_, cookieB, _ := s.issue(false)
	s.revoke(a)
	if _, ok := s.check(requestWith(cookieA)); ok {
		t.Errorf("check(revoked session) ok = true, want false")
	}
	if _, ok := s.check(requestWith(cookieB)); !ok {
		t.Errorf("check(other session) after revoking one ok = false, want true")
	}
	// Once a revoked session has expired its entry is dropped.
	now = now.Add(sessionTTL)
	c, _, _ := s.issue(false)
	s.revoke(c)
	if got := len(s.revoked); got != 1 {
		t.Errorf("revoked entries after the first expired = %d, want 1", got)
	}
}

func TestCSRFTokens(t *testing.T) {
	s := newSessions(testKey(7, 32), "", nil)
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
	// The CSRF token depends on the key: another key, another token.
	other := newSessions(testKey(8, 32), "", nil).session(a.id, a.expires)
	if other.CSRF == a.CSRF {
		t.Errorf("CSRF token of session %s is the same under two keys", a.id)
	}
}
