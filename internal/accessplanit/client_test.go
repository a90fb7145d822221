package accessplanit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	apsim "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
)

const testKey = "ap-test-key-0123456789"

// platform starts a simulator on 127.0.0.1 with one key, one company and a
// client for it.
func platform(t *testing.T, options ...func(*apsim.Options)) (*apsim.Server, *accessplanit.Client, string) {
	t.Helper()
	opts := apsim.Options{CustomFields: []string{"CF_Region"}}
	for _, o := range options {
		o(&opts)
	}
	sim := apsim.New(opts)
	t.Cleanup(sim.Close)
	sim.AddAPIKey(testKey, "77")
	company := sim.AddCompany("Acme Training")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := accessplanit.New(srv.URL+sim.Prefix(), testKey, accessplanit.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, company
}

func TestCreateGetFindUpdate(t *testing.T) {
	sim, c, company := platform(t)
	ctx := context.Background()

	created, err := c.CreateUser(ctx, map[string]string{
		"Forenames": "Ada", "Surname": "Lovelace", "Email": "ada@example.com", "MainCompanyID": company,
		"DOB": "1815-12-10", "MarketingOptIn": "true", "CF_Region": "North",
	})
	if err != nil {
		t.Fatalf("CreateUser() error = %v", err)
	}
	if created.ID == "" || created.UpdatedByID != "77" || created.UpdatedAt.IsZero() {
		t.Errorf("CreateUser() = %+v, want ID, UpdatedByID 77 and UpdatedAt", created)
	}
	for field, want := range map[string]string{"DOB": "1815-12-10T00:00:00", "MarketingOptIn": "true", "MainCompanyID": company, "MainCompanyName": "Acme Training", "CF_Region": "North"} {
		if got := created.Fields[field]; got != want {
			t.Errorf("CreateUser().Fields[%s] = %q, want %q", field, got, want)
		}
	}
	if _, ok := created.Fields["Title"]; ok {
		t.Errorf("CreateUser().Fields has Title %q, want null left out", created.Fields["Title"])
	}

	got, err := c.User(ctx, created.ID)
	if err != nil || got.Email() != "ada@example.com" {
		t.Fatalf("User(%s) = %+v, %v; want the created user", created.ID, got, err)
	}

	// A second, older user with the same email in another case.
	older, err := c.CreateUser(ctx, map[string]string{"Forenames": "A", "Surname": "L", "Email": "ADA@example.com", "MainCompanyID": company})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateUser(ctx, created.ID, map[string]string{"JobTitle": "Analyst"}); err != nil {
		t.Fatalf("UpdateUser() error = %v", err)
	}
	found, err := c.UsersByEmail(ctx, "Ada@Example.com")
	if err != nil {
		t.Fatalf("UsersByEmail() error = %v", err)
	}
	if len(found) != 2 || found[0].ID != created.ID || found[1].ID != older.ID {
		t.Errorf("UsersByEmail() IDs = %v, want [%s %s] (newest first)", ids(found), created.ID, older.ID)
	}
	stored, _ := sim.User(created.ID)
	if stored["JobTitle"] != "Analyst" || stored["Forenames"] != "Ada" {
		t.Errorf("after UpdateUser, stored user = %v, want JobTitle Analyst and Forenames kept", stored)
	}

	if _, err := c.User(ctx, "999999"); !errors.Is(err, apmc.ErrNotFound) {
		t.Errorf("User(999999) error = %v, want ErrNotFound", err)
	}
	if got, err := c.UsersByEmail(ctx, "o'brien@example.com"); err != nil || len(got) != 0 {
		t.Errorf("UsersByEmail(o'brien) = %v, %v; want none and no error", got, err)
	}
}

func ids(us []apmc.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

func TestCompaniesAndCustomFields(t *testing.T) {
	sim, c, _ := platform(t)
	for i := 0; i < 3; i++ {
		sim.AddCompany("Company " + string(rune('A'+i)))
	}
	got, err := c.Companies(context.Background())
	if err != nil || len(got) != 4 || got[0].Name != "Acme Training" || got[3].Name != "Company C" {
		t.Errorf("Companies() = %v, %v; want 4 companies in ID order", got, err)
	}
	fields, err := c.CustomFields(context.Background())
	if err != nil || len(fields) != 1 || fields[0].Name != "CF_Region" {
		t.Errorf("CustomFields() = %v, %v; want [CF_Region]", fields, err)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	sim, c, company := platform(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		fault     *apsim.Fault
		fields    map[string]string
		status    int
		permanent bool
	}{
		{name: "validation", fields: map[string]string{"Surname": "L", "MainCompanyID": company}, status: 400, permanent: true},
		{name: "unknown company", fields: map[string]string{"Forenames": "A", "Surname": "L", "MainCompanyID": "404"}, status: 400, permanent: true},
		{name: "throttled", fault: &apsim.Fault{Status: 429}, status: 429},
		{name: "server error", fault: &apsim.Fault{Status: 503}, status: 503},
		{name: "dropped connection", fault: &apsim.Fault{Drop: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				sim.InjectFaults(*tt.fault)
			}
			fields := tt.fields
			if fields == nil {
				fields = map[string]string{"Forenames": "A", "Surname": "L", "MainCompanyID": company}
			}
			_, err := c.CreateUser(ctx, fields)
			if err == nil {
				t.Fatalf("CreateUser(%v) error = nil, want one", fields)
			}
			if got := apmc.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tt.permanent)
			}
			var apiErr *accessplanit.APIError
			if tt.status != 0 && (!errors.As(err, &apiErr) || apiErr.Status != tt.status) {
				t.Errorf("CreateUser error = %v, want APIError with status %d", err, tt.status)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("CreateUser error %q contains the API key", err)
			}
		})
	}
}

func TestBadKeyIsPermanentAndNotShown(t *testing.T) {
	sim, _, _ := platform(t)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := accessplanit.New(srv.URL+sim.Prefix(), "wrong-key-secret")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.User(context.Background(), "1")
	var apiErr *accessplanit.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized || !apmc.IsPermanent(err) {
		t.Errorf("User() with a bad key error = %v, want permanent 401", err)
	}
	if strings.Contains(err.Error(), "wrong-key-secret") || strings.Contains(c.String(), "wrong-key-secret") {
		t.Errorf("error %q or client %q shows the API key", err, c)
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	sim, _, _ := platform(t)
	sim.SetLatency(500 * time.Millisecond)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c, err := accessplanit.New(srv.URL+sim.Prefix(), testKey, accessplanit.WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.User(context.Background(), "1")
	if err == nil || apmc.IsPermanent(err) || strings.Contains(err.Error(), testKey) {
		t.Errorf("User() past the timeout error = %v, want a transient error without the key", err)
	}
}

func TestNewRequiresHTTPS(t *testing.T) {
	tests := []struct {
		url     string
		wantErr bool
		want    string
	}{
		{url: "https://csmdemo.accessplanit.com/accessplan/api/v2", want: "https://csmdemo.accessplanit.com/accessplan/api/v2/"},
		{url: "https://csmdemo.accessplanit.com/accessplan/api/v2/", want: "https://csmdemo.accessplanit.com/accessplan/api/v2/"},
		{url: "http://127.0.0.1:8080/accessplan/api/v2/", want: "http://127.0.0.1:8080/accessplan/api/v2/"},
		{url: "http://127.0.0.9/x", want: "http://127.0.0.9/x/"},
		{url: "http://localhost:1/api/v2/", want: "http://localhost:1/api/v2/"},
		{url: "http://[::1]:9/api/v2/", want: "http://[::1]:9/api/v2/"},
		{url: "http://csmdemo.accessplanit.com/accessplan/api/v2/", wantErr: true},
		{url: "http://10.0.0.1/api/v2/", wantErr: true},
		{url: "ftp://example.com/", wantErr: true},
		{url: "https:///nohost", wantErr: true},
		{url: "https://user:pw@example.com/", wantErr: true},
		{url: "not a url", wantErr: true},
	}
	for _, tt := range tests {
		c, err := accessplanit.New(tt.url, "k-secret")
		if tt.wantErr {
			if err == nil {
				t.Errorf("New(%q) error = nil, want one", tt.url)
			} else if strings.Contains(err.Error(), "k-secret") {
				t.Errorf("New(%q) error %q contains the key", tt.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q) error = %v", tt.url, err)
			continue
		}
		if got := c.BaseURL(); got != tt.want {
			t.Errorf("New(%q).BaseURL() = %q, want %q", tt.url, got, tt.want)
		}
	}
	if _, err := accessplanit.New("https://example.com/", " "); err == nil {
		t.Errorf("New with an empty key error = nil, want one")
	}
}
