//go:build !lambda.norpc

package connector_test

import "testing"

// TestLoopbackHTTP: outside the Lambda build, clients are built for plain
// http to a loopback address (the local stack's simulators).
func TestLoopbackHTTP(t *testing.T) {
	mcErr, apErr := buildErrors(instanceWith("http://127.0.0.1:8082/accessplan/api/v2/", "http://127.0.0.1:8081/3.0"))
	if mcErr != nil || apErr != nil {
		t.Errorf("Mailchimp, Accessplanit(loopback http) errors = %v, %v; want nil", mcErr, apErr)
	}
}
