package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ops"
)

// Config wires the API.
type Config struct {
	// Ops are the operations the API serves; its stores are read for display
	// only (never with secrets).
	Ops *ops.Service
	// TokenHash is the hex SHA-256 of the operator token accepted as
	// "Authorization: Bearer <token>"; empty accepts no token.
	TokenHash string
	// TrustRequest, when set, accepts requests the platform has already
	// authenticated (in AWS: the HTTP API's IAM authorization).
	TrustRequest func(r *http.Request) bool
	Logger       *slog.Logger
}

// New returns the API handler, serving under /api/; its OpenAPI document
// (GET /api/openapi.json) needs no token.
func New(cfg Config) http.Handler {
	a := &server{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/instances", a.summaries)
	mux.HandleFunc("GET /api/instances/{id}", a.summary)
	mux.HandleFunc("GET /api/instances/{id}/executions", a.listExecutions)
	mux.HandleFunc("GET /api/instances/{id}/executions/{eid}", a.getExecution)
	// The execution route serves the detail itself; /detail is kept for
	// clients written before it did.
	mux.HandleFunc("GET /api/instances/{id}/executions/{eid}/detail", a.getExecution)
	a.opsRoutes(mux)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, a.log(), errRoute)
	})
	return public(a.authenticated(mux))
}

type server struct{ cfg Config }

func (a *server) log() *slog.Logger {
	if a.cfg.Logger != nil {
		return a.cfg.Logger
	}
	return slog.New(slog.DiscardHandler)
}

var (
	errUnauthenticated = errors.New("authentication required: send the operator token as a bearer token")
	errRoute           = errors.New("no such route")
	errBadRequest      = errors.New("bad request")
)

// authenticated refuses anonymous requests.
func (a *server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.TrustRequest != nil && a.cfg.TrustRequest(r) {
			next.ServeHTTP(w, r)
			return
		}
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && TokenMatches(tok, a.cfg.TokenHash) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="apmc"`)
		writeError(w, a.log(), errUnauthenticated)
	})
}

// TokenMatches reports in constant time whether token hashes to hash (hex SHA-256).
func TokenMatches(token, hash string) bool {
	want, err := hex.DecodeString(hash)
	if err != nil || len(want) != sha256.Size || token == "" {
		return false
	}
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

// HashToken returns the hex SHA-256 of an operator token, as stored.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (a *server) listExecutions(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := onlyParams(r.URL.Query(), filterParams); err != nil {
		writeError(w, a.log(), err)
		return
	}
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	if _, err := a.cfg.Ops.Instances.Display(r.Context(), id); err != nil {
		writeError(w, a.log(), err)
		return
	}
	list, next, err := a.cfg.Ops.Executions.Executions(r.Context(), id, q)
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	if list == nil {
		list = []apmc.Execution{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"executions": list, "next_cursor": next})
}

// ParseQuery reads execution filters from query parameters; a bad value is
// an error naming the parameter.
func ParseQuery(v map[string][]string) (apmc.ExecutionQuery, error) {
	get := func(k string) string {
		if len(v[k]) == 0 {
			return ""
		}
		return strings.TrimSpace(v[k][0])
	}
	var q apmc.ExecutionQuery
	var problems []string
	switch s := apmc.Status(get("status")); s {
	case "", apmc.StatusSucceeded, apmc.StatusFailed, apmc.StatusSuppressed, apmc.StatusSkipped, apmc.StatusHeld:
		q.Status = s
	default:
		problems = append(problems, "status must be succeeded, failed, suppressed, skipped or held")
	}
	switch f := apmc.Flow(get("flow")); f {
	case "", apmc.FlowToMailchimp, apmc.FlowToAccessplanit:
		q.Flow = f
	default:
		problems = append(problems, "flow must be accessplanit_to_mailchimp or mailchimp_to_accessplanit")
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				problems = append(problems, p.name+" must be an RFC 3339 time, such as 2026-11-26T09:00:00Z")
			}
			*p.dst = t
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		problems = append(problems, "from must be before to")
	}
	for _, p := range []struct {
		name string
		dst  *bool
	}{{"original_only", &q.OriginalOnly}, {"changed_only", &q.ChangedOnly}} {
		if s := get(p.name); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				problems = append(problems, p.name+" must be true or false")
			}
			*p.dst = b
		}
	}
	if s := get("contact"); s != "" {
		if !apmc.LooksLikeEmail(s) {
			problems = append(problems, "contact must be an email address")
		}
		q.Contact = strings.ToLower(s)
	}
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			problems = append(problems, "limit must be a number from 1 to 200")
		}
		q.Limit = n
	}
	q.Cursor = get("cursor")
	if len(problems) > 0 {
		return apmc.ExecutionQuery{}, apmc.Invalidf("%s", strings.Join(problems, "; "))
	}
	return q, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError maps an error to its HTTP answer: the one place that does.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.Is(err, errUnauthenticated):
		status, msg = http.StatusUnauthorized, err.Error()
	case errors.Is(err, errRoute), errors.Is(err, apmc.ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.Is(err, errBadRequest), apmc.IsInvalid(err):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, apmc.ErrConflict):
		status, msg = http.StatusConflict, "the resource changed meanwhile; try again"
	}
	if status >= 500 {
		log.Error("api request failed", "error", err.Error())
	}
	writeJSON(w, status, map[string]string{"error": msg})
}
