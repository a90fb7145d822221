package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/api"
)

const testToken = "operator-token"

// serve sends one request to h from the client at remote, with the cookie
// and form if any.
func serve(h http.Handler, method, path, remote string, cookie *http.Cookie, form url.Values) *httptest.ResponseRecorder {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.RemoteAddr = remote
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// signIn posts the token and returns the response and the session cookie, if any.
func signIn(h http.Handler, remote, token string) (*httptest.ResponseRecorder, *http.Cookie) {
	w := serve(h, http.MethodPost, "/console/login", remote, nil, url.Values{"token": {token}})
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName && c.MaxAge > 0 {
			return w, c
		}
	}
	return w, nil
}

// signedIn reports whether the cookie lets its bearer past the sign-in
// (a signed-in request for no page is a 404; a signed-out one is sent to
// the sign-in page).
func signedInWith(t *testing.T, h http.Handler, cookie *http.Cookie) bool {
	t.Helper()
	w := serve(h, http.MethodGet, "/console/nowhere", "192.0.2.1:1000", cookie, nil)
	switch {
	case w.Code == http.StatusNotFound:
		return true
	case w.Code == http.StatusSeeOther && w.Header().Get("Location") == "/console/login":
		return false
	}
	t.Fatalf("GET /console/nowhere = %d to %q, want 404 or 303 to /console/login", w.Code, w.Header().Get("Location"))
	return false
}

func TestCookieForgedFromTokenHashRefused(t *testing.T) {
	hash := api.HashToken(testToken)
	h := New(Config{TokenHash: hash, SessionKey: testKey(7, 32)})
	forged, forgedCSRF := forgeFromTokenHash(t, hash, time.Now().Add(time.Hour))
	if signedInWith(t, h, forged) {
		t.Errorf("cookie signed with a key derived from the token hash is accepted, want it refused")
	}
	w := serve(h, http.MethodPost, "/console/instances/demo/pause", "192.0.2.1:1000", forged, url.Values{"csrf": {forgedCSRF}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/login" {
		t.Errorf("POST pause with a forged cookie and CSRF token = %d to %q, want 303 to /console/login", w.Code, w.Header().Get("Location"))
	}
	// The session the real key signs works.
	w, cookie := signIn(h, "192.0.2.1:1000", testToken)
	if cookie == nil {
		t.Fatalf("POST /console/login with the token = %d without a session cookie, want one", w.Code)
	}
	if !signedInWith(t, h, cookie) {
		t.Errorf("session cookie from signing in refused, want accepted")
	}
}

func TestLogoutEndsSession(t *testing.T) {
	key := testKey(7, 32)
	h := New(Config{TokenHash: api.HashToken(testToken), SessionKey: key})
	_, cookie := signIn(h, "192.0.2.1:1000", testToken)
	_, other := signIn(h, "192.0.2.1:1000", testToken)
	if cookie == nil || other == nil {
		t.Fatal("sign-in gave no session cookie")
	}
	sess, ok := newSessions(key, api.HashToken(testToken), nil).check(requestWith(cookie))
	if !ok {
		t.Fatal("session cookie does not check under its key")
	}
	w := serve(h, http.MethodPost, "/console/logout", "192.0.2.1:1000", cookie, url.Values{"csrf": {sess.CSRF}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/login" {
		t.Fatalf("POST /console/logout = %d to %q, want 303 to /console/login", w.Code, w.Header().Get("Location"))
	}
	if signedInWith(t, h, cookie) {
		t.Errorf("session cookie sent again after signing out is accepted, want it refused")
	}
	if !signedInWith(t, h, other) {
		t.Errorf("another session refused after one signed out, want it still accepted")
	}
}

func TestSignInThrottled(t *testing.T) {
	h := New(Config{TokenHash: api.HashToken(testToken), SessionKey: testKey(7, 32)})
	const guesser, operator = "203.0.113.7:4000", "198.51.100.2:4000"
	for i := range signInFailures {
		if w, _ := signIn(h, guesser, "guess"); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token #%d = %d, want 401", i+1, w.Code)
		}
	}
	for _, token := range []string{"guess", testToken} {
		w, cookie := signIn(h, guesser, token)
		if w.Code != http.StatusTooManyRequests || cookie != nil {
			t.Errorf("sign-in after %d failures (right token %v) = %d with cookie %v, want 429 and none", signInFailures, token == testToken, w.Code, cookie != nil)
		}
		if !strings.Contains(w.Body.String(), "too many failed sign-ins") {
			t.Errorf("429 page does not say why:\n%s", w.Body.String())
		}
		if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("429 Retry-After = %q, want seconds to wait", ra)
		}
	}
	// Another client still signs in.
	if w, cookie := signIn(h, operator, testToken); w.Code != http.StatusSeeOther || cookie == nil {
		t.Errorf("sign-in from another address = %d (cookie %v), want 303 with a session", w.Code, cookie != nil)
	}
}

func TestSignInThrottleWindowPasses(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	h := New(Config{TokenHash: api.HashToken(testToken), SessionKey: testKey(7, 32), Now: func() time.Time { return now }})
	const client = "203.0.113.7"
	for range signInFailures {
		signIn(h, client, "guess")
	}
	if w, _ := signIn(h, client, testToken); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
		t.Fatalf("sign-in after %d failures = %d, Retry-After %q; want 429, 60", signInFailures, w.Code, w.Header().Get("Retry-After"))
	}
	now = now.Add(signInWindow)
	if w, cookie := signIn(h, client, testToken); w.Code != http.StatusSeeOther || cookie == nil {
		t.Errorf("sign-in a minute later = %d (cookie %v), want 303 with a session", w.Code, cookie != nil)
	}
}

func TestNewWithoutSessionKeyRefusesSignIn(t *testing.T) {
	for _, key := range [][]byte{nil, testKey(3, 16), testKey(3, 31)} {
		h := New(Config{TokenHash: api.HashToken(testToken), SessionKey: key})
		w := serve(h, http.MethodGet, "/console/login", "192.0.2.1:1000", nil, nil)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "no session key") {
			t.Errorf("%d-byte key: GET /console/login = %d, want 503 saying there is no session key:\n%s", len(key), w.Code, w.Body.String())
		}
		w, cookie := signIn(h, "192.0.2.1:1000", testToken)
		if w.Code != http.StatusServiceUnavailable || cookie != nil {
			t.Errorf("%d-byte key: POST /console/login with the token = %d (cookie %v), want 503 and none", len(key), w.Code, cookie != nil)
		}
		// Nor is the token hash used in its place.
		forged, _ := forgeFromTokenHash(t, api.HashToken(testToken), time.Now().Add(time.Hour))
		if signedInWith(t, h, forged) {
			t.Errorf("%d-byte key: cookie signed with the hash-derived key accepted, want refused", len(key))
		}
	}
}
