package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/edge"
)

// TestDocumentPublicInLambda sends API Gateway events through the Lambda
// adapter as the HTTP API hands them over on its public route (no IAM
// authorizer): the document is served, and nothing else under /api is.
func TestDocumentPublicInLambda(t *testing.T) {
	d := loadOpenAPI(t)
	handler := edge.HTTP(api.New(api.Config{TokenHash: api.HashToken(operatorToken), TrustRequest: edge.IAMAuthenticated}))
	for _, tc := range []struct {
		routeKey, method, path string
		want                   int
	}{
		{"GET /api/openapi.json", http.MethodGet, "/api/openapi.json", http.StatusOK},
		{"ANY /api/{proxy+}", http.MethodGet, "/api/instances", http.StatusUnauthorized},
		{"ANY /api/{proxy+}", http.MethodPost, "/api/openapi.json", http.StatusUnauthorized},
	} {
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: tc.routeKey, RawPath: tc.path,
			Headers: map[string]string{"accept": "application/json"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				Stage: "$default", RouteKey: tc.routeKey,
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: tc.method, Path: tc.path, Protocol: "HTTP/1.1", SourceIP: "81.2.69.160"},
			},
		}
		res, err := handler(context.Background(), ev)
		if err != nil {
			t.Fatalf("%s %s: handler error = %v", tc.method, tc.path, err)
		}
		if res.StatusCode != tc.want {
			t.Errorf("%s %s without IAM = %d %.200s, want %d", tc.method, tc.path, res.StatusCode, res.Body, tc.want)
		}
		if tc.want == http.StatusOK && res.Body != string(d.raw) {
			t.Errorf("%s %s served a document other than openapi.json", tc.method, tc.path)
		}
	}
}
