package local_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	"github.com/apmc-sync/apmc/internal/reconcile"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// reconcileNow runs one reconciliation of the stack's instance.
func reconcileNow(t *testing.T, s *local.Stack, full bool) reconcile.Run {
	t.Helper()
	run, err := s.Reconcile.Service.Reconcile(context.Background(), s.Info.InstanceID, reconcile.Options{Full: full})
	if err != nil {
		t.Fatalf("Reconcile(full=%v) error = %v", full, err)
	}
	return run
}

// reconcileExecutions are the instance's executions of reconcile changes.
func reconcileExecutions(t *testing.T, s *local.Stack) []apmc.Execution {
	t.Helper()
	var out []apmc.Execution
	for _, e := range executions(t, s, apmc.ExecutionQuery{}) {
		if e.Origin == apmc.OriginReconcile {
			out = append(out, e)
		}
	}
	return out
}

func TestReconcileRepairsChangesWhoseWebhooksWereLost(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	createSynced(t, s, "Ada", "Lovelace", "in.sync@example.com")
	graceID := createSynced(t, s, "Grace", "Hopper", "lost.mc@example.com")

	first := reconcileNow(t, s, false)
	if !first.Full || first.Enqueued != 0 || first.Checked != 4 {
		t.Fatalf("first run = full %v, checked %d, enqueued %d; want a full run (none before it) checking 2 Users and 2 members, enqueueing nothing",
			first.Full, first.Checked, first.Enqueued)
	}

	// Changes made without webhooks: a member edited by an import, and a
	// User created by one.
	if err := s.Mailchimp.Import(list, []sbmc.ImportedMember{{EmailAddress: "lost.mc@example.com", MergeFields: map[string]any{"FNAME": "Amazing Grace", "LNAME": "Hopper"}}}); err != nil {
		t.Fatalf("Mailchimp Import() error = %v", err)
	}
	if _, err := s.Accessplanit.ImportUsers([]map[string]any{{"Forenames": "Mary", "Surname": "Shelley", "Email": "lost.ap@example.com"}}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}

	run := reconcileNow(t, s, false)
	if run.Full || !run.Since.Equal(first.StartedAt.Add(-reconcile.DefaultOverlap)) {
		t.Errorf("second run = full %v since %v, want incremental since %v", run.Full, run.Since, first.StartedAt.Add(-reconcile.DefaultOverlap))
	}
	if run.Enqueued != 2 {
		t.Errorf("second run enqueued %d, want 2 (the member and the User changed silently)", run.Enqueued)
	}
	waitFor(t, "the member's name to reach accessplanit", func() bool { return toString(apUser(t, s, graceID)["Forenames"]) == "Amazing Grace" })
	waitFor(t, "the imported User to reach Mailchimp", func() bool {
		m, ok := s.Mailchimp.Member(list, "lost.ap@example.com")
		return ok && toString(m.MergeFields["FNAME"]) == "Mary"
	})
	settle(t, s)
	noFailures(t, s)
	if got := reconcileExecutions(t, s); len(got) != 2 {
		t.Errorf("executions with origin reconcile = %d, want 2", len(got))
	}

	again := reconcileNow(t, s, true)
	if again.Enqueued != 0 {
		t.Errorf("full run after the repair enqueued %d, want 0 (both sides and the states agree)", again.Enqueued)
	}
	last, err := s.Reconcile.Service.Runs.LastRun(context.Background(), s.Info.InstanceID)
	if err != nil || last.ID != again.ID || last.Checked != again.Checked {
		t.Errorf("LastRun() = %+v, %v; want the run just made (%s)", last, err, again.ID)
	}
	sum, err := s.Ops.Summary(context.Background(), s.Info.InstanceID)
	if err != nil || sum.LastReconcile == nil || sum.LastReconcile.ID != again.ID || sum.LastReconcile.Checked != again.Checked {
		t.Errorf("Summary().LastReconcile = %+v, %v; want the run just made (%s, %d checked)", sum.LastReconcile, err, again.ID, again.Checked)
	}
}

func TestIncrementalReconcileReadsOnlyWhatChangedSinceTheLastRun(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	reconcileNow(t, s, true)

	// A User last changed long before the last run: an incremental run
	// does not read it; a full run does.
	old := time.Now().Add(-3 * time.Hour).UTC().Format("2006-01-02T15:04:05")
	if _, err := s.Accessplanit.ImportUsers([]map[string]any{{"Forenames": "Old", "Surname": "Timer", "Email": "old@example.com", "DateUpdated": old}}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if run := reconcileNow(t, s, false); run.Checked != 0 || run.Enqueued != 0 {
		t.Errorf("incremental run = checked %d, enqueued %d; want 0 and 0 (nothing changed since the last run)", run.Checked, run.Enqueued)
	}
	// Never synced and changed before reconciliation began: a full run
	// reads it but leaves it to first sync.
	if run := reconcileNow(t, s, true); run.Checked != 1 || run.Enqueued != 0 || run.SkippedUnknown != 1 {
		t.Errorf("full run = checked %d, enqueued %d, skipped unknown %d; want 1, 0 and 1", run.Checked, run.Enqueued, run.SkippedUnknown)
	}
}

func TestFirstReconcileLeavesWhatPredatesItToFirstSync(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	// Data both systems held before the integration was switched on,
	// last changed within the overlap the next run reads again.
	before := time.Now().Add(-5 * time.Minute).UTC()
	if _, err := s.Accessplanit.ImportUsers([]map[string]any{
		{"Forenames": "Pre", "Surname": "Existing", "Email": "pre.user@example.com", "DateUpdated": before.Format("2006-01-02T15:04:05")},
	}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if err := s.Mailchimp.Import(list, []sbmc.ImportedMember{
		{EmailAddress: "pre.member@example.com", MergeFields: map[string]any{"FNAME": "Pre", "LNAME": "Member"}, LastChanged: before},
	}); err != nil {
		t.Fatalf("Mailchimp Import() error = %v", err)
	}

	runs := []struct {
		name string
		full bool
	}{
		{"the first (scheduled) run", false},
		{"the next incremental run", false},
		{"a full run", true},
	}
	for _, r := range runs {
		run := reconcileNow(t, s, r.full)
		if run.Checked != 2 || run.Enqueued != 0 || run.SkippedUnknown != 2 {
			t.Errorf("%s = checked %d, enqueued %d, skipped unknown %d; want 2, 0 and 2 (nothing first-synced without a plan)",
				r.name, run.Checked, run.Enqueued, run.SkippedUnknown)
		}
	}

	// A User created after a run without a webhook: changed while the
	// integration was on, so the next incremental run repairs it.
	if _, err := s.Accessplanit.ImportUsers([]map[string]any{{"Forenames": "New", "Surname": "Comer", "Email": "new.user@example.com"}}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if run := reconcileNow(t, s, false); run.Enqueued != 1 {
		t.Errorf("run after the silent create enqueued %d, want 1 (the new User)", run.Enqueued)
	}
	waitFor(t, "the new User to reach Mailchimp", func() bool {
		_, ok := s.Mailchimp.Member(list, "new.user@example.com")
		return ok
	})
	settle(t, s)
	noFailures(t, s)
	if _, ok := s.Mailchimp.Member(list, "pre.user@example.com"); ok {
		t.Error("the pre-existing User is in Mailchimp, want it left to first sync")
	}
	if got := len(reconcileExecutions(t, s)); got != 1 {
		t.Errorf("executions with origin reconcile = %d, want 1", got)
	}
}

func TestFullReconcileLeavesAnOlderUserSharingAnEmailAlone(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	createSynced(t, s, "Ada", "Lovelace", "shared@example.com")
	// An older User with the same email and other values: the newest User
	// is the contact, this one is left alone.
	old := time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05")
	if _, err := s.Accessplanit.ImportUsers([]map[string]any{{"Forenames": "Augusta", "Surname": "King", "Email": "shared@example.com", "DateUpdated": old}}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	for i := range 2 {
		if run := reconcileNow(t, s, true); run.Checked != 3 || run.Enqueued != 0 {
			t.Errorf("full run %d = checked %d, enqueued %d; want 3 (2 Users, 1 member) and 0", i+1, run.Checked, run.Enqueued)
		}
	}
	if got := len(reconcileExecutions(t, s)); got != 0 {
		t.Errorf("executions with origin reconcile = %d, want 0", got)
	}
}

func TestReconcileErrorsNeverCarryTheInstancesSecrets(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	ctx := context.Background()
	key := s.Info.Sandbox.Mailchimp.APIKey
	var logs bytes.Buffer
	svc := s.Reconcile.Service
	svc.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	// A client whose error quotes its request, key included.
	svc.Connect = func(in apmc.Instance) (reconcile.Sides, error) {
		return reconcile.Sides{}, fmt.Errorf("GET https://anystring:%s@example.com/3.0/lists: refused", in.Secrets.MailchimpAPIKey)
	}

	run, err := svc.Reconcile(ctx, s.Info.InstanceID, reconcile.Options{})
	if err == nil {
		t.Fatal("Reconcile() error = nil, want the connection's error")
	}
	_, allErr := svc.ReconcileAll(ctx, s.Instances, nil)
	last, lerr := svc.Runs.LastRun(ctx, s.Info.InstanceID)
	if lerr != nil {
		t.Fatalf("LastRun() error = %v", lerr)
	}
	texts := []struct{ name, text string }{
		{"the returned error", err.Error()},
		{"Run.Error", run.Error},
		{"the recorded run's error", last.Error},
		{"ReconcileAll's error", fmt.Sprint(allErr)},
		{"the log", logs.String()},
	}
	for _, tt := range texts {
		if !strings.Contains(tt.text, "refused") {
			t.Errorf("%s = %q, want the failure", tt.name, tt.text)
		}
		if strings.Contains(tt.text, key) {
			t.Errorf("%s = %q, holds the Mailchimp API key", tt.name, tt.text)
		}
	}
}

func TestReconcileOfAPausedInstanceHoldsItsChanges(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	ctx := context.Background()
	id := createSynced(t, s, "Grace", "Hopper", "paused@example.com")
	reconcileNow(t, s, false)
	if _, err := s.Ops.Pause(ctx, s.Info.InstanceID); err != nil {
		t.Fatalf("Pause() error = %v", err)
	}
	s.Cache.Forget(s.Info.InstanceID) // the pause takes effect now, not within the cache's TTL
	if err := s.Mailchimp.Import(s.Info.Sandbox.Mailchimp.ListID, []sbmc.ImportedMember{{EmailAddress: "paused@example.com", MergeFields: map[string]any{"FNAME": "Held", "LNAME": "Hopper"}}}); err != nil {
		t.Fatalf("Mailchimp Import() error = %v", err)
	}
	if run := reconcileNow(t, s, false); run.Enqueued != 1 {
		t.Fatalf("run while paused enqueued %d, want 1", run.Enqueued)
	}
	e := waitExecution(t, s, "the held reconcile execution", apmc.ExecutionQuery{}, func(e apmc.Execution) bool { return e.Origin == apmc.OriginReconcile })
	if e.Status != apmc.StatusHeld {
		t.Fatalf("reconcile execution while paused = %s, want held", e.Status)
	}
	if got := toString(apUser(t, s, id)["Forenames"]); got != "Grace" {
		t.Errorf("accessplanit Forenames while paused = %q, want Grace", got)
	}
	if _, err := s.Ops.Resume(ctx, s.Info.InstanceID); err != nil {
		t.Fatalf("Resume() error = %v", err)
	}
	waitFor(t, "the held change to be applied", func() bool { return toString(apUser(t, s, id)["Forenames"]) == "Held" })
}

func TestStackReconcilesOnItsInterval(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, func(c *local.Config) { c.ReconcileInterval = 100 * time.Millisecond })
	// Data from before the first run is left to first sync: the User is
	// created once the schedule has run, and a second later, so its
	// DateUpdated is past the first run's baseline (kept to the second).
	waitFor(t, "the first scheduled reconcile", func() bool {
		_, err := s.Reconcile.Service.Runs.LastSuccess(context.Background(), s.Info.InstanceID)
		return err == nil
	})
	time.Sleep(1100 * time.Millisecond)
	if _, err := s.Accessplanit.ImportUsers([]map[string]any{{"Forenames": "Tick", "Surname": "Tock", "Email": "tick@example.com"}}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	waitFor(t, "the scheduled reconcile to bring the User to Mailchimp", func() bool {
		_, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, "tick@example.com")
		return ok
	})
}

// A synced User whose contact state does not remember its MarketingOptIn
// (saved before consent was on, or by an older first sync) is enqueued by a
// reconciliation, which writes no contact state itself, and the sync
// records the opt-in, so the User's next opt-out is recognised.
func TestReconcileRemembersOptIn(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	ctx := context.Background()
	createSynced(t, s, "Ada", "Lovelace", "opt.in@example.com")
	cfg := awsconfig.Local()
	cfg.Region = s.Info.AWS.Region
	contacts := dynamo.NewContactStore(app.NewClients(cfg, s.Info.AWS.Endpoint).DynamoDB, s.Info.AWS.ContactsTable)
	c, err := contacts.Contact(ctx, s.Info.InstanceID, "opt.in@example.com")
	if err != nil {
		t.Fatalf("Contact() error = %v", err)
	}
	c.MarketingOptIn = nil
	if err := contacts.SaveContact(ctx, c); err != nil {
		t.Fatalf("SaveContact() error = %v", err)
	}
	if run := reconcileNow(t, s, true); run.Enqueued != 1 {
		t.Errorf("reconcile enqueued %d, want 1 (the User whose opt-in is not remembered)", run.Enqueued)
	}
	settle(t, s)
	c, err = contacts.Contact(ctx, s.Info.InstanceID, "opt.in@example.com")
	if err != nil {
		t.Fatalf("Contact() error = %v", err)
	}
	if c.MarketingOptIn == nil || !*c.MarketingOptIn {
		t.Errorf("contact remembers MarketingOptIn %v after a reconciliation, want true", c.MarketingOptIn)
	}
	if run := reconcileNow(t, s, true); run.Enqueued != 0 {
		t.Errorf("a second reconciliation enqueued %d, want 0 (the opt-in is remembered)", run.Enqueued)
	}
}

// loseWebhooks does what edit does to the simulators while the webhooks it
// makes are lost: the consumer is stopped, the deliveries are taken in and
// dropped from the queues, and the consumer starts again.
func loseWebhooks(t *testing.T, s *local.Stack, edit func()) {
	t.Helper()
	s.StopConsumer()
	defer s.StartConsumer()
	edit()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Accessplanit.WaitWebhooks(ctx); err != nil || !s.Mailchimp.WaitWebhooks(10*time.Second) {
		t.Fatalf("webhooks not delivered: %v", err)
	}
	for _, url := range []string{s.Queues.ChangesURL, s.Queues.BulkURL} {
		if _, err := s.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Fatalf("PurgeQueue() error = %v", err)
		}
	}
	waitFor(t, "the lost deliveries to leave the queues", func() bool {
		return queueEmpty(t, s, s.Queues.ChangesURL) && queueEmpty(t, s, s.Queues.BulkURL)
	})
}

func TestReconcileKeepsEditsMadeOnBothSidesWhileWebhooksWereLost(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	id := createSynced(t, s, "Grace", "Hopper", "grace.both@example.com")
	reconcileNow(t, s, false)

	// The User's phone changes first, then the member's first name; both
	// webhooks are lost.
	const phone = "+44 20 7946 0001"
	loseWebhooks(t, s, func() {
		if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Phone": phone}); err != nil {
			t.Fatalf("EditUserInUI() error = %v", err)
		}
	})
	if err := s.Mailchimp.Import(list, []sbmc.ImportedMember{{EmailAddress: "grace.both@example.com",
		MergeFields: map[string]any{"FNAME": "Amazing Grace", "LNAME": "Hopper"}, LastChanged: time.Now().Add(time.Second)}}); err != nil {
		t.Fatalf("Mailchimp Import() error = %v", err)
	}

	// The consumer is stopped while the run reads both sides: what the run
	// enqueues is counted, not what the sync makes of its first changes
	// meanwhile.
	s.StopConsumer()
	run := reconcileNow(t, s, false)
	s.StartConsumer()
	if run.Enqueued != 2 {
		t.Errorf("run enqueued %d, want 2 (the User and the member)", run.Enqueued)
	}
	settle(t, s)
	noFailures(t, s)
	user := apUser(t, s, id)
	if toString(user["Forenames"]) != "Amazing Grace" || toString(user["Phone"]) != phone {
		t.Errorf("accessplanit User = Forenames %q Phone %q, want %q and %q (both edits)", user["Forenames"], user["Phone"], "Amazing Grace", phone)
	}
	m, _ := s.Mailchimp.Member(list, "grace.both@example.com")
	if toString(m.MergeFields["FNAME"]) != "Amazing Grace" || toString(m.MergeFields["PHONE"]) != phone {
		t.Errorf("Mailchimp member = FNAME %q PHONE %q, want %q and %q (both edits)", m.MergeFields["FNAME"], m.MergeFields["PHONE"], "Amazing Grace", phone)
	}
}

func TestReconcileRepairsAnUnsubscribeWhoseWebhookWasLost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		optouts      bool
		wantEnqueued int
		wantOptIn    string
	}{
		{"opt-outs sent to accessplanit", true, 1, "false"},
		{"opt-outs kept in Mailchimp", false, 0, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startStackWith(t, nil)
			list := s.Info.Sandbox.Mailchimp.ListID
			configure(t, s, func(in *apmc.Instance) { in.Consent.OptoutsToAccessplanit = tt.optouts })
			id := createSynced(t, s, "Ada", "Lovelace", "ada.unsub@example.com")
			reconcileNow(t, s, false)

			loseWebhooks(t, s, func() {
				if err := s.Mailchimp.UnsubscribeInUI(list, "ada.unsub@example.com", "unsub"); err != nil {
					t.Fatalf("UnsubscribeInUI() error = %v", err)
				}
			})
			// Counted with the consumer stopped, as above.
			s.StopConsumer()
			run := reconcileNow(t, s, false)
			s.StartConsumer()
			if run.Enqueued != tt.wantEnqueued {
				t.Errorf("run enqueued %d, want %d", run.Enqueued, tt.wantEnqueued)
			}
			settle(t, s)
			noFailures(t, s)
			if got := fmt.Sprint(apUser(t, s, id)["MarketingOptIn"]); got != tt.wantOptIn {
				t.Errorf("MarketingOptIn = %s, want %s", got, tt.wantOptIn)
			}
			if m, _ := s.Mailchimp.Member(list, "ada.unsub@example.com"); m.Status != "unsubscribed" {
				t.Errorf("member status = %s, want unsubscribed (never re-subscribed)", m.Status)
			}
			if again := reconcileNow(t, s, true); again.Enqueued != 0 {
				t.Errorf("full run after the repair enqueued %d, want 0 (the state knows the unsubscribe is applied)", again.Enqueued)
			}
		})
	}
}
