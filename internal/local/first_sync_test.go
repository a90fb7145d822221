package local_test

import (
	"context"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/local"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// firstSync is the stack's first-sync service, built from the resources
// the stack names as the CLI builds it, with accessplanit writes unpaced.
func firstSync(t *testing.T, s *local.Stack) backfill.Service {
	t.Helper()
	ctx := context.Background()
	in, err := s.Instances.Instance(ctx, s.Info.InstanceID)
	if err != nil {
		t.Fatalf("Instance() error = %v", err)
	}
	in.AccessplanitRequestsPerHour = 1_000_000
	if err := s.Instances.Update(ctx, in); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	s.Cache.Forget(in.ID)
	cfg := awsconfig.Local()
	cfg.Region = s.Info.AWS.Region
	clients := app.NewClients(cfg, s.Info.AWS.Endpoint)
	return backfill.Service{
		Instances:  s.Instances,
		Connect:    (&connector.Connector{}).Backfill,
		Store:      dynamo.NewContactStore(clients.DynamoDB, s.Info.AWS.ContactsTable),
		Executions: s.Executions,
	}
}

// Data that existed on both sides before the instance was switched on is
// planned without a write, applied in batches, and left in line: the
// webhooks the writes trigger are echoes, nothing writes again, and a
// second plan has nothing to do.
func TestFirstSyncThroughTheStack(t *testing.T) {
	s := startStackWith(t, nil)
	svc := firstSync(t, s)
	ctx := context.Background()
	list := s.Info.Sandbox.Mailchimp.ListID
	old := time.Now().Add(-48 * time.Hour).UTC().Format("2006-01-02T15:04:05")
	if _, err := s.Accessplanit.ImportUsers([]map[string]any{
		{"Forenames": "Only", "Surname": "InAP", "Email": "fs.only.ap@example.com", "MarketingOptIn": true, "DateUpdated": old},
		{"Forenames": "Also", "Surname": "InAP", "Email": "fs.also.ap@example.com", "MarketingOptIn": true, "DateUpdated": old},
		{"Forenames": "Same", "Surname": "Both", "Email": "fs.same@example.com", "DateUpdated": old},
		{"Forenames": "Newer", "Surname": "InAP", "Email": "fs.differs@example.com"},
		{"Forenames": "Older", "Surname": "InAP", "Email": "fs.mcwins@example.com", "DateUpdated": old},
		{"Forenames": "Gone", "Surname": "Away", "Email": "fs.unsub@example.com"},
		{"Forenames": "No", "Surname": "Email"},
	}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if err := s.Mailchimp.Import(list, []sbmc.ImportedMember{
		{EmailAddress: "fs.only.mc@example.com", MergeFields: map[string]any{"FNAME": "Only", "LNAME": "InMC"}},
		{EmailAddress: "fs.same@example.com", MergeFields: map[string]any{"FNAME": "Same", "LNAME": "Both"}},
		{EmailAddress: "fs.differs@example.com", MergeFields: map[string]any{"FNAME": "Older", "LNAME": "InMC"}, LastChanged: time.Now().Add(-72 * time.Hour)},
		{EmailAddress: "fs.mcwins@example.com", MergeFields: map[string]any{"FNAME": "Newer", "LNAME": "InMC"}},
		{EmailAddress: "fs.unsub@example.com", Status: "unsubscribed", MergeFields: map[string]any{"FNAME": "Gone", "LNAME": "Away"}},
	}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	settle(t, s)
	apWrites, mcWrites := s.Accessplanit.Stats().Writes, s.Mailchimp.Stats().MemberWrites
	if n := len(executions(t, s, apmc.ExecutionQuery{})); n != 0 {
		t.Fatalf("silent imports left %d executions, want none (no webhook fired)", n)
	}

	plan, err := svc.Plan(ctx, s.Info.InstanceID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	want := map[apmc.PairAction]int{
		apmc.PairCreateInMailchimp: 2, apmc.PairCreateInAccessplanit: 1, apmc.PairConflict: 2,
		apmc.PairUnchanged: 1, apmc.PairBlocked: 1, apmc.PairInvalid: 1,
	}
	for _, a := range apmc.PairActions {
		if plan.Counts[a] != want[a] {
			t.Errorf("plan counts[%s] = %d, want %d (all %v)", a, plan.Counts[a], want[a], plan.Counts)
		}
	}
	settle(t, s)
	if s.Accessplanit.Stats().Writes != apWrites || s.Mailchimp.Stats().MemberWrites != mcWrites {
		t.Fatal("the plan wrote to a system")
	}
	if n := len(executions(t, s, apmc.ExecutionQuery{})); n != 0 {
		t.Fatalf("the plan recorded %d executions, want none", n)
	}

	res, err := svc.Apply(ctx, s.Info.InstanceID, plan.ID, nil)
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	// The batch's webhooks may reach the live sync before the apply has the
	// batch's answer: the write was announced in each contact's state
	// before the call, so they are echoes, and nothing counts as live.
	if res.Written != 5 || res.Failed != 0 || res.ChangedSincePlan != 0 || res.ChangedLive != 0 {
		t.Errorf("Apply() = %+v, want 5 written, none failed, changed since the plan or changed live", res)
	}
	if res.MailchimpRequests != 1 {
		t.Errorf("Apply() made %d Mailchimp requests, want 1 batch call", res.MailchimpRequests)
	}

	// Both sides in line.
	for email, fname := range map[string]string{
		"fs.only.ap@example.com": "Only", "fs.also.ap@example.com": "Also", "fs.same@example.com": "Same",
		"fs.differs@example.com": "Newer", "fs.mcwins@example.com": "Newer", "fs.only.mc@example.com": "Only",
	} {
		m, ok := s.Mailchimp.Member(list, email)
		if !ok || m.MergeFields["FNAME"] != fname || m.Status != "subscribed" {
			t.Errorf("member %s = %+v (held %v), want subscribed with FNAME %s", email, m, ok, fname)
		}
		users := usersWithEmail(s, email)
		if len(users) != 1 || users[0]["Forenames"] != fname {
			t.Errorf("Users with %s = %v, want one with Forenames %s", email, users, fname)
		}
	}
	if m, _ := s.Mailchimp.Member(list, "fs.unsub@example.com"); m.Status != "unsubscribed" {
		t.Errorf("unsubscribed member's status = %s, want unsubscribed", m.Status)
	}

	// No ping-pong: the webhooks of the apply arrive, are recognised as
	// echoes, and nothing is written again on either side.
	apAfter, mcAfter := s.Accessplanit.Stats().Writes, s.Mailchimp.Stats().MemberWrites
	settle(t, s)
	if got := s.Accessplanit.Stats().Writes; got != apAfter {
		t.Errorf("accessplanit writes after the apply settled = %d, want %d (no write back)", got, apAfter)
	}
	if got := s.Mailchimp.Stats().MemberWrites; got != mcAfter {
		t.Errorf("Mailchimp member writes after the apply settled = %d, want %d (no write back)", got, mcAfter)
	}
	written := map[string]bool{}
	for _, e := range executions(t, s, apmc.ExecutionQuery{}) {
		switch e.Origin {
		case apmc.OriginBackfill:
			if e.Status != apmc.StatusSucceeded {
				t.Errorf("backfill execution for %s = %s, want succeeded", e.Contact, e.Status)
			}
			written[e.Contact] = true
		default:
			if e.Status == apmc.StatusSucceeded && e.Changed {
				t.Errorf("live execution for %s (%s, %s) changed a system after the apply: %s", e.Contact, e.Flow, e.Origin, e.Reason)
			}
		}
	}
	if len(written) != 5 {
		t.Errorf("backfill executions for %d contacts, want 5: %v", len(written), written)
	}
	echoes := executions(t, s, apmc.ExecutionQuery{Status: apmc.StatusSuppressed})
	if len(echoes) == 0 {
		t.Error("no webhook of the apply was suppressed as an echo: were the webhooks fired?")
	}

	again, err := svc.Plan(ctx, s.Info.InstanceID, nil)
	if err != nil {
		t.Fatalf("Plan() again error = %v", err)
	}
	for _, a := range []apmc.PairAction{apmc.PairCreateInMailchimp, apmc.PairUpdateInMailchimp, apmc.PairCreateInAccessplanit, apmc.PairUpdateInAccessplanit, apmc.PairConflict} {
		if again.Counts[a] != 0 {
			t.Errorf("second plan counts[%s] = %d, want 0 (%v)", a, again.Counts[a], again.Counts)
		}
	}
	if again.Counts[apmc.PairUnchanged] != 6 {
		t.Errorf("second plan unchanged = %d, want 6 (%v)", again.Counts[apmc.PairUnchanged], again.Counts)
	}
}

// A contact changed live between the plan and the apply is decided afresh
// on its current state and never overwritten with what the plan saw.
func TestFirstSyncDecidesALiveChangeAfresh(t *testing.T) {
	s := startStackWith(t, nil)
	svc := firstSync(t, s)
	ctx := context.Background()
	list := s.Info.Sandbox.Mailchimp.ListID
	old := time.Now().Add(-48 * time.Hour).UTC().Format("2006-01-02T15:04:05")
	ids, err := s.Accessplanit.ImportUsers([]map[string]any{
		{"Forenames": "Planned", "Surname": "InAP", "Email": "fs.live@example.com"},
		{"Forenames": "Quiet", "Surname": "InAP", "Email": "fs.quiet@example.com", "DateUpdated": old},
	})
	if err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if err := s.Mailchimp.Import(list, []sbmc.ImportedMember{
		{EmailAddress: "fs.live@example.com", MergeFields: map[string]any{"FNAME": "Stale", "LNAME": "InAP"}, LastChanged: time.Now().Add(-72 * time.Hour)},
	}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	plan, err := svc.Plan(ctx, s.Info.InstanceID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	if plan.Counts[apmc.PairConflict] != 1 || plan.Counts[apmc.PairCreateInMailchimp] != 1 {
		t.Fatalf("plan counts = %v, want 1 conflict (accessplanit newer) and 1 create in Mailchimp", plan.Counts)
	}

	// Live, after the plan: the member is edited in Mailchimp; the live
	// sync carries it to the User.
	if err := s.Mailchimp.EditMemberInUI(list, "fs.live@example.com", map[string]any{"FNAME": "Live"}, "admin"); err != nil {
		t.Fatalf("EditMemberInUI() error = %v", err)
	}
	waitFor(t, "the live change to reach accessplanit", func() bool {
		u, ok := s.Accessplanit.User(ids[0])
		return ok && u["Forenames"] == "Live"
	})
	settle(t, s)

	res, err := svc.Apply(ctx, s.Info.InstanceID, plan.ID, nil)
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if res.ChangedSincePlan != 1 {
		t.Errorf("Apply() changed since plan = %d, want 1 (%+v)", res.ChangedSincePlan, res)
	}
	if res.Counts[apmc.PairConflict] != 0 || res.Counts[apmc.PairUnchanged] != 1 || res.Written != 1 {
		t.Errorf("Apply() = %+v, want the live contact unchanged and only the quiet one written", res)
	}
	settle(t, s)
	if m, _ := s.Mailchimp.Member(list, "fs.live@example.com"); m.MergeFields["FNAME"] != "Live" {
		t.Errorf("member FNAME after the apply = %v, want Live (the plan's Planned never written)", m.MergeFields["FNAME"])
	}
	if u, _ := s.Accessplanit.User(ids[0]); u["Forenames"] != "Live" {
		t.Errorf("User Forenames after the apply = %v, want Live", u["Forenames"])
	}
	for _, e := range executions(t, s, apmc.ExecutionQuery{Contact: "fs.live@example.com"}) {
		if e.Origin == apmc.OriginBackfill {
			t.Errorf("the job wrote the live contact: execution %s %s", e.ID, e.Reason)
		}
	}
}
