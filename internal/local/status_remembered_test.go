package local_test

import (
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/dynamo"
)

// An unsubscribe whose User already holds MarketingOptIn false writes
// nothing, but its status is remembered: a reconciliation does not enqueue
// it again and again.
func TestUnsubscribeOfAnOptedOutUserIsRemembered(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	configure(t, s, func(in *apmc.Instance) { in.Consent = &apmc.Consent{OptoutsToAccessplanit: true} })
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "already.out@example.com"
	id := createUser(t, s, email, map[string]any{"MarketingOptIn": true})
	editUser(t, s, id, email, 2, map[string]any{"MarketingOptIn": false})
	if m, _ := s.Mailchimp.Member(list, email); m.Status != "subscribed" {
		t.Fatalf("member status = %q, want subscribed (opt-outs not sent to Mailchimp)", m.Status)
	}
	if err := s.Mailchimp.UnsubscribeInUI(list, email, "unsub"); err != nil {
		t.Fatal(err)
	}
	e := waitExecution(t, s, "the unsubscribe's execution", apmc.ExecutionQuery{Contact: email, Flow: apmc.FlowToAccessplanit}, func(e apmc.Execution) bool {
		return e.Event == apmc.EventUnsubscribe
	})
	t.Logf("unsubscribe execution: %s %q", e.Status, e.Reason)
	settle(t, s)
	cfg := awsconfig.Local()
	cfg.Region = s.Info.AWS.Region
	contacts := dynamo.NewContactStore(app.NewClients(cfg, s.Info.AWS.Endpoint).DynamoDB, s.Info.AWS.ContactsTable)
	c, err := contacts.Contact(t.Context(), s.Info.InstanceID, email)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mailchimp.Status != "unsubscribed" {
		t.Errorf("state Mailchimp.Status = %q, want unsubscribed", c.Mailchimp.Status)
	}
	for i := 0; i < 2; i++ {
		if run := reconcileNow(t, s, true); run.Enqueued != 0 {
			t.Errorf("full run %d enqueued %d, want 0 (the unsubscribe was applied)", i+1, run.Enqueued)
		}
		settle(t, s)
	}
}
