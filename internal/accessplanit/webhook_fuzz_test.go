package accessplanit_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/google/go-cmp/cmp"
)

// FuzzParseWebhook checks that any delivery either parses into a usable
// Change or fails with ErrMalformed, and always the same way.
func FuzzParseWebhook(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("PUT", body)
	}
	f.Fuzz(func(t *testing.T, method string, body []byte) {
		c, err := accessplanit.ParseWebhook(method, body, "inst", received)
		again, errAgain := accessplanit.ParseWebhook(method, body, "inst", received)
		if (err == nil) != (errAgain == nil) || !cmp.Equal(c, again) {
			t.Fatalf("ParseWebhook(%q, %q) is not deterministic", method, body)
		}
		if err != nil {
			if !errors.Is(err, accessplanit.ErrMalformed) {
				t.Fatalf("ParseWebhook(%q, %q) error = %v, want ErrMalformed", method, body, err)
			}
			return
		}
		if c.UserID == "" && c.Email == "" {
			t.Errorf("ParseWebhook(%q, %q) = change with neither user ID nor email", method, body)
		}
		if c.Source != apmc.SideAccessplanit || c.InstanceID != "inst" {
			t.Errorf("ParseWebhook(%q, %q) = %+v, want source and instance set", method, body, c)
		}
		switch c.Event {
		case apmc.EventCreated, apmc.EventUpdated, apmc.EventDeleted:
		case apmc.EventBooking:
			// A delegate's delivery: a change of its User, never carrying one.
			if c.UserID == "" || c.DelegateID == "" || c.User != nil || !accessplanit.ValidUserID(c.UserID) {
				t.Errorf("ParseWebhook(%q, %q) = booking %+v, want a valid User ID, the delegate's ID and no User", method, body, c)
			}
		default:
			t.Errorf("ParseWebhook(%q, %q).Event = %q", method, body, c.Event)
		}
		if c.User != nil && (c.User.ID != c.UserID || c.User.UpdatedAt.IsZero()) {
			t.Errorf("ParseWebhook(%q, %q).User = %+v, want ID %q and UpdatedAt", method, body, c.User, c.UserID)
		}
	})
}
