package mailchimp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// TestRedirects: the client follows a redirect on the same host, and
// refuses, permanently and before sending anything there, one to another
// host or to plain http, so the API key goes nowhere else.
func TestRedirects(t *testing.T) {
	var elsewhere atomic.Int64
	count := func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		_, _ = w.Write([]byte(`{"health_status":"Everything's Chimpy!"}`))
	}
	otherTLS := httptest.NewTLSServer(http.HandlerFunc(count))
	defer otherTLS.Close()
	otherPlain := httptest.NewServer(http.HandlerFunc(count))
	defer otherPlain.Close()

	var target string
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/3.0/ping" {
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(`{"health_status":"Everything's Chimpy!"}`))
	}))
	defer origin.Close()

	tests := []struct {
		name    string
		target  string
		wantErr string // "" follows
	}{
		{"same host", origin.URL + "/3.0/ping-moved", ""},
		{"another host", otherTLS.URL + "/3.0/ping", "another host"},
		{"plain http on the same host", "http://" + origin.Listener.Addr().String() + "/3.0/ping-moved", "only https"},
		{"plain http on another host", otherPlain.URL + "/3.0/ping", "another host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target = tt.target
			elsewhere.Store(0)
			c, err := New("key-us21", WithBaseURL(origin.URL+"/3.0"), WithHTTPClient(origin.Client()))
			if err != nil {
				t.Fatalf("New error: %v", err)
			}
			err = c.Ping(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Ping() redirected to %s = %v, want nil", tt.target, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !apmc.IsPermanent(err) {
				t.Errorf("Ping() redirected to %s = %v, want a permanent error with %q", tt.target, err, tt.wantErr)
			}
			if n := elsewhere.Load(); n != 0 {
				t.Errorf("Ping() redirected to %s sent %d requests there, want none", tt.target, n)
			}
		})
	}
}

// TestBaseURLRule: WithBaseURL applies apmc.CheckBaseURL, so a client is
// never built for a plain http URL to another machine.
func TestBaseURLRule(t *testing.T) {
	for _, raw := range []string{"http://mc.example.com/3.0", "http://10.0.0.1/3.0", "https://user:pw@mc.example.com/3.0", "ftp://mc.example.com/3.0"} {
		if _, err := New("key-us21", WithBaseURL(raw)); err == nil {
			t.Errorf("New(WithBaseURL(%q)) error = nil, want refused", raw)
		}
	}
}
