package backfill_test

import (
	"context"
	"slices"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// The first sync gives the members it creates the User's tags in the batch
// and remembers them as the service's; an existing member gets none from
// it, so a marketer's tags there stay the marketer's.
func TestFirstSyncTagsNewMembers(t *testing.T) {
	w := newWorld(t)
	w.instance.Tags = apmc.TagSettings{Sync: true, Prefix: "ap:"}
	w.svc.Instances = staticInstances{w.instance}
	ctx := context.Background()
	if _, err := w.ap.ImportUsers([]map[string]any{
		{"Forenames": "New", "Surname": "Member", "Email": "new@example.com", "Tags": "Gold, VIP"},
		{"Forenames": "Old", "Surname": "Member", "Email": "old@example.com", "Tags": "Gold"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.mc.Import(w.instance.MailchimpListID, []sbmc.ImportedMember{{EmailAddress: "old@example.com", MergeFields: map[string]any{"FNAME": "Older", "LNAME": "Member"}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.mc.TagInUI(w.instance.MailchimpListID, "old@example.com", "ap:Gold", false); err != nil {
		t.Fatal(err)
	}
	w.planAndApply(t)
	m, _ := w.mc.Member(w.instance.MailchimpListID, "new@example.com")
	if !slices.Equal(m.Tags, []string{"ap:Gold", "ap:VIP"}) {
		t.Errorf("new member's tags = %q, want [ap:Gold ap:VIP]", m.Tags)
	}
	c, err := w.store.Contact(ctx, w.instance.ID, "new@example.com")
	if err != nil || !slices.Equal(c.Mailchimp.Tags, []string{"ap:Gold", "ap:VIP"}) {
		t.Errorf("new contact's managed tags = %q (%v), want both", c.Mailchimp.Tags, err)
	}
	old, err := w.store.Contact(ctx, w.instance.ID, "old@example.com")
	if err != nil || len(old.Mailchimp.Tags) != 0 {
		t.Errorf("existing contact's managed tags = %q (%v), want none: ap:Gold was added by hand", old.Mailchimp.Tags, err)
	}
}
