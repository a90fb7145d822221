package main

import (
	"context"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

func TestInstanceTagsAndTrainingActivity(t *testing.T) {
	s := startStack(t)
	s.must(t, s.createArgs("Shop", "--id", "shop", "--sync-tags", "--tag-prefix", "ap: ")...)
	in, err := s.Instances.Instance(context.Background(), "shop")
	if err != nil {
		t.Fatalf("Instance(shop) error = %v", err)
	}
	if in.Tags != (apmc.TagSettings{Sync: true, Prefix: "ap: "}) || in.Activity.Enabled {
		t.Errorf("created instance tags %+v, activity %+v; want sync with prefix \"ap: \", activity off", in.Tags, in.Activity)
	}

	// The audience lacks the activity merge fields: refused, naming them.
	_, _, err = s.apmc(t, "instance", "configure", "shop", "--training-activity")
	if err == nil || !strings.Contains(err.Error(), "NEXTCOURSE") || !strings.Contains(err.Error(), "LASTDATE") {
		t.Errorf("training activity on an audience without NEXTCOURSE…LASTDATE: error = %v, want it refused naming them", err)
	}

	var fields []sbmc.MergeField
	for _, f := range apmc.ActivityMergeFields {
		fields = append(fields, sbmc.MergeField{Tag: f.Tag, Name: f.Name, Type: string(f.Type)})
	}
	training := s.Mailchimp.AddList(s.mcKey, "Training audience", fields...)
	s.must(t, "instance", "configure", "shop", "--list", training, "--training-activity", "--booked-tag", "{course} (booked)")
	in, _ = s.Instances.Instance(context.Background(), "shop")
	want := apmc.ActivitySettings{Enabled: true, BookedTag: "{course} (booked)"}
	if in.Activity != want || in.MailchimpListID != training || !in.Tags.Sync {
		t.Errorf("configured activity %+v on list %s, want %+v on %s with tags still synced", in.Activity, in.MailchimpListID, want, training)
	}
	show := s.must(t, "instance", "show", "shop")
	for _, w := range []string{`User tags synced, prefix "ap: "`, `"{course} (booked)" and "Attended: {course}"`} {
		if !strings.Contains(show, w) {
			t.Errorf("instance show = %q, want it to contain %q", show, w)
		}
	}
	_, _, err = s.apmc(t, "instance", "configure", "shop", "--booked-tag", "Booked")
	if err == nil || !strings.Contains(err.Error(), "must hold {course}") {
		t.Errorf("a template without {course}: error = %v, want it refused", err)
	}
}

// apmc timeline shows what a booking and a tag change did.
func TestTimelineShowsTagAndBookingChanges(t *testing.T) {
	s := startStack(t)
	const email = "ada@example.com"
	id := s.syncedAda(t, email)
	if _, err := s.Accessplanit.BookInUI(sbap.Booking{UserID: id, Course: "First Aid", StartDate: "2099-01-02"}); err != nil {
		t.Fatal(err)
	}
	s.waitExecution(t, "the booking", email, func(e apmc.Execution) bool {
		return e.Event == apmc.EventBooking && e.Status == apmc.StatusSucceeded && e.Changed
	})
	out := s.must(t, "timeline", s.Info.InstanceID, email)
	for _, want := range []string{"tags +Gold", "booking", "NEXTCOURSE=First Aid", "+Booked: First Aid"} {
		if !strings.Contains(out, want) {
			t.Errorf("timeline = %q, want it to contain %q", out, want)
		}
	}
}

// A User whose Mailchimp member was permanently deleted: a change to its
// tags alone ends blocked with the reason, not failed, and is not retried.
func TestTagsOfADeletedMemberAreBlocked(t *testing.T) {
	s := startStack(t)
	const email = "ada@example.com"
	id := s.syncedAda(t, email)
	if err := s.Mailchimp.Forget(s.Info.Sandbox.Mailchimp.ListID, email); err != nil {
		t.Fatal(err)
	}
	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Tags": "Gold, Silver"}); err != nil {
		t.Fatal(err)
	}
	exec := s.waitExecution(t, "the tags change", email, func(e apmc.Execution) bool {
		return e.Flow == apmc.FlowToMailchimp && e.Status != apmc.StatusSucceeded && e.Status != apmc.StatusSuppressed
	})
	if exec.Status != apmc.StatusBlocked || exec.Retryable || !strings.Contains(exec.Reason, "no longer in the audience") {
		t.Errorf("tags change to a deleted member: status %s retryable %v reason %q error %q; want blocked, not retried", exec.Status, exec.Retryable, exec.Reason, exec.Error)
	}
	// Its contact_id finds it under no other address either.
	if n := len(exec.Steps); n < 2 || exec.Steps[n-2].Name != "update_tags" || exec.Steps[n-1].Name != "find_member_by_contact_id" {
		t.Errorf("steps %+v, want update_tags then find_member_by_contact_id the last", exec.Steps)
	}
	if _, found := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email); found {
		t.Error("the deleted member was added again")
	}
}

// syncedAda creates Ada, tagged Gold, in the accessplanit simulator's UI
// and waits for her first sync to Mailchimp; it returns her User ID.
func (s *cliStack) syncedAda(t *testing.T, email string) string {
	t.Helper()
	id, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Ada", "Surname": "Lovelace", "Email": email, "Tags": "Gold", "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatal(err)
	}
	s.waitExecution(t, "the User's first sync", email, func(e apmc.Execution) bool { return e.Flow == apmc.FlowToMailchimp && e.Status == apmc.StatusSucceeded })
	return id
}
