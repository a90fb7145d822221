package apmc

import (
	"context"
	"testing"
	"time"
)

// memBatchContacts is the in-memory contact store with the batch load
// (ContactBatch), so ReadBatch loads a batch's contact states together.
type memBatchContacts struct{ *memContacts }

func (b memBatchContacts) ContactsByKey(ctx context.Context, keys []ContactKey) (map[ContactKey]Contact, error) {
	out := map[ContactKey]Contact{}
	for _, k := range keys {
		if c, err := b.Contact(ctx, k.InstanceID, k.Email); err == nil {
			out[k] = c
		}
	}
	return out, nil
}

// TestBatchContactIsNeverStale applies two changes of one contact from one
// SQS batch (one message group: one after the other) whose first saves the
// contact state on a path that does not take the batch-loaded copy; the
// second must still decide on, and save over, the state the first stored.
func TestBatchContactIsNeverStale(t *testing.T) {
	mcChange := func(id string, ev Event, email string) Change {
		return Change{ID: id, InstanceID: "inst1", Source: SideMailchimp, Event: ev, ReceivedAt: t0, Email: email}
	}
	tests := []struct {
		name     string
		instance func(*Instance)
		// setup runs before the batch is read; it returns the batch, whose
		// first two changes are the contact's.
		setup func(t *testing.T, f *fixture) []Change
		// contact is the contact state both changes save.
		contact string
	}{
		{
			name:     "unsubscribe then profile",
			instance: func(in *Instance) { in.MailchimpStatusField = "MailchimpStatus" },
			setup: func(t *testing.T, f *fixture) []Change {
				f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
				m := f.mc.members["ada@example.com"]
				m.Status = "unsubscribed"
				m.MergeFields["FNAME"] = "Augusta"
				f.mc.members["ada@example.com"] = m
				return []Change{
					mcChange("u1", EventUnsubscribe, "ada@example.com"),
					mcChange("p1", EventProfile, "ada@example.com"),
					mcChange("o1", EventProfile, "other@example.com"),
				}
			},
			contact: "ada@example.com",
		},
		{
			name:     "email change then profile of the new address",
			instance: func(in *Instance) { in.MailchimpEmailChanges = EmailChangesFollow },
			setup: func(t *testing.T, f *fixture) []Change {
				f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "old@example.com", t0)))
				c, err := f.cs.Contact(context.Background(), "inst1", "old@example.com")
				if err != nil {
					t.Fatalf("contact state of old@example.com: %v", err)
				}
				c.MemberContactID = "contact-ada"
				if err := f.cs.SaveContact(context.Background(), c); err != nil {
					t.Fatalf("link the member's contact id: %v", err)
				}
				m := f.mc.members["old@example.com"]
				delete(f.mc.members, "old@example.com")
				m.Email, m.ContactID = "new@example.com", "contact-ada"
				m.MergeFields["FNAME"] = "Augusta"
				f.mc.members["new@example.com"] = m
				up := mcChange("e1", EventUpEmail, "new@example.com")
				up.OldEmail, up.NewEmail = "old@example.com", "new@example.com"
				return []Change{
					up,
					mcChange("p1", EventProfile, "new@example.com"),
					mcChange("o1", EventProfile, "other@example.com"),
				}
			},
			contact: "new@example.com",
		},
		{
			name: "two accessplanit changes of one User, the first naming it only by id",
			setup: func(t *testing.T, f *fixture) []Change {
				f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
				u := apUser("1", "Augusta", "Lovelace", "ada@example.com", t0.Add(30*time.Second))
				f.ap.users["1"] = *u
				byID := Change{ID: "a1", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, UserID: "1", Email: "ada@example.com"}
				return []Change{byID, apChange("a2", u), mcChange("o1", EventProfile, "other@example.com")}
			},
			contact: "ada@example.com",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, tt.instance)
			batch := tt.setup(t, f)
			f.engine.Contacts = memBatchContacts{f.cs}
			f.engine.Now = func() time.Time { return t0.Add(time.Minute) }
			reads := f.engine.ReadBatch(ctx, batch)
			for _, c := range batch[:2] {
				exec, err := f.engine.Apply(ctx, Delivery{Change: c, Attempt: 1, Reads: reads})
				if err != nil || exec.Status != StatusSucceeded {
					t.Fatalf("Apply(%s %s) = %s (reason %q, error %q), err %v; want succeeded", c.Source, c.Event, exec.Status, exec.Reason, exec.Error, err)
				}
			}
			stored, err := f.cs.Contact(ctx, "inst1", tt.contact)
			if err != nil {
				t.Fatalf("contact state of %s: %v", tt.contact, err)
			}
			if stored.UserID != "1" {
				t.Errorf("contact state of %s links User %q, want 1", tt.contact, stored.UserID)
			}
		})
	}
}
