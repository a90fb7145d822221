package console

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/apmc-sync/apmc/internal/ops"
)

// Config wires the console.
type Config struct {
	// Ops performs the operations and reads the instance summaries and,
	// through its execution store, the executions.
	Ops *ops.Service
	// TokenHash is the hex SHA-256 of the operator token (as api.HashToken
	// returns it); empty or malformed, nobody can sign in. Sessions are
	// bound to it (changing the token ends them all) but never signed with
	// a key that can be computed from it alone.
	TokenHash string
	// SessionKey signs session cookies and CSRF tokens; it must be at least
	// MinSessionKeySize random bytes that only the console knows (in AWS,
	// secrets.SessionKey's MAC from the console's KMS HMAC key). Without
	// one the console refuses every sign-in with 503. Changing it ends
	// every session.
	SessionKey []byte
	// Secure marks the session cookie Secure: set it wherever the console is
	// served over HTTPS (in AWS).
	Secure bool
	// Backfill reads the instance's first-sync plans and job for the
	// instance page; nil shows none.
	Backfill Backfill
	// Logger receives internal errors; nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// New returns the console handler, serving under /console.
func New(cfg Config) http.Handler {
	c := &console{cfg: cfg, sessions: newSessions(cfg.SessionKey, cfg.TokenHash, cfg.Now), throttle: newThrottle(cfg.Now)}
	if c.cfg.Logger == nil {
		c.cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /console/static/", staticHandler())
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /console/login", c.loginForm)
	mux.HandleFunc("POST /console/login", c.login)
	mux.HandleFunc("POST /console/logout", c.signedIn(c.logout))
	mux.HandleFunc("GET /console/{$}", c.signedIn(c.instances))
	mux.HandleFunc("GET /console/instances/{id}", c.signedIn(c.instance))
	mux.HandleFunc("GET /console/instances/{id}/executions/{eid}", c.signedIn(c.execution))
	mux.HandleFunc("GET /console/instances/{id}/timeline", c.signedIn(c.timeline))
	mux.HandleFunc("POST /console/instances/{id}/pause", c.signedIn(c.pause))
	mux.HandleFunc("POST /console/instances/{id}/resume", c.signedIn(c.resume))
	mux.HandleFunc("POST /console/instances/{id}/replay-failed", c.signedIn(c.replayFailed))
	mux.HandleFunc("POST /console/instances/{id}/executions/{eid}/replay", c.signedIn(c.replay))
	mux.HandleFunc("/console/", c.signedIn(func(w http.ResponseWriter, r *http.Request, _ session) {
		c.fail(w, r, session{}, errNoPage)
	}))
	return securityHeaders(mux)
}

// console serves the pages.
type console struct {
	cfg      Config
	sessions *sessions
	throttle *throttle
}

// securityHeaders sets the headers every console response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}
