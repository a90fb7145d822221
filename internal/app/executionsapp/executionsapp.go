// Package executionsapp builds the executions function — the operators'
// JSON API under /api/ and the web console under /console — and the
// operations over a deployment's stores that it serves, which the CLI
// shares. The function's main, the local stack and the CLI all use it.
package executionsapp

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/console"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// sessionKeyTimeout bounds the KMS call deriving the console's session key
// at start.
const sessionKeyTimeout = 5 * time.Second

// Config is what the executions function needs from its environment.
type Config struct {
	// Ops names the tables and queues the operations work on.
	Ops OpsConfig
	// TokenHash is the hex SHA-256 of the operator token; empty, no token
	// is accepted (the API's IAM-authenticated routes still serve).
	TokenHash string
	// SessionKeyID names the KMS HMAC key the console's session key is
	// derived from; empty (or unusable), the console refuses sign-ins.
	SessionKeyID string
	// SessionKey, when set, signs the console's sessions as is instead of
	// one derived from SessionKeyID: the local stack's random key. Not read
	// from the environment.
	SessionKey []byte
	// Secure marks the console's session cookie Secure: the function is
	// served over HTTPS.
	Secure bool
	// TrustRequest, when set, accepts API requests the platform has already
	// authenticated (in AWS, edge.IAMAuthenticated). Not read from the
	// environment.
	TrustRequest func(*http.Request) bool
}

// ConfigFromEnv reads the configuration from the variables the template
// sets (INSTANCES_TABLE, EXECUTIONS_TABLE, QUEUE_URL, DEAD_LETTER_QUEUE_URL,
// CONTACTS_TABLE, BACKFILL_QUEUE_URL, OPERATOR_TOKEN_HASH,
// CONSOLE_SESSION_KEY_ID), reporting every problem at
// once. The function is served over HTTPS, so the cookie is Secure.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	env := app.Env{Getenv: getenv}
	cfg := Config{
		Ops: OpsConfig{
			InstancesTable:   env.Required("INSTANCES_TABLE"),
			ExecutionsTable:  env.Required("EXECUTIONS_TABLE"),
			QueueURL:         env.Required("QUEUE_URL"),
			DeadLetterURL:    env.Required("DEAD_LETTER_QUEUE_URL"),
			ContactsTable:    env.Optional("CONTACTS_TABLE", ""),
			BackfillQueueURL: env.Optional("BACKFILL_QUEUE_URL", ""),
		},
		TokenHash:    env.Optional("OPERATOR_TOKEN_HASH", ""),
		SessionKeyID: env.Optional("CONSOLE_SESSION_KEY_ID", ""),
		Secure:       true,
	}
	return cfg, env.Err()
}

// Function is the executions function, built.
type Function struct {
	// Handler serves /api/ and /console.
	Handler http.Handler
	// Ops are the operations the API and the console serve.
	Ops Ops
}

// New builds the executions function. Without a session key the console
// refuses sign-ins (503) while the API still serves; the reason is logged.
func New(ctx context.Context, cfg Config, deps app.Deps) (*Function, error) {
	operations, err := NewOps(cfg.Ops, deps.AWS)
	if err != nil {
		return nil, err
	}
	log := deps.Log()
	sessionKey := cfg.SessionKey
	if sessionKey == nil {
		// Derived once per cold start and kept in memory only.
		sessionKey, err = deriveSessionKey(ctx, cfg.SessionKeyID, deps.AWS)
		if err != nil {
			log.Error("console sign-in disabled", "error", err.Error())
		}
	}
	mux := http.NewServeMux()
	// A nil *backfill.Service is no first sync: leave the interfaces nil.
	var first api.Backfill
	var firstShown console.Backfill
	if operations.Backfill != nil {
		first, firstShown = operations.Backfill, operations.Backfill
	}
	mux.Handle("/api/", api.New(api.Config{
		Ops:          operations.Service,
		Backfill:     first,
		TokenHash:    cfg.TokenHash,
		TrustRequest: cfg.TrustRequest,
		Logger:       log,
	}))
	consoleHandler := console.New(console.Config{
		Ops:        operations.Service,
		TokenHash:  cfg.TokenHash,
		SessionKey: sessionKey,
		Secure:     cfg.Secure,
		Backfill:   firstShown,
		Logger:     log,
	})
	mux.Handle("/console", consoleHandler)
	mux.Handle("/console/", consoleHandler)
	return &Function{Handler: mux, Ops: operations}, nil
}

// deriveSessionKey asks KMS for the console's session key.
func deriveSessionKey(ctx context.Context, keyID string, c app.Clients) ([]byte, error) {
	if keyID == "" {
		return nil, errors.New("CONSOLE_SESSION_KEY_ID is not set")
	}
	if c.KMS == nil {
		return nil, errors.New("no KMS client")
	}
	ctx, cancel := context.WithTimeout(ctx, sessionKeyTimeout)
	defer cancel()
	return secrets.SessionKey(ctx, c.KMS, keyID)
}
