package apmc

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// upEmail is a Mailchimp email change from oldEmail to newEmail.
func upEmail(id, oldEmail, newEmail string) Change {
	return Change{ID: id, InstanceID: "inst1", Source: SideMailchimp, Event: EventUpEmail, ReceivedAt: t0,
		Email: newEmail, OldEmail: oldEmail, NewEmail: newEmail}
}

// TestEmailChangeSettledWithoutMailchimp: an email change whose outcome
// the contact states settle (no synced contact at the old address) reads
// no member from Mailchimp, so whoever holds the webhook URL cannot spend
// the account's connections by posting upemails for made-up addresses.
func TestEmailChangeSettledWithoutMailchimp(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, f *fixture)
		changes    func(i int) Change
		wantStatus Status
		wantReason string
	}{
		{
			name: "made-up addresses",
			changes: func(i int) Change {
				return upEmail(fmt.Sprint("f", i), fmt.Sprintf("r%d@x.test", i), fmt.Sprintf("s%d@x.test", i))
			},
			wantStatus: StatusSkipped, wantReason: "no synced contact is linked to the old address",
		},
		{
			name: "a made-up old address moved onto a synced contact's",
			setup: func(t *testing.T, f *fixture) {
				f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
			},
			changes: func(i int) Change {
				return upEmail(fmt.Sprint("f", i), fmt.Sprintf("r%d@x.test", i), "ada@example.com")
			},
			wantStatus: StatusSuppressed, wantReason: "echo",
		},
		{
			name: "a made-up old address moved onto a contact whose User has another email",
			setup: func(t *testing.T, f *fixture) {
				f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
				u := f.ap.users["1"]
				u.Fields["Email"] = "augusta@example.com"
				f.ap.users["1"] = u
			},
			changes: func(i int) Change {
				return upEmail(fmt.Sprint("f", i), fmt.Sprintf("r%d@x.test", i), "ada@example.com")
			},
			wantStatus: StatusSkipped, wantReason: "no synced contact is linked to the old address",
		},
	}
	const forged = 25
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(in *Instance) { in.MailchimpEmailChanges = EmailChangesFollow })
			if tt.setup != nil {
				tt.setup(t, f)
			}
			reads, writes := f.mc.reads, f.mc.writes
			for i := range forged {
				c := tt.changes(i)
				exec, err := f.engine.Apply(context.Background(), Delivery{Change: c, Attempt: 1})
				if err != nil {
					t.Fatalf("Apply(%s) error = %v", c.ID, err)
				}
				if exec.Status != tt.wantStatus || !strings.Contains(exec.Reason, tt.wantReason) {
					t.Fatalf("Apply(%s) = %s %q, want %s %q", c.ID, exec.Status, exec.Reason, tt.wantStatus, tt.wantReason)
				}
			}
			if got := f.mc.reads - reads; got != 0 {
				t.Errorf("%d forged email changes read %d Mailchimp members, want 0", forged, got)
			}
			if got := f.mc.writes - writes; got != 0 || f.ap.writes != 0 {
				t.Errorf("forged email changes wrote %d times to Mailchimp and %d to accessplanit, want none", got, f.ap.writes)
			}
		})
	}
}

// TestConfirmedEmailChangeReadsBothMembers: a change of a synced contact's
// address is still confirmed by Mailchimp (old address gone, new one held
// by the same contact) before the User follows it.
func TestConfirmedEmailChangeReadsBothMembers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(in *Instance) { in.MailchimpEmailChanges = EmailChangesFollow })
	f.apply(t, apChange("c0", apUser("1", "Ada", "Lovelace", "old@example.com", t0)))
	c, err := f.cs.Contact(ctx, "inst1", "old@example.com")
	if err != nil {
		t.Fatalf("contact state of old@example.com: %v", err)
	}
	c.MemberContactID = "contact-ada"
	if err := f.cs.SaveContact(ctx, c); err != nil {
		t.Fatalf("link the member's contact id: %v", err)
	}
	m := f.mc.members["old@example.com"]
	delete(f.mc.members, "old@example.com")
	m.Email, m.ContactID = "new@example.com", "contact-ada"
	f.mc.members["new@example.com"] = m
	reads := f.mc.reads

	exec := f.apply(t, upEmail("e1", "old@example.com", "new@example.com"))
	if exec.Status != StatusSucceeded {
		t.Fatalf("Apply(upemail) = %s %q, want succeeded", exec.Status, exec.Reason)
	}
	if got := f.mc.reads - reads; got != 2 {
		t.Errorf("a real email change read %d Mailchimp members, want 2 (the old and the new address)", got)
	}
	if got := f.ap.users["1"].Email(); got != "new@example.com" {
		t.Errorf("User 1 email = %q, want new@example.com", got)
	}
}
