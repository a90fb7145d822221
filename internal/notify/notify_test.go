package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

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
