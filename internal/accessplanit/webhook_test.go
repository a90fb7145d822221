package accessplanit_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/google/go-cmp/cmp"
)

var received = time.Date(2025, 3, 4, 10, 11, 13, 0, time.UTC)

func TestParseWebhookSamples(t *testing.T) {
	updated := time.Date(2025, 3, 4, 10, 11, 12, 345e6, time.UTC)
	tests := []struct {
		file    string
		method  string
		want    apmc.Change // ID left empty means the hash of method and body
		wantErr bool
	}{
		{file: "bare-user.json", method: "PUT", want: apmc.Change{
			Event: apmc.EventUpdated, UserID: "1042", Email: "ada@example.com", OccurredAt: updated,
			User: &apmc.User{ID: "1042", UpdatedAt: updated, UpdatedByID: "1", Fields: map[string]string{
				"ID": "1042", "Forenames": "Ada", "Surname": "Lovelace", "Email": "Ada@Example.com", "MainCompanyID": "3",
				"MarketingOptIn": "true", "DateUpdated": "2025-03-04T10:11:12.345", "UpdatedByID": "1", "CF_Region": "North",
			}},
		}},
		{file: "id-only.json", method: "POST", want: apmc.Change{Event: apmc.EventCreated, UserID: "1042"}},
		{file: "id-only.json", method: "patch", want: apmc.Change{Event: apmc.EventUpdated, UserID: "1042"}},
		{file: "id-only.json", method: "DELETE", want: apmc.Change{Event: apmc.EventDeleted, UserID: "1042"}},
		{file: "wrapper-data.json", method: "PUT", want: apmc.Change{Event: apmc.EventUpdated, UserID: "1042", Email: "ada@example.com"}},
		{file: "wrapper-entity-lowercase.json", method: "POST", want: apmc.Change{
			Event: apmc.EventCreated, UserID: "1042", Email: "ada@example.com",
			OccurredAt: time.Date(2025, 3, 4, 10, 11, 12, 0, time.UTC),
			User: &apmc.User{ID: "1042", UpdatedAt: time.Date(2025, 3, 4, 10, 11, 12, 0, time.UTC), Fields: map[string]string{
				"ID": "1042", "Email": "ADA@example.com", "Forenames": "Ada", "Surname": "Lovelace", "DateUpdated": "2025-03-04T10:11:12Z",
			}},
		}},
		{file: "wrapper-string-payload.json", method: "PUT", want: apmc.Change{Event: apmc.EventUpdated, UserID: "1042", Email: "ada@example.com"}},
		{file: "email-only.json", method: "PUT", want: apmc.Change{Event: apmc.EventUpdated, Email: "ada@example.com"}},
		{file: "delegate.json", method: "POST", want: apmc.Change{
			Event: apmc.EventBooking, UserID: "1042", DelegateID: "1042~77", OccurredAt: time.Date(2026, 12, 1, 10, 11, 12, 345e6, time.UTC),
		}},
		{file: "delegate-module-wrapper.json", method: "DELETE", want: apmc.Change{Event: apmc.EventBooking, UserID: "1042", DelegateID: "1042~77"}},
		{file: "delegate-no-user.json", method: "PUT", wantErr: true},
		{file: "company-module.json", method: "PUT", wantErr: true},
		{file: "no-user.json", method: "PUT", wantErr: true},
		{file: "id-only.json", method: "GET", wantErr: true},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file+"/"+tt.method, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "webhooks", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := accessplanit.ParseWebhook(tt.method, body, "inst-1", received)
			if tt.wantErr {
				if !errors.Is(err, accessplanit.ErrMalformed) {
					t.Fatalf("ParseWebhook(%s, %s) error = %v, want ErrMalformed", tt.method, tt.file, err)
				}
				if !apmc.IsPermanent(err) {
					t.Errorf("ParseWebhook(%s, %s) error is not permanent", tt.method, tt.file)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWebhook(%s, %s) error = %v", tt.method, tt.file, err)
			}
			want := tt.want
			want.InstanceID, want.Source, want.ReceivedAt, want.Origin = "inst-1", apmc.SideAccessplanit, received, apmc.OriginWebhook
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseWebhook(%s, %s) mismatch (-want +got):\n%s", tt.method, tt.file, diff)
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("sample %s is not in the table", f)
		}
	}
}

func TestParseWebhookRejects(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"empty", "", "empty body"},
		{"blank", "  \n", "empty body"},
		{"not JSON", "{ID: 1", "not valid JSON"},
		{"not an object", `[{"ID":1}]`, "not a JSON object"},
		{"not UTF-8", "{\"Email\":\"\xff\"}", "not UTF-8"},
		{"no ID or email", `{"Forenames":"Ada"}`, "no user ID and no email"},
		{"null ID", `{"ID":null,"Email":null}`, "no user ID and no email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := accessplanit.ParseWebhook("PUT", []byte(tt.body), "inst-1", received)
			if !errors.Is(err, accessplanit.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseWebhook(PUT, %q) error = %v, want ErrMalformed saying %q", tt.body, err, tt.want)
			}
		})
	}
}
