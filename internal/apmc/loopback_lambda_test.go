//go:build lambda.norpc

package apmc

import (
	"strings"
	"testing"
)

// TestLoopbackHTTP: in the Lambda build, plain http is refused even to a
// loopback address, whatever an instance says (infra/test.sh runs this
// with -tags lambda.norpc).
func TestLoopbackHTTP(t *testing.T) {
	if LoopbackHTTP {
		t.Fatal("LoopbackHTTP = true, want false in the Lambda build")
	}
	for _, raw := range []string{"http://127.0.0.1:8082/accessplan/api/v2/", "http://localhost:8081/3.0", "http://[::1]:9/api/v2/"} {
		if err := CheckBaseURL(raw); err == nil || !strings.Contains(err.Error(), "must use https") {
			t.Errorf("CheckBaseURL(%q) = %v, want an error with %q", raw, err, "must use https")
		}
		in := testInstance()
		in.AccessplanitBaseURL = raw
		if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "must use https") {
			t.Errorf("Validate(accessplanit_base_url %q) = %v, want an error with %q", raw, err, "must use https")
		}
	}
	from, to := mustParse(t, "http://127.0.0.1:8081/3.0/lists"), mustParse(t, "http://127.0.0.1:8081/3.0/lists/")
	if err := CheckRedirect(from, to, 1); err == nil {
		t.Errorf("CheckRedirect(%s, %s) = nil, want refused", from, to)
	}
	if err := CheckBaseURL("https://127.0.0.1:8443/3.0"); err != nil {
		t.Errorf("CheckBaseURL(https loopback) = %v, want nil", err)
	}
}
