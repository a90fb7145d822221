package backfill_test

import (
	"context"
	"slices"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
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

// A member planned as new may sign up before the batch reaches Mailchimp,
// carrying a tag of the same name a form gave it: Mailchimp then updates
// it rather than creating it, and the tags the batch sent are not taken
// for the service's, so a later sync never takes the marketer's tag off.
func TestFirstSyncLeavesTagsOfAMemberThatAppeared(t *testing.T) {
	w := newWorld(t)
	w.instance.Tags = apmc.TagSettings{Sync: true, Prefix: "ap:"}
	w.svc.Instances = staticInstances{w.instance}
	connect := w.svc.Connect
	w.svc.Connect = func(in apmc.Instance) (backfill.Sides, error) {
		s, err := connect(in)
		s.Batches = signupFirst{MemberBatches: s.Batches, mc: w.mc, email: "signup@example.com", tag: "ap:Gold"}
		return s, err
	}
	ctx := context.Background()
	if _, err := w.ap.ImportUsers([]map[string]any{
		{"Forenames": "Signed", "Surname": "Up", "Email": "signup@example.com", "Tags": "Gold, VIP"},
		{"Forenames": "Brand", "Surname": "New", "Email": "new@example.com", "Tags": "Gold"},
	}); err != nil {
		t.Fatal(err)
	}
	w.planAndApply(t)
	c, err := w.store.Contact(ctx, w.instance.ID, "signup@example.com")
	if err != nil || slices.Contains(c.Mailchimp.Tags, "ap:Gold") {
		t.Errorf("managed tags of a member that appeared before the batch = %q (%v), want no ap:Gold: the form added it", c.Mailchimp.Tags, err)
	}
	fresh, err := w.store.Contact(ctx, w.instance.ID, "new@example.com")
	if err != nil || !slices.Equal(fresh.Mailchimp.Tags, []string{"ap:Gold"}) {
		t.Errorf("managed tags of a member the batch created = %q (%v), want [ap:Gold]", fresh.Mailchimp.Tags, err)
	}
}

// signupFirst has a member sign up through a form, with a tag, just
// before the first batch call reaches Mailchimp.
type signupFirst struct {
	backfill.MemberBatches
	mc         *sbmc.Server
	email, tag string
}

func (s signupFirst) UpsertMembers(ctx context.Context, listID string, ms []apmc.Member, statusIfNew string) (backfill.Written, map[string]error, error) {
	if _, ok := s.mc.Member(listID, s.email); !ok {
		if err := s.mc.Import(listID, []sbmc.ImportedMember{{EmailAddress: s.email, MergeFields: map[string]any{"FNAME": "Signed", "LNAME": "Up"}}}); err != nil {
			return backfill.Written{}, nil, err
		}
		if err := s.mc.TagInUI(listID, s.email, s.tag, false); err != nil {
			return backfill.Written{}, nil, err
		}
	}
	return s.MemberBatches.UpsertMembers(ctx, listID, ms, statusIfNew)
}
