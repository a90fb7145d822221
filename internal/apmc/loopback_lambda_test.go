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

// TestNotificationURLRefusesInternalHosts: in the Lambda build a
// notification URL may not name the function's own network by IP (the
// instance metadata address, a VPC address, loopback), and the refusal does
// not repeat the URL.
func TestNotificationURLRefusesInternalHosts(t *testing.T) {
	for _, tt := range []struct {
		raw    string
		refuse bool
	}{
		{"https://hooks.slack.com/services/T0/B0/secret", false},
		{"https://8.8.8.8/hook/secret", false},
		{"https://[2001:4860:4860::8888]/hook/secret", false},
		{"https://127.0.0.1:8443/hook/secret", true},
		{"https://localhost/hook/secret", true},
		{"https://[::1]/hook/secret", true},
		{"https://10.1.2.3/hook/secret", true},
		{"https://172.16.0.9/hook/secret", true},
		{"https://192.168.1.20/hook/secret", true},
		{"https://169.254.169.254/latest/meta-data/secret", true},
		{"https://[fe80::1]/hook/secret", true},
		{"https://[fd00::1]/hook/secret", true},
		{"https://[::ffff:10.0.0.1]/hook/secret", true},
		{"https://0.0.0.0/hook/secret", true},
	} {
		err := CheckNotificationURL(tt.raw)
		if tt.refuse != (err != nil) {
			t.Errorf("CheckNotificationURL(%q) = %v, want refused %t", tt.raw, err, tt.refuse)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("CheckNotificationURL(%q) error %q repeats the URL", tt.raw, err)
		}
		in := testInstance()
		in.Secrets.NotificationURL = tt.raw
		if err := in.Validate(); tt.refuse != (err != nil) {
			t.Errorf("Validate(notification URL %q) = %v, want refused %t", tt.raw, err, tt.refuse)
		}
	}
}
