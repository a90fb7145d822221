package apmc

import (
	"net/url"
	"strings"
	"testing"
)

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string // "" accepts
	}{
		{"https://example.accessplanit.com/x/api/v2/", ""},
		{"https://127.0.0.1:8443/3.0", ""},
		{"http://example.accessplanit.com/x/api/v2/", "must use https"},
		{"http://10.0.0.1/api/v2/", "must use https"},
		{"http://169.254.169.254/latest/", "must use https"},
		{"https://u:p@example.com/api/v2/", "credentials"},
		{"ftp://example.com/api/v2/", "not https"},
		{"/api/v2/", "not an absolute URL"},
		{"https://:443/api/v2/", "not an absolute URL"},
		{"", "is required"},
	}
	for _, tt := range tests {
		err := CheckBaseURL(tt.url)
		if tt.wantErr == "" && err != nil {
			t.Errorf("CheckBaseURL(%q) = %v, want nil", tt.url, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("CheckBaseURL(%q) = %v, want an error with %q", tt.url, err, tt.wantErr)
		}
	}
}

func TestCheckRedirect(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool // followed
	}{
		{"https://api.example.com/3.0/lists", "https://api.example.com/3.0/lists/", true},
		{"https://api.example.com/3.0/lists", "https://other.example.com/3.0/lists", false},
		{"https://api.example.com/3.0/lists", "https://api.example.com:8443/3.0/lists", false},
		{"https://api.example.com/3.0/lists", "http://api.example.com/3.0/lists", false},
		{"https://127.0.0.1:8081/3.0/lists", "http://127.0.0.1:8081/3.0/lists", false},
		{"https://api.example.com/3.0/lists", "ftp://api.example.com/3.0/lists", false},
	}
	for _, tt := range tests {
		from, to := mustParse(t, tt.from), mustParse(t, tt.to)
		err := CheckRedirect(from, to, 1)
		if got := err == nil; got != tt.want {
			t.Errorf("CheckRedirect(%s, %s) = %v, want followed %v", tt.from, tt.to, err, tt.want)
		}
		if err != nil && !IsPermanent(err) {
			t.Errorf("CheckRedirect(%s, %s) = %v, want a permanent error", tt.from, tt.to, err)
		}
	}
}

func TestCheckRedirectStopsAfterTen(t *testing.T) {
	from, to := mustParse(t, "https://api.example.com/a"), mustParse(t, "https://api.example.com/b")
	for followed, want := range map[int]bool{0: true, 9: true, 10: false} {
		if err := CheckRedirect(from, to, followed); (err == nil) != want {
			t.Errorf("CheckRedirect(%s, %s, %d) = %v, want followed %v", from, to, followed, err, want)
		}
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u
}

func TestCheckNotificationURL(t *testing.T) {
	tests := []struct {
		raw string
		ok  bool
	}{
		{"https://hooks.slack.com/services/T000/B000/XXXX", true},
		{"http://127.0.0.1:9999/hook", LoopbackHTTP},
		{"http://localhost/hook", LoopbackHTTP},
		{"http://hooks.example.com/hook", false},
		{"https://user:pw@hooks.example.com/hook", false},
		{"ftp://hooks.example.com/hook", false},
		{"/relative/hook", false},
		{"", false},
	}
	for _, tt := range tests {
		err := CheckNotificationURL(tt.raw)
		if (err == nil) != tt.ok {
			t.Errorf("CheckNotificationURL(%q) = %v, want ok %t", tt.raw, err, tt.ok)
		}
		if err != nil && tt.raw != "" && strings.Contains(err.Error(), tt.raw) {
			t.Errorf("CheckNotificationURL(%q) = %v, which repeats the URL", tt.raw, err)
		}
	}
}
