package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
)

func TestContactStore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewContactStore(b.client, tables.Contacts)
		at := time.Date(2025, 3, 4, 5, 6, 7, 8000, time.UTC)
		c := apmc.Contact{
			InstanceID: "inst-1", Email: "ada@example.com", UserID: "u-7",
			Mailchimp: apmc.SideState{
				Values:    apmc.Values{"EMAIL": "ada@example.com", "FNAME": "Ada"},
				WrittenAt: at, SourceTime: at.Add(-time.Minute),
			},
			Accessplanit: apmc.SideState{Values: apmc.Values{"LNAME": "Lovelace"}, SourceTime: at},
			UpdatedAt:    at,
		}
		other := c
		other.InstanceID = "inst-2"

		steps := []struct {
			name        string
			save        apmc.Contact
			wantErr     func(error) bool
			wantVersion int64 // stored version afterwards
		}{
			{"create", c, nil, 1},
			{"create again", c, isConflict, 1},
			{"update from version 1", withVersion(c, 1), nil, 2},
			{"update from stale version 1", withVersion(c, 1), isConflict, 2},
			{"update from unknown version 9", withVersion(c, 9), isConflict, 2},
			{"same email, other instance", other, nil, 2},
		}
		for _, st := range steps {
			err := store.SaveContact(ctx, st.save)
			switch {
			case st.wantErr == nil && err != nil:
				t.Errorf("%s: SaveContact(version %d) error: %v", st.name, st.save.Version, err)
			case st.wantErr != nil && !st.wantErr(err):
				t.Errorf("%s: SaveContact(version %d) error = %v, want ErrConflict", st.name, st.save.Version, err)
			}
			got, err := store.Contact(ctx, st.save.InstanceID, st.save.Email)
			if err != nil {
				t.Fatalf("%s: Contact error: %v", st.name, err)
			}
			if got.Version != st.wantVersion && st.save.InstanceID == "inst-1" {
				t.Errorf("%s: Contact().Version = %d, want %d", st.name, got.Version, st.wantVersion)
			}
		}

		want := withVersion(c, 2)
		got, err := store.Contact(ctx, "inst-1", "Ada@Example.com")
		if err != nil {
			t.Fatalf("Contact(mixed case) error: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Contact() mismatch (-want +got):\n%s", diff)
		}
		byUser, err := store.ContactByUserID(ctx, "inst-1", "u-7")
		if err != nil {
			t.Fatalf("ContactByUserID(u-7) error: %v", err)
		}
		if diff := cmp.Diff(want, byUser); diff != "" {
			t.Errorf("ContactByUserID(u-7) mismatch (-want +got):\n%s", diff)
		}

		notFound := []struct {
			name string
			do   func() error
		}{
			{"unknown email", func() error { _, err := store.Contact(ctx, "inst-1", "bob@example.com"); return err }},
			{"unknown user", func() error { _, err := store.ContactByUserID(ctx, "inst-1", "u-8"); return err }},
			{"user of other instance", func() error { _, err := store.ContactByUserID(ctx, "inst-3", "u-7"); return err }},
			{"empty user", func() error { _, err := store.ContactByUserID(ctx, "inst-1", ""); return err }},
		}
		for _, tt := range notFound {
			if err := tt.do(); !isNotFound(err) {
				t.Errorf("%s: error = %v, want ErrNotFound", tt.name, err)
			}
		}

		if err := store.DeleteContact(ctx, "inst-1", "ada@example.com"); err != nil {
			t.Fatalf("DeleteContact error: %v", err)
		}
		if _, err := store.Contact(ctx, "inst-1", "ada@example.com"); !isNotFound(err) {
			t.Errorf("Contact after delete error = %v, want ErrNotFound", err)
		}
		if _, err := store.ContactByUserID(ctx, "inst-1", "u-7"); !isNotFound(err) {
			t.Errorf("ContactByUserID after delete error = %v, want ErrNotFound", err)
		}
		if err := store.DeleteContact(ctx, "inst-1", "ada@example.com"); err != nil {
			t.Errorf("DeleteContact(absent) error = %v, want nil", err)
		}
		if _, err := store.Contact(ctx, "inst-2", "ada@example.com"); err != nil {
			t.Errorf("Contact(other instance) after delete error = %v, want nil", err)
		}
	})
}

func TestContactStoreHidesExpired(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewContactStore(b.client, tables.Contacts)
		item, err := marshalItem(contactItem{
			InstanceID: "inst-1", Email: "old@example.com", UserID: "u-1", UserKey: compositeKey("inst-1", "u-1"),
			Version: 4, ExpiresAt: time.Now().Add(-time.Minute).Unix(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tables.Contacts), Item: item}); err != nil {
			t.Fatalf("PutItem error: %v", err)
		}
		if _, err := store.Contact(ctx, "inst-1", "old@example.com"); !isNotFound(err) {
			t.Errorf("Contact(expired) error = %v, want ErrNotFound", err)
		}
		if _, err := store.ContactByUserID(ctx, "inst-1", "u-1"); !isNotFound(err) {
			t.Errorf("ContactByUserID(expired) error = %v, want ErrNotFound", err)
		}
		// What reads as absent can be created afresh.
		if err := store.SaveContact(ctx, apmc.Contact{InstanceID: "inst-1", Email: "old@example.com"}); err != nil {
			t.Errorf("SaveContact(version 0 over expired) error: %v", err)
		}
	})
}

func withVersion(c apmc.Contact, v int64) apmc.Contact {
	c.Version = v
	return c
}
