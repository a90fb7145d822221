package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// DefaultMaxBody is the largest delivery accepted: well under the queue's
// 256 KB message limit once wrapped as a change.
const DefaultMaxBody = 128 * 1024

// Enqueuer puts a change on the queue; it returns once the queue accepted it.
type Enqueuer interface {
	Enqueue(ctx context.Context, c apmc.Change) error
}

// Deps are what the endpoints need.
type Deps struct {
	// Webhooks gives each instance's webhook credentials; wrap the store in
	// a Cache so a warm function reads them at most once per TTL.
	Webhooks apmc.WebhookAuths
	Queue    Enqueuer
	Logger   *slog.Logger
	Now      func() time.Time
	MaxBody  int64
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d Deps) maxBody() int64 {
	if d.MaxBody > 0 {
		return d.MaxBody
	}
	return DefaultMaxBody
}

func (d Deps) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Errors the endpoints answer with; writeError maps them to HTTP statuses.
var (
	errNoSuchWebhook = errors.New("no such webhook")
	errUnauthorized  = errors.New("the delivery's signature is missing or invalid")
	errTooLarge      = errors.New("the body is larger than the endpoint accepts")
	errMediaType     = errors.New("unsupported content type")
	errMalformed     = errors.New("malformed delivery")
	errMethod        = errors.New("method not allowed")
)

// maxInstanceIDBytes is DynamoDB's limit for a partition key: no stored
// instance has a longer id, and asking for one is an error there, which
// must not become a 503 that makes the sender retry.
const maxInstanceIDBytes = 2048

// authenticate returns the webhook credentials of the instance's side
// when token is one of its accepted path tokens. An unknown instance and a
// wrong token give the same error after the same work, so nobody can tell
// which instances exist.
func authenticate(ctx context.Context, auths apmc.WebhookAuths, id string, side apmc.Side, token string, now time.Time) (apmc.WebhookAuth, error) {
	if len(id) > maxInstanceIDBytes {
		refuse(token, now)
		return apmc.WebhookAuth{}, errNoSuchWebhook
	}
	auth, err := auths.WebhookAuth(ctx, id, side)
	if c, ok := auths.(*Cache); ok && err == nil && !auth.Accepts(token, now) {
		// A known instance's cached credentials may predate a rotation:
		// read them again, at most once a second per instance. An unknown
		// instance stays unknown until the cache's MissTTL ends.
		auth, err = c.recheck(ctx, id, side)
	}
	switch {
	case errors.Is(err, apmc.ErrNotFound):
		refuse(token, now)
		return apmc.WebhookAuth{}, errNoSuchWebhook
	case err != nil:
		return apmc.WebhookAuth{}, fmt.Errorf("load webhook credentials: %w", err)
	case !auth.Accepts(token, now):
		return apmc.WebhookAuth{}, errNoSuchWebhook
	}
	return auth, nil
}

// refuse does the work of checking a token against one digest, so an
// unknown instance takes as long to refuse as a wrong token.
func refuse(token string, now time.Time) {
	apmc.WebhookAuth{Tokens: []apmc.TokenDigest{{Digest: noToken}}}.Accepts(token, now)
}

// noToken has the length of a digest but is not hex, so no token matches it.
var noToken = strings.Repeat("-", 64)

// readBody reads the body, refusing one over the limit before reading it all.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, at most %d bytes", errTooLarge, r.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fmt.Errorf("%w: at most %d bytes", errTooLarge, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body failed: %w", errMalformed, err)
	}
	return body, nil
}

// response is the JSON body of every answer.
type response struct {
	Status   string `json:"status,omitempty"`
	ChangeID string `json:"change_id,omitempty"`
	Error    string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v response) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError maps an error to its HTTP answer: the one place that does.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	status := http.StatusServiceUnavailable
	msg := "the change could not be queued; try again"
	switch {
	case errors.Is(err, errNoSuchWebhook):
		status, msg = http.StatusNotFound, errNoSuchWebhook.Error()
	case errors.Is(err, errUnauthorized):
		status, msg = http.StatusUnauthorized, err.Error()
	case errors.Is(err, errTooLarge):
		status, msg = http.StatusRequestEntityTooLarge, err.Error()
	case errors.Is(err, errMethod):
		status, msg = http.StatusMethodNotAllowed, err.Error()
	case errors.Is(err, errMediaType):
		status, msg = http.StatusUnsupportedMediaType, err.Error()
	case errors.Is(err, errMalformed), apmc.IsInvalid(err), apmc.IsPermanent(err):
		status, msg = http.StatusBadRequest, err.Error()
	}
	if status >= 500 {
		log.Error("webhook not accepted", "status", status, "error", err.Error())
	} else {
		log.Warn("webhook refused", "status", status, "error", msg)
	}
	writeJSON(w, status, response{Error: msg})
}
