package mailchimp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

const testKey = "0123456789abcdef0123456789abcdef-us21"

func TestNewDataCentre(t *testing.T) {
	tests := []struct {
		key     string
		want    string
		wantErr bool
	}{
		{"0123456789abcdef-us21", "https://us21.api.mailchimp.com/3.0", false},
		{"abc-def-us6", "https://us6.api.mailchimp.com/3.0", false},
		{"  abc-us1  ", "https://us1.api.mailchimp.com/3.0", false},
		{"0123456789abcdef", "", true},
		{"0123456789abcdef-", "", true},
		{"0123456789abcdef-evil.com/x", "", true},
		{"0123456789abcdef-US21", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		c, err := New(tt.key)
		if tt.wantErr {
			if err == nil {
				t.Errorf("New(%q) = %v, want an error", tt.key, c)
				continue
			}
			if k := strings.TrimSpace(tt.key); k != "" && strings.Contains(err.Error(), k) {
				t.Errorf("New(%q) error %q contains the key", tt.key, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q) error = %v, want nil", tt.key, err)
			continue
		}
		if got := c.BaseURL(); got != tt.want {
			t.Errorf("New(%q).BaseURL() = %s, want %s", tt.key, got, tt.want)
		}
	}
}

func TestWithBaseURL(t *testing.T) {
	tests := []struct {
		url     string
		want    string
		wantErr bool
	}{
		{"http://127.0.0.1:8080/3.0", "http://127.0.0.1:8080/3.0", false},
		{"http://127.0.0.1:8080/mc/3.0/", "http://127.0.0.1:8080/mc/3.0", false},
		{"http://127.0.0.1:8080", "", true},
		{"http://127.0.0.1:8080/3.0/lists", "", true},
		{"ftp://host/3.0", "", true},
		{"/3.0", "", true},
	}
	for _, tt := range tests {
		// The key has no data centre: a base URL makes it unnecessary.
		c, err := New("simulatorkey", WithBaseURL(tt.url))
		switch {
		case tt.wantErr && err == nil:
			t.Errorf("New(WithBaseURL(%q)) = %v, want an error", tt.url, c)
		case !tt.wantErr && err != nil:
			t.Errorf("New(WithBaseURL(%q)) error = %v, want nil", tt.url, err)
		case !tt.wantErr && c.BaseURL() != tt.want:
			t.Errorf("New(WithBaseURL(%q)).BaseURL() = %s, want %s", tt.url, c.BaseURL(), tt.want)
		}
	}
}

func TestClientHidesKey(t *testing.T) {
	c, err := New(testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, testKey) || strings.Contains(s, testKey[:32]) {
			t.Errorf("formatted client %q contains the key", s)
		}
	}
}

func TestAuthHeader(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"health_status":"Everything's Chimpy!"}`)
	}))
	defer srv.Close()
	c, err := New(testKey, WithBaseURL(srv.URL+"/3.0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("Ping() = %v, want nil", err)
	}
	_, pass, ok := got.BasicAuth()
	if !ok || pass != testKey {
		t.Errorf("BasicAuth() password = %q, %v; want the key, true", pass, ok)
	}
}

func TestErrorClassification(t *testing.T) {
	problem := func(status int, title, detail string) string {
		return fmt.Sprintf(`{"type":"https://mailchimp.com/developer/marketing/docs/errors/","title":%q,"status":%d,"detail":%q,"instance":"995c5cb0-3280-4a6e-808b-3b096d0bb219"}`, title, status, detail)
	}
	const pj = "application/problem+json"
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		permanent   bool
		notFound    bool
		wantInText  []string
	}{
		{"invalid resource", 400, pj, `{"type":"t","title":"Invalid Resource","status":400,"detail":"Your merge fields were invalid.","instance":"i","errors":[{"field":"FNAME","message":"Please enter a value"},{"field":"BIRTHDAY","message":"Please enter a month (01-12) and a day (01-31)"}]}`,
			true, false, []string{"400", "Invalid Resource", "Your merge fields were invalid.", "FNAME: Please enter a value", "BIRTHDAY: Please enter"}},
		{"looks fake", 400, pj, problem(400, "Invalid Resource", "test@example.com looks fake or invalid, please enter a real email address."), true, false, []string{"looks fake"}},
		{"compliance state", 400, pj, problem(400, "Member In Compliance State", "x@y.co is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed."), true, false, []string{"Member In Compliance State"}},
		{"forgotten email", 400, pj, problem(400, "Forgotten Email Not Subscribed", "x@y.co was permanently deleted and cannot be re-imported."), true, false, []string{"Forgotten Email Not Subscribed"}},
		{"member exists", 400, pj, problem(400, "Member Exists", "x@y.co is already a list member."), true, false, []string{"Member Exists"}},
		{"bad key", 401, pj, problem(401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter."), true, false, []string{"401", "API Key Invalid"}},
		{"forbidden with problem", 403, pj, problem(403, "Forbidden", "You don't have permission to access this resource."), true, false, []string{"403"}},
		{"forbidden without body", 403, "text/html", "<html>Forbidden</html>", false, false, []string{"403"}},
		{"not found", 404, pj, problem(404, "Resource Not Found", "The requested resource could not be found."), true, true, []string{"404", "Resource Not Found"}},
		{"too many requests", 429, pj, problem(429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections."), false, false, []string{"429"}},
		{"too many requests without body", 429, "", "", false, false, []string{"429", "Too Many Requests"}},
		{"server error", 500, pj, problem(500, "Internal Server Error", "An unexpected internal error has occurred."), false, false, []string{"500"}},
		{"bad gateway HTML", 502, "text/html; charset=UTF-8", "<html><body><h1>502 Bad Gateway</h1></body></html>", false, false, []string{"502", "Bad Gateway"}},
		{"service unavailable", 503, "text/plain", "try later", false, false, []string{"503"}},
		{"problem echoing the key", 400, pj, problem(400, "Invalid Resource", "bad key "+testKey), true, false, []string{"[redacted]"}},
	}
	blocked := map[string]bool{"compliance state": true, "forgotten email": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			c, err := New(testKey, WithBaseURL(srv.URL+"/3.0"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Member(context.Background(), "list1", "a@b.co")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Member() error = %v, want an *APIError", err)
			}
			if apiErr.Status != tt.status {
				t.Errorf("APIError.Status = %d, want %d", apiErr.Status, tt.status)
			}
			if got := apmc.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tt.permanent)
			}
			if _, got := apmc.BlockedReason(err); got != blocked[tt.name] {
				t.Errorf("BlockedReason(%v) blocked = %v, want %v", err, got, blocked[tt.name])
			}
			if got := errors.Is(err, apmc.ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.notFound)
			}
			text := err.Error()
			if strings.Contains(text, testKey) || strings.Contains(text, "\n") {
				t.Errorf("error %q contains the key or a newline", text)
			}
			for _, w := range tt.wantInText {
				if !strings.Contains(text, w) {
					t.Errorf("error %q does not contain %q", text, w)
				}
			}
		})
	}
}

func TestTransportErrorsAreTransient(t *testing.T) {
	done := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	defer close(done) // release the handler before Close waits for it

	// A port nothing listens on: take one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()

	tests := []struct {
		name string
		base string
	}{
		{"timeout", slow.URL},
		{"connection refused", closedURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(testKey, WithBaseURL(tt.base+"/3.0"), WithTimeout(100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.UpsertMember(context.Background(), "list1", apmc.Member{Email: "a@b.co"}, "subscribed")
			if err == nil {
				t.Fatal("UpsertMember() = nil, want an error")
			}
			if apmc.IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = true, want false", err)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error %q contains the key", err)
			}
		})
	}
}

func TestSubscriberHash(t *testing.T) {
	tests := []struct{ email, want string }{
		// Expected values computed with md5sum over the lower-cased address.
		{"Urist.McVankab@freddiesjokes.com", "62eeb292278cc15f5817cb78f7790b08"},
		{"urist.mcvankab@freddiesjokes.com", "62eeb292278cc15f5817cb78f7790b08"},
		{" a+b@example.com ", "4709dfd443b6cca9b5a01b3324124203"},
	}
	for _, tt := range tests {
		if got := SubscriberHash(tt.email); got != tt.want {
			t.Errorf("SubscriberHash(%q) = %s, want %s", tt.email, got, tt.want)
		}
	}
}

func TestResponseSizeLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"health_status":"`+strings.Repeat("x", maxBodyBytes)+`"}`)
	}))
	defer srv.Close()
	c, err := New(testKey, WithBaseURL(srv.URL+"/3.0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Ping() with an oversized answer = %v, want a size error", err)
	}
}

func TestAccountID(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    string
		wantErr bool
	}{
		{name: "account id", body: `{"account_id":"8d3a3db4d97663a9074efcc16","account_name":"Shop"}`, want: "8d3a3db4d97663a9074efcc16"},
		{name: "no account id", body: `{"account_name":"Shop"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			c, err := New(testKey, WithBaseURL(srv.URL+"/3.0"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.AccountID(context.Background())
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("AccountID() = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if path != "/3.0/" {
				t.Errorf("AccountID() asked for %s, want the API root /3.0/", path)
			}
		})
	}
}
