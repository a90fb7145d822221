package accessplanit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
)

// TestRedirects: the client follows a redirect on the same host, and
// refuses, permanently and before sending anything there, one to another
// host or to plain http, so the API key goes nowhere else.
func TestRedirects(t *testing.T) {
	const list = `{"value":[]}`
	var elsewhere atomic.Int64
	count := func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		_, _ = w.Write([]byte(list))
	}
	otherTLS := httptest.NewTLSServer(http.HandlerFunc(count))
	defer otherTLS.Close()
	otherPlain := httptest.NewServer(http.HandlerFunc(count))
	defer otherPlain.Close()

	var target string
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/Company" {
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(list))
	}))
	defer origin.Close()

	tests := []struct {
		name    string
		target  string
		wantErr string // "" follows
	}{
		{"same host", origin.URL + "/api/v2/Company-moved", ""},
		{"another host", otherTLS.URL + "/api/v2/Company", "another host"},
		{"plain http on the same host", "http://" + origin.Listener.Addr().String() + "/api/v2/Company-moved", "only https"},
		{"plain http on another host", otherPlain.URL + "/api/v2/Company", "another host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target = tt.target
			elsewhere.Store(0)
			c, err := accessplanit.New(origin.URL+"/api/v2/", "ap-key", accessplanit.WithHTTPClient(origin.Client()))
			if err != nil {
				t.Fatalf("New error: %v", err)
			}
			_, err = c.Companies(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Companies() redirected to %s = %v, want nil", tt.target, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !apmc.IsPermanent(err) {
				t.Errorf("Companies() redirected to %s = %v, want a permanent error with %q", tt.target, err, tt.wantErr)
			}
			if n := elsewhere.Load(); n != 0 {
				t.Errorf("Companies() redirected to %s sent %d requests there, want none", tt.target, n)
			}
		})
	}
}
