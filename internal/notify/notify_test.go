package notify

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

const apmcLoopbackHTTP = apmc.LoopbackHTTP

func TestWebhookSend(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string // "" delivers
	}{
		{"delivered", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }, ""},
		{"refused", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no_team", http.StatusNotFound) }, "answered 404"},
		{"redirected", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
		}, "answered 302"},
		{"too slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }, "no answer within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				Text string `json:"text"`
			}
			var contentType string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				contentType = r.Header.Get("Content-Type")
				_ = json.NewDecoder(r.Body).Decode(&got)
				tt.handler(w, r)
			}))
			defer srv.Close()
			hook := srv.URL + "/services/T0/B0/secret-part"
			err := (&Webhook{Timeout: 100 * time.Millisecond}).Send(context.Background(), hook, "instance acme is failing")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Send() error = %v", err)
				}
				if got.Text != "instance acme is failing" || contentType != "application/json" {
					t.Errorf("received text %q as %q, want the message as application/json", got.Text, contentType)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Send() error = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret-part") || strings.Contains(err.Error(), srv.URL) {
				t.Errorf("Send() error = %v, which repeats the URL", err)
			}
		})
	}
}

func TestWebhookRefusesPlainHTTPElsewhere(t *testing.T) {
	err := (&Webhook{}).Send(context.Background(), "http://hooks.example.com/services/T0/B0/secret-part", "x")
	if err == nil || strings.Contains(err.Error(), "secret-part") {
		t.Errorf("Send(plain http, not loopback) error = %v, want a refusal without the URL", err)
	}
}

func TestWebhookEscapesSlackMarkup(t *testing.T) {
	var got struct {
		Text string `json:"text"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
	}))
	defer srv.Close()
	if err := (&Webhook{}).Send(context.Background(), srv.URL, "instance Smith & Co <Training> is failing"); err != nil {
		t.Fatalf("Send() error = %v", err)
	}
	if want := "instance Smith &amp; Co &lt;Training&gt; is failing"; got.Text != want {
		t.Errorf("received %q, want %q", got.Text, want)
	}
}

// The URL check sees the host as written; a name can resolve to an
// internal address. The connection itself is refused there, on the address
// about to be dialled.
func TestWebhookRefusesInternalAddressesWhenDialling(t *testing.T) {
	tests := []struct {
		ip      string
		refused bool
	}{
		{"10.0.0.5", true},
		{"172.16.3.4", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // instance metadata
		{"0.0.0.0", true},
		{"fd00::1", true},
		{"fe80::1", true},
		{"224.0.0.1", true},
		{"127.0.0.1", !apmcLoopbackHTTP},
		{"::1", !apmcLoopbackHTTP},
		{"203.0.113.7", false},
		{"2001:db8::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			err := guardDial("tcp", net.JoinHostPort(tt.ip, "443"), nil)
			if (err != nil) != tt.refused {
				t.Errorf("guardDial(%s) = %v, refused want %v", tt.ip, err, tt.refused)
			}
		})
	}
	// Through Send: an internal address the URL check lets through in this
	// build is still not connected to.
	err := (&Webhook{Timeout: time.Second}).Send(context.Background(), "https://10.255.255.1/services/T0/B0/secret-part", "x")
	if err == nil || !strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), "secret-part") || strings.Contains(err.Error(), "10.255.255.1") {
		t.Errorf("Send(to a private address) error = %v, want a refusal naming neither the URL nor the address", err)
	}
}
