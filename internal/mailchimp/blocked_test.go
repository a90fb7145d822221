package mailchimp

import (
	"context"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
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
