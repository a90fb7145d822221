package dynamo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Announced writes sit beside a contact's state: announcing changes neither
// the state nor its version, a contact without a state reads as Version 0
// with the announcement (and is no contact for listings), and the next save
// drops the announcement, whoever makes it.
func TestAnnounceWrites(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewContactStore(b.client, tables.Contacts)
		at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		known := apmc.Contact{InstanceID: "inst-1", Email: "ada@example.com", UserID: "u-1",
			Mailchimp: apmc.SideState{Values: apmc.Values{"EMAIL": "ada@example.com", "FNAME": "Ada"}}, UpdatedAt: at}
		if err := store.SaveContact(ctx, known); err != nil {
			t.Fatal(err)
		}
		key := func(email string) apmc.ContactKey { return apmc.ContactKey{InstanceID: "inst-1", Email: email} }
		announce := []apmc.Announcement{
			{Key: key("ada@example.com"), Side: apmc.SideMailchimp, Fingerprint: "fp-1", At: at},
			{Key: key("ADA@example.com"), Side: apmc.SideAccessplanit, Fingerprint: "fp-2", At: at},
			{Key: key("new@example.com"), Side: apmc.SideMailchimp, Fingerprint: "fp-3", At: at},
			{Key: key("ada@example.com"), Side: apmc.SideMailchimp, Fingerprint: "fp-4", At: at.Add(time.Second)},
		}
		if err := store.AnnounceWrites(ctx, announce); err != nil {
			t.Fatalf("AnnounceWrites() error = %v", err)
		}
		got, err := store.Contact(ctx, "inst-1", "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 1 || got.Mailchimp.Values["FNAME"] != "Ada" || got.UserID != "u-1" {
			t.Errorf("announced contact = version %d %v user %q, want the state untouched at version 1", got.Version, got.Mailchimp.Values, got.UserID)
		}
		if w := got.Mailchimp.InFlight; w == nil || w.Fingerprint != "fp-4" || !w.At.Equal(at.Add(time.Second)) {
			t.Errorf("Mailchimp in flight = %+v, want the latest announcement fp-4", w)
		}
		if w := got.Accessplanit.InFlight; w == nil || w.Fingerprint != "fp-2" {
			t.Errorf("accessplanit in flight = %+v, want fp-2", w)
		}
		fresh, err := store.Contact(ctx, "inst-1", "new@example.com")
		if err != nil || fresh.Version != 0 || fresh.Mailchimp.InFlight == nil || fresh.Mailchimp.InFlight.Fingerprint != "fp-3" {
			t.Fatalf("contact with only an announcement = %+v %v, want Version 0 carrying fp-3", fresh, err)
		}
		batch, err := store.ContactsByKey(ctx, []apmc.ContactKey{key("ada@example.com"), key("new@example.com")})
		if err != nil || batch[key("new@example.com")].Mailchimp.InFlight == nil || batch[key("ada@example.com")].Mailchimp.InFlight == nil {
			t.Fatalf("ContactsByKey = %+v %v, want both announcements", batch, err)
		}
		var listed []string
		if err := store.EachContact(ctx, "inst-1", func(c apmc.Contact) error { listed = append(listed, c.Email); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(listed) != 1 || listed[0] != "ada@example.com" {
			t.Errorf("EachContact = %v, want only the contact with a state", listed)
		}

		// The new contact's first save replaces the announcement.
		fresh.UserID = "u-2"
		if err := store.SaveContact(ctx, fresh); err != nil {
			t.Fatalf("first save over an announcement: %v", err)
		}
		if err := store.SaveContact(ctx, fresh); !errors.Is(err, apmc.ErrConflict) {
			t.Errorf("second first save = %v, want a conflict", err)
		}
		// The known contact's next save (from the version read before the
		// announcement) succeeds and drops it.
		known.Version = 1
		known.Mailchimp.Values["FNAME"] = "Augusta"
		if err := store.SaveContact(ctx, known); err != nil {
			t.Fatalf("save after an announcement: %v", err)
		}
		for _, email := range []string{"ada@example.com", "new@example.com"} {
			c, err := store.Contact(ctx, "inst-1", email)
			if err != nil || c.Version == 0 || c.Mailchimp.InFlight != nil || c.Accessplanit.InFlight != nil {
				t.Errorf("%s after its save = version %d, in flight %+v / %+v, %v: want the state and no announcement", email, c.Version, c.Mailchimp.InFlight, c.Accessplanit.InFlight, err)
			}
		}
		if err := store.AnnounceWrites(ctx, []apmc.Announcement{{Key: key("ada@example.com"), Fingerprint: "x", At: at}}); !apmc.IsInvalid(err) {
			t.Errorf("announcement without a side = %v, want invalid", err)
		}
	})
}
