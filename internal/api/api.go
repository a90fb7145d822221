package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
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
	// Backfill serves the first sync's plans and job; nil answers their
	// routes 404.
	Backfill Backfill
	Logger   *slog.Logger
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
	a.opsRoutes(mux)
	a.backfillRoutes(mux)
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
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	list, next, err := a.cfg.Ops.ListExecutions(r.Context(), id, q)
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	if list == nil {
		list = []apmc.Execution{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"executions": list, "next_cursor": next})
}

// parseQuery reads execution filters from query parameters; a value that
// is not of its parameter's form, or a query ExecutionQuery.Validate
// refuses, is an error naming the parameter.
func parseQuery(v url.Values) (apmc.ExecutionQuery, error) {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	q := apmc.ExecutionQuery{Status: apmc.Status(get("status")), Flow: apmc.Flow(get("flow")), Contact: apmc.NormaliseEmail(get("contact")), Cursor: get("cursor")}
	var problems []string
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
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n == 0 {
			n = -1 // not a page size: Validate names the parameter
		}
		q.Limit = n
	}
	if err := q.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
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
	case errors.Is(err, backfill.ErrJobRunning):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, apmc.ErrConflict):
		status, msg = http.StatusConflict, "the resource changed meanwhile; try again"
	}
	if status >= 500 {
		log.Error("api request failed", "error", err.Error())
	}
	writeJSON(w, status, map[string]string{"error": msg})
}
