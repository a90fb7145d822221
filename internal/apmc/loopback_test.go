//go:build !lambda.norpc

package apmc

import "testing"

// TestLoopbackHTTP: outside the Lambda build, plain http to a loopback
// address is accepted (the local stack's simulators), and only there.
func TestLoopbackHTTP(t *testing.T) {
	if !LoopbackHTTP {
		t.Fatal("LoopbackHTTP = false, want true outside the Lambda build")
	}
	for _, raw := range []string{"http://127.0.0.1:8082/accessplan/api/v2/", "http://localhost:8081/3.0", "http://[::1]:9/api/v2/"} {
		if err := CheckBaseURL(raw); err != nil {
			t.Errorf("CheckBaseURL(%q) = %v, want nil", raw, err)
		}
		in := testInstance()
		in.AccessplanitBaseURL = raw
		if err := in.Validate(); err != nil {
			t.Errorf("Validate(accessplanit_base_url %q) = %v, want nil", raw, err)
		}
	}
	from, to := mustParse(t, "http://127.0.0.1:8081/3.0/lists"), mustParse(t, "http://127.0.0.1:8081/3.0/lists/")
	if err := CheckRedirect(from, to, 1); err != nil {
		t.Errorf("CheckRedirect(%s, %s) = %v, want nil", from, to, err)
	}
}
