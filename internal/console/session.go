package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cookieName is the session cookie's name.
const cookieName = "apmc_console"

// sessionTTL is how long a sign-in lasts.
const sessionTTL = 12 * time.Hour

// session is a signed-in operator's session.
type session struct {
	id      string // random, base64url
	expires time.Time
	// CSRF is the token every form that changes something must send back.
	CSRF string
}

// MinSessionKeySize is the shortest session key New accepts.
const MinSessionKeySize = 32

// sessions issues and checks session cookies. A cookie is a random id and an
// expiry, signed with a key derived from the session key and the operator
// token's hash, so any function instance holding both can check any
// session. Without the session key (in AWS a MAC only KMS can compute) the
// signing key cannot be computed, so reading the function's configuration
// does not let anyone mint a session; mixing in the token's hash makes
// changing the token end every session. Signing out revokes the session's
// id in this process until the session would have expired.
type sessions struct {
	key []byte // nil: no usable session key, so no session is ever issued or valid
	now func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // session id → its expiry
}

func newSessions(sessionKey []byte, tokenHash string, now func() time.Time) *sessions {
	s := &sessions{now: now, revoked: map[string]time.Time{}}
	if s.now == nil {
		s.now = time.Now
	}
	if len(sessionKey) >= MinSessionKeySize {
		m := hmac.New(sha256.New, sessionKey)
		m.Write([]byte("apmc console sessions v2|" + tokenHash))
		s.key = m.Sum(nil)
	}
	return s
}

// ready reports whether sessions can be issued at all.
func (s *sessions) ready() bool { return s.key != nil }

// issue starts a session and returns it with its cookie.
func (s *sessions) issue(secure bool) (session, *http.Cookie, bool) {
	if s.key == nil {
		return session{}, nil, false
	}
	var raw [18]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return session{}, nil, false
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	exp := s.now().Add(sessionTTL).Truncate(time.Second)
	payload := id + "." + strconv.FormatInt(exp.Unix(), 10)
	value := payload + "." + base64.RawURLEncoding.EncodeToString(s.mac("session", payload))
	c := &http.Cookie{
		Name: cookieName, Value: value, Path: "/console", Expires: exp, MaxAge: int(sessionTTL / time.Second),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	}
	return s.session(id, exp), c, true
}

// check returns the session the request's cookie holds, if valid.
func (s *sessions) check(r *http.Request) (session, bool) {
	if s.key == nil {
		return session{}, false
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return session{}, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.mac("session", parts[0]+"."+parts[1])) {
		return session{}, false
	}
	unix, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return session{}, false
	}
	exp := time.Unix(unix, 0)
	if !s.now().Before(exp) || s.isRevoked(parts[0]) {
		return session{}, false
	}
	return s.session(parts[0], exp), true
}

// revoke ends sess in this process: its cookie is refused from now on,
// until it would have expired anyway. Expired revocations are dropped, so
// the set holds at most the sessions ended in the last sessionTTL.
func (s *sessions) revoke(sess session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, id)
		}
	}
	if now.Before(sess.expires) {
		s.revoked[sess.id] = sess.expires
	}
}

func (s *sessions) isRevoked(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.revoked[id]
	return ok
}

func (s *sessions) session(id string, exp time.Time) session {
	return session{id: id, expires: exp, CSRF: base64.RawURLEncoding.EncodeToString(s.mac("csrf", id))}
}

// validCSRF reports in constant time whether token is the session's CSRF token.
func (s session) validCSRF(token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(s.CSRF))
}

func (s *sessions) mac(purpose, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose + "|" + payload))
	return m.Sum(nil)
}

// clearCookie ends the session in the browser.
func clearCookie(secure bool) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: "", Path: "/console", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode}
}

// signedIn lets only signed-in operators through, and only with the CSRF
// token on requests that change something.
func (c *console) signedIn(next func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := c.sessions.check(r)
		if !ok {
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil || !sess.validCSRF(r.PostForm.Get("csrf")) {
				c.fail(w, r, sess, errCSRF)
				return
			}
		}
		next(w, r, sess)
	}
}

// maxForm bounds a posted form.
const maxForm = 64 << 10
