//go:build lambda.norpc

package connector_test

import (
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// TestLoopbackHTTP: in the Lambda build (infra/test.sh runs it with -tags
// lambda.norpc), a client is never built for plain http, not even to a
// loopback address, whatever the stored instance says.
func TestLoopbackHTTP(t *testing.T) {
	mcErr, apErr := buildErrors(instanceWith("http://127.0.0.1:8082/accessplan/api/v2/", "http://127.0.0.1:8081/3.0"))
	for side, err := range map[string]error{"Mailchimp": mcErr, "Accessplanit": apErr} {
		if err == nil || !apmc.IsPermanent(err) {
			t.Errorf("%s(loopback http) error = %v, want a permanent error", side, err)
		}
	}
}
