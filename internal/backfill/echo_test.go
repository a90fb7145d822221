package backfill_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// The webhook accessplanit sends for a User a first sync wrote (updated,
// or created) is recognised as the echo of that write on an instance that
// syncs tags and consent too: the write's fingerprint covers the User's
// tags and MarketingOptIn as the write left them.
func TestFirstSyncWritesToAccessplanitAreRecognisedAsEchoes(t *testing.T) {
	w := newWorld(t)
	w.instance.Tags = apmc.TagSettings{Sync: true}
	w.instance.Consent = &apmc.Consent{}
	w.svc.Instances = staticInstances{w.instance}
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour).UTC().Format("2006-01-02T15:04:05")
	if _, err := w.ap.ImportUsers([]map[string]any{
		{"Forenames": "Older", "Surname": "InAP", "Email": "differs@example.com", "Tags": "Gold, VIP", "MarketingOptIn": true, "DateUpdated": old},
	}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if err := w.mc.Import(w.instance.MailchimpListID, []sbmc.ImportedMember{
		{EmailAddress: "differs@example.com", MergeFields: map[string]any{"FNAME": "Newer", "LNAME": "InMC"}},
		{EmailAddress: "only.mc@example.com", MergeFields: map[string]any{"FNAME": "Only", "LNAME": "InMC"}},
	}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	w.planAndApply(t)
	for _, email := range []string{"differs@example.com", "only.mc@example.com"} {
		c, err := w.store.Contact(ctx, w.instance.ID, email)
		if err != nil {
			t.Fatalf("Contact(%s) error = %v", email, err)
		}
		u, ok := w.ap.User(c.UserID)
		if !ok {
			t.Fatalf("contact %s links User %q, which the platform does not hold", email, c.UserID)
		}
		body, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		echo, err := accessplanit.ParseWebhook(http.MethodPut, body, w.instance.ID, time.Now())
		if err != nil {
			t.Fatalf("ParseWebhook(User %s) error = %v", c.UserID, err)
		}
		if p, ok := apmc.ClaimedEcho(w.instance, echo, c, time.Now()); !ok || p.Action != apmc.ActionSuppress {
			t.Errorf("the platform's webhook for the User the first sync wrote for %s (%v) is not taken for its echo; pending writes %v", email, u["Forenames"], c.Accessplanit.Pending)
		}
	}
}
