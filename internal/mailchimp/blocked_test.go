package mailchimp

import (
	"context"
	"net/http"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

func TestBatchSubscribeTellsBlockedMembers(t *testing.T) {
	sim, listID, c := audience(t)
	ctx := context.Background()
	for _, email := range []string{"held@example.com", "gone@example.com", "fine@example.com"} {
		if _, err := c.UpsertMember(ctx, listID, apmc.Member{Email: email}, "subscribed"); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.SetComplianceState(listID, "held@example.com", true); err != nil {
		t.Fatal(err)
	}
	if err := sim.Forget(listID, "gone@example.com"); err != nil {
		t.Fatal(err)
	}
	res, err := c.BatchSubscribe(ctx, listID, []apmc.Member{
		{Email: "held@example.com", MergeFields: apmc.Values{"FNAME": "Held"}},
		{Email: "gone@example.com", MergeFields: apmc.Values{"FNAME": "Gone"}},
		{Email: "fine@example.com", MergeFields: apmc.Values{"FNAME": "Fine"}},
		{Email: "bad@example", MergeFields: apmc.Values{"FNAME": "Bad"}},
	}, "subscribed")
	if err != nil {
		t.Fatalf("BatchSubscribe() error = %v", err)
	}
	for email, want := range map[string]bool{"held@example.com": true, "gone@example.com": true, "bad@example": false} {
		e, ok := res.Errors[email]
		if !ok {
			t.Errorf("BatchSubscribe() errors = %v, want one for %s", res.Errors, email)
			continue
		}
		if _, blocked := apmc.BlockedReason(e); blocked != want {
			t.Errorf("BlockedReason(%v) blocked = %v, want %v", e, blocked, want)
		}
	}
	if _, ok := res.Errors["fine@example.com"]; ok {
		t.Errorf("fine@example.com refused: %v", res.Errors["fine@example.com"])
	}
}

// Mailchimp refuses to re-subscribe a member who unsubscribed or bounced:
// the refusal is a blocked contact, and the member keeps its status. A
// write with status_if_new (what the service sends) still updates its
// fields and says the status it kept.
func TestResubscribeIsRefusedAsBlocked(t *testing.T) {
	sim, listID, c := audience(t)
	ctx := context.Background()
	if err := sim.Import(listID, []sbmc.ImportedMember{
		{EmailAddress: "gone@example.com", Status: "unsubscribed"},
		{EmailAddress: "bounced@example.com", Status: "cleaned"},
		{EmailAddress: "archived@example.com", Status: "archived"},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ email, status string }{
		{"gone@example.com", "unsubscribed"}, {"bounced@example.com", "cleaned"}, {"archived@example.com", "archived"},
	} {
		t.Run(tt.status, func(t *testing.T) {
			m, err := c.UpsertMember(ctx, listID, apmc.Member{Email: tt.email, MergeFields: apmc.Values{"FNAME": "Kept"}}, "subscribed")
			if err != nil || m.Status != tt.status || m.MergeFields["FNAME"] != "Kept" {
				t.Errorf("UpsertMember(status_if_new subscribed) = %s %v, %v; want the fields written and the status %s kept", m.Status, m.MergeFields, err, tt.status)
			}
			if tt.status == "archived" {
				return // an explicit status unarchives it (INFERRED in the simulator)
			}
			body := map[string]any{"email_address": tt.email, "status": "subscribed"}
			err = c.do(ctx, http.MethodPut, memberPath(listID, SubscriberHash(tt.email)), nil, body, nil)
			if _, blocked := apmc.BlockedReason(err); !blocked {
				t.Errorf("PUT status subscribed to a member %s: error %v, want a blocked contact (Member In Compliance State)", tt.status, err)
			}
			if m, _ := c.Member(ctx, listID, tt.email); m.Status != tt.status {
				t.Errorf("member status after the refused re-subscribe = %s, want %s", m.Status, tt.status)
			}
		})
	}
}
