// Package edge adapts the service's plain handlers to AWS Lambda: API
// Gateway HTTP API events to net/http, the environment to typed settings,
// and the JSON logger every function uses.
package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// HTTPHandler is a Lambda handler for API Gateway HTTP API (payload 2.0) events.
type HTTPHandler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// HTTP adapts h to API Gateway HTTP API events.
func HTTP(h http.Handler) HTTPHandler {
	return httpadapter.NewV2(h).ProxyWithContext
}

// IAMAuthenticated reports whether API Gateway authenticated the request with
// IAM (SigV4), as the HTTP API does for the /api routes.
func IAMAuthenticated(r *http.Request) bool {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	return ok && rc.Authorizer != nil && rc.Authorizer.IAM != nil && rc.Authorizer.IAM.UserARN != ""
}

// Logger returns the JSON logger for a function, at the level in LOG_LEVEL
// (or AWS_LAMBDA_LOG_LEVEL, set by Lambda's logging configuration).
func Logger(function string) *slog.Logger {
	level := slog.LevelInfo
	for _, name := range []string{"LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL"} {
		if v := os.Getenv(name); v != "" {
			_ = level.UnmarshalText([]byte(strings.ToLower(v)))
			break
		}
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level})).With("function", function)
}

// Env reads settings from the environment, collecting every problem so a
// misconfigured function says all that is wrong at once.
type Env struct {
	problems []string
}

// Required returns the variable's value, noting a problem if it is unset.
func (e *Env) Required(name string) string {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		e.problems = append(e.problems, name+" is not set")
	}
	return v
}

// Optional returns the variable's value or def.
func (e *Env) Optional(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// Seconds returns the variable as a duration in whole seconds, or def.
func (e *Env) Seconds(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		e.problems = append(e.problems, fmt.Sprintf("%s must be a whole number of seconds, not %q", name, v))
		return def
	}
	return time.Duration(n) * time.Second
}

// Err reports the problems found, if any.
func (e *Env) Err() error {
	if len(e.problems) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %s", strings.Join(e.problems, "; "))
}

// Fail logs why a function cannot start and ends the process: Lambda then
// reports the failed initialisation.
func Fail(log *slog.Logger, err error) {
	log.Error("cannot start", "error", err.Error())
	os.Exit(1)
}
