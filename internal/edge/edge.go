// Package edge adapts the service's plain handlers to AWS Lambda: API
// Gateway HTTP API events to net/http, API Gateway's IAM authentication,
// the JSON logger every function uses, and a failed start. The functions
// themselves are built in internal/app.
package edge

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"

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

// Fail logs why a function cannot start and ends the process: Lambda then
// reports the failed initialisation.
func Fail(log *slog.Logger, err error) {
	log.Error("cannot start", "error", err.Error())
	os.Exit(1)
}
