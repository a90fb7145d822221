package backfill_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

type world struct {
	svc      backfill.Service
	store    *dynamo.ContactStore
	execs    *dynamo.ExecutionStore
	ap       *sbap.Server
	mc       *sbmc.Server
	instance apmc.Instance
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := awstest.Kumo(t)
	tables := env.Tables(t, "backfill")
	ap := sbap.New(sbap.Options{})
	apSrv := httptest.NewServer(ap)
	mc := sbmc.New(sbmc.Options{})
	mcSrv := httptest.NewServer(mc)
	t.Cleanup(func() { apSrv.Close(); mcSrv.Close(); mc.Close(); ap.Close() })
	mcKey := "0123456789abcdef0123456789abcdef-us21"
	mc.AddAccount(mcKey)
	ap.AddAPIKey("ap-key", "9000")
	in := apmc.Instance{
		ID: "first", Name: "First sync", State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
		MailchimpListID: mc.AddList(mcKey, "Audience"), MailchimpBaseURL: mcSrv.URL + "/3.0",
		AccessplanitBaseURL: apSrv.URL + ap.Prefix(), DefaultCompanyID: ap.AddCompany("Acme"), AccessplanitUserID: "9000",
		Mappings:                    apmc.DefaultMappings(),
		AccessplanitRequestsPerHour: 1_000_000,
		Secrets:                     apmc.Secrets{MailchimpAPIKey: mcKey, AccessplanitAPIKey: "ap-key"},
	}
	w := &world{store: dynamo.NewContactStore(env.DynamoDB, tables.Contacts), execs: dynamo.NewExecutionStore(env.DynamoDB, tables.Executions), ap: ap, mc: mc, instance: in}
	conn := &connector.Connector{}
	w.svc = backfill.Service{
		Instances:  staticInstances{in},
		Connect:    conn.Backfill,
		Store:      w.store,
		Executions: w.execs,
	}
	return w
}

// planAndApply plans a first sync of the world's instance and applies the
// plan whole.
func (w *world) planAndApply(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	if _, err := w.svc.Apply(ctx, w.instance.ID, plan.ID, nil); err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
}

type staticInstances struct{ in apmc.Instance }

func (s staticInstances) Instance(_ context.Context, id string) (apmc.Instance, error) {
	if id != s.in.ID {
		return apmc.Instance{}, apmc.ErrNotFound
	}
	return s.in, nil
}

// A first sync plans without writing, applies the plan through batch calls
// and leaves nothing for a second plan to do.
func TestPlanApplyAndPlanAgain(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour).UTC().Format("2006-01-02T15:04:05")
	if _, err := w.ap.ImportUsers([]map[string]any{
		{"Forenames": "Only", "Surname": "InAP", "Email": "only.ap@example.com", "DateUpdated": old},
		{"Forenames": "Same", "Surname": "Both", "Email": "same@example.com", "DateUpdated": old},
		{"Forenames": "Newer", "Surname": "InAP", "Email": "differs@example.com"},
		{"Forenames": "Gone", "Surname": "Away", "Email": "unsub@example.com"},
		{"Forenames": "No", "Surname": "Email"},
	}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if err := w.mc.Import(w.instance.MailchimpListID, []sbmc.ImportedMember{
		{EmailAddress: "only.mc@example.com", MergeFields: map[string]any{"FNAME": "Only", "LNAME": "InMC"}},
		{EmailAddress: "same@example.com", MergeFields: map[string]any{"FNAME": "Same", "LNAME": "Both"}},
		{EmailAddress: "differs@example.com", MergeFields: map[string]any{"FNAME": "Older", "LNAME": "InMC"}, LastChanged: time.Now().Add(-72 * time.Hour)},
		{EmailAddress: "unsub@example.com", Status: "unsubscribed", MergeFields: map[string]any{"FNAME": "Gone", "LNAME": "Away"}},
	}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	apWrites, mcWrites := w.ap.Stats().Writes, w.mc.Stats().MemberWrites

	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	want := map[apmc.PairAction]int{
		apmc.PairCreateInMailchimp: 1, apmc.PairCreateInAccessplanit: 1, apmc.PairConflict: 1,
		apmc.PairUnchanged: 1, apmc.PairBlocked: 1, apmc.PairInvalid: 1,
	}
	for _, a := range apmc.PairActions {
		if plan.Counts[a] != want[a] {
			t.Errorf("plan counts[%s] = %d, want %d (all counts %v)", a, plan.Counts[a], want[a], plan.Counts)
		}
	}
	if w.ap.Stats().Writes != apWrites || w.mc.Stats().MemberWrites != mcWrites {
		t.Fatal("planning wrote to a system")
	}
	stored, err := w.store.Plan(ctx, w.instance.ID, plan.ID)
	if err != nil || len(stored.Contacts) != len(plan.Contacts) || stored.Counts[apmc.PairConflict] != 1 {
		t.Fatalf("stored plan = %d contacts %v, %v; want it as planned", len(stored.Contacts), stored.Counts, err)
	}

	res, err := w.svc.Apply(ctx, w.instance.ID, plan.ID, nil)
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if res.Written != 3 || res.Failed != 0 {
		t.Errorf("Apply() written %d failed %d, want 3 and 0 (%+v)", res.Written, res.Failed, res)
	}
	if m, ok := w.mc.Member(w.instance.MailchimpListID, "only.ap@example.com"); !ok || m.Status != "subscribed" {
		t.Errorf("member only.ap = %+v %v, want created subscribed", m, ok)
	}
	if m, _ := w.mc.Member(w.instance.MailchimpListID, "differs@example.com"); m.MergeFields["FNAME"] != "Newer" {
		t.Errorf("conflict: Mailchimp FNAME = %v, want Newer (accessplanit changed last)", m.MergeFields["FNAME"])
	}
	if m, _ := w.mc.Member(w.instance.MailchimpListID, "unsub@example.com"); m.Status != "unsubscribed" {
		t.Errorf("unsubscribed member's status = %s, want unsubscribed (never re-subscribed)", m.Status)
	}
	created := 0
	for _, u := range w.ap.Users() {
		if e, _ := u["Email"].(string); strings.EqualFold(e, "only.mc@example.com") {
			created++
		}
	}
	if created != 1 {
		t.Errorf("Users with only.mc@example.com = %d, want 1", created)
	}
	job, err := w.svc.Status(ctx, w.instance.ID)
	if err != nil || job.Status != backfill.JobDone || job.PlanID != plan.ID {
		t.Errorf("Status() = %+v, %v; want done for plan %s", job, err, plan.ID)
	}

	again, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() again error = %v", err)
	}
	for _, a := range []apmc.PairAction{apmc.PairCreateInMailchimp, apmc.PairUpdateInMailchimp, apmc.PairCreateInAccessplanit, apmc.PairUpdateInAccessplanit, apmc.PairConflict} {
		if again.Counts[a] != 0 {
			t.Errorf("second plan counts[%s] = %d, want 0 (%v)", a, again.Counts[a], again.Counts)
		}
	}
}

// A member accessplanit refuses leaves no contact state behind: it does
// not pass for synced, and the next plan proposes it again.
func TestApplyRefusedByAccessplanitLeavesNoState(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.mc.Import(w.instance.MailchimpListID, []sbmc.ImportedMember{
		{EmailAddress: "refused@example.com", MergeFields: map[string]any{"FNAME": "Refused", "LNAME": "Member"}},
	}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil || plan.Counts[apmc.PairCreateInAccessplanit] != 1 {
		t.Fatalf("Plan() = %v, %v; want one create_in_accessplanit", plan.Counts, err)
	}
	// The platform refuses the new User: its Account no longer exists.
	w.instance.DefaultCompanyID = "404"
	w.svc.Instances = staticInstances{w.instance}
	res, err := w.svc.Apply(ctx, w.instance.ID, plan.ID, nil)
	if err != nil || res.Failed != 1 || res.Written != 0 {
		t.Fatalf("Apply() = written %d failed %d, %v; want 0 and 1", res.Written, res.Failed, err)
	}
	if c, err := w.store.Contact(ctx, w.instance.ID, "refused@example.com"); !errors.Is(err, apmc.ErrNotFound) {
		t.Errorf("contact state after the refusal = %+v, %v; want none", c, err)
	}
	again, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil || again.Counts[apmc.PairCreateInAccessplanit] != 1 {
		t.Errorf("second Plan() = %v, %v; want the member proposed again", again.Counts, err)
	}
}

// A member holding more than accessplanit takes is planned invalid, with
// the limit as its reason, and nothing is written.
func TestPlanMarksAMemberAccessplanitCannotHoldInvalid(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.mc.Import(w.instance.MailchimpListID, []sbmc.ImportedMember{
		{EmailAddress: "long.name@example.com", MergeFields: map[string]any{"FNAME": strings.Repeat("Anna ", 11), "LNAME": "Long"}},
	}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil || plan.Counts[apmc.PairInvalid] != 1 || plan.Counts[apmc.PairCreateInAccessplanit] != 0 {
		t.Fatalf("Plan() = %v, %v; want one invalid and no create_in_accessplanit", plan.Counts, err)
	}
	if got := plan.Contacts[0].Reason; !strings.Contains(got, "Forenames is 54 characters, accessplanit holds at most 50") {
		t.Errorf("plan reason = %q, want the Forenames limit", got)
	}
}

func TestApplyNeedsALivePlan(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, id := range []string{"", "nope"} {
		if _, err := w.svc.Apply(ctx, w.instance.ID, id, nil); err == nil || !apmc.IsInvalid(err) {
			t.Errorf("Apply(plan %q) error = %v, want an invalid-input error", id, err)
		}
	}
}

// A member whose address Mailchimp changed while the webhook was lost is
// recognised by its contact id: its old address is not added back, and the
// new one follows the instance's mailchimp_email_changes.
func TestPlanRecognisesALostMailchimpEmailChange(t *testing.T) {
	for _, tt := range []struct {
		setting apmc.EmailChanges
		want    map[apmc.PairAction]int
	}{
		{apmc.EmailChangesNewUser, map[apmc.PairAction]int{apmc.PairCreateInAccessplanit: 1, apmc.PairUnchanged: 1}},
		{apmc.EmailChangesIgnore, map[apmc.PairAction]int{apmc.PairUnchanged: 2}},
		{apmc.EmailChangesFollow, map[apmc.PairAction]int{apmc.PairUpdateInAccessplanit: 1}},
	} {
		t.Run(string(tt.setting), func(t *testing.T) {
			w := newWorld(t)
			w.instance.MailchimpEmailChanges = tt.setting
			w.svc.Instances = staticInstances{w.instance}
			ctx := context.Background()
			if _, err := w.ap.ImportUsers([]map[string]any{{"Forenames": "Mo", "Surname": "Ver", "Email": "mover@example.com"}}); err != nil {
				t.Fatalf("ImportUsers() error = %v", err)
			}
			first, err := w.svc.Plan(ctx, w.instance.ID, nil)
			if err != nil {
				t.Fatalf("Plan() error = %v", err)
			}
			if _, err := w.svc.Apply(ctx, w.instance.ID, first.ID, nil); err != nil {
				t.Fatalf("Apply() error = %v", err)
			}
			// The contact changes its address in Mailchimp; the webhook is lost.
			if err := w.mc.ChangeEmailInUI(w.instance.MailchimpListID, "mover@example.com", "moved@example.com"); err != nil {
				t.Fatalf("ChangeEmailInUI() error = %v", err)
			}
			plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
			if err != nil {
				t.Fatalf("Plan() error = %v", err)
			}
			for _, a := range apmc.PairActions {
				if plan.Counts[a] != tt.want[a] {
					t.Errorf("counts[%s] = %d, want %d (all %v)", a, plan.Counts[a], tt.want[a], plan.Counts)
				}
			}
			if _, err := w.svc.Apply(ctx, w.instance.ID, plan.ID, nil); err != nil {
				t.Fatalf("Apply() error = %v", err)
			}
			if _, ok := w.mc.Member(w.instance.MailchimpListID, "mover@example.com"); ok {
				t.Error("the apply added the old address back")
			}
			if tt.setting == apmc.EmailChangesFollow {
				var emails []string
				for _, u := range w.ap.Users() {
					e, _ := u["Email"].(string)
					emails = append(emails, strings.ToLower(e))
				}
				if len(emails) != 1 || emails[0] != "moved@example.com" {
					t.Errorf("accessplanit emails after the apply = %v, want the one User at moved@example.com", emails)
				}
				again, err := w.svc.Plan(ctx, w.instance.ID, nil)
				if err != nil || again.Counts[apmc.PairUpdateInAccessplanit] != 0 {
					t.Errorf("plan after the apply = %v, %v; want nothing left to update", again.Counts, err)
				}
			}
			if tt.setting != apmc.EmailChangesFollow {
				c, err := w.store.Contact(ctx, w.instance.ID, "mover@example.com")
				if err != nil || c.MovedTo != "moved@example.com" {
					t.Errorf("old contact = %+v, %v; want it to remember the move to moved@example.com", c, err)
				}
			}
		})
	}
}

// A linked User whose email changed to an address another member holds
// leaves its old member alone: no second User is created for it.
func TestPlanCreatesNoUserForTheOldAddressOfALinkedUser(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ids, err := w.ap.ImportUsers([]map[string]any{{"Forenames": "Al", "Surname": "Pha", "Email": "alpha@example.com"}})
	if err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	first, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	if _, err := w.svc.Apply(ctx, w.instance.ID, first.ID, nil); err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if err := w.mc.Import(w.instance.MailchimpListID, []sbmc.ImportedMember{{EmailAddress: "beta@example.com", MergeFields: map[string]any{"FNAME": "Al", "LNAME": "Pha"}}}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	if err := w.ap.EditUserInUI(ids[0], map[string]any{"Email": "beta@example.com"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	if plan.Counts[apmc.PairCreateInAccessplanit] != 0 {
		t.Errorf("plan creates %d Users, want none for the old address of a linked User (%v)", plan.Counts[apmc.PairCreateInAccessplanit], plan.Counts)
	}
}

// A User whose address Mailchimp erased is planned for Mailchimp like any
// other; the batch refuses it, and its execution is blocked, not failed.
func TestApplyRecordsForgottenAddressesAsBlocked(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.ap.ImportUsers([]map[string]any{
		{"Forenames": "Erased", "Surname": "Person", "Email": "erased@example.com"},
		{"Forenames": "Kept", "Surname": "Person", "Email": "kept@example.com"},
	}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if err := w.mc.Forget(w.instance.MailchimpListID, "erased@example.com"); err != nil {
		t.Fatal(err)
	}
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	res, err := w.svc.Apply(ctx, w.instance.ID, plan.ID, nil)
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if res.Written != 1 || res.Blocked != 1 || res.Failed != 0 {
		t.Errorf("Apply() written %d blocked %d failed %d, want 1, 1 and 0", res.Written, res.Blocked, res.Failed)
	}
	job, err := w.svc.Status(ctx, w.instance.ID)
	if err != nil || job.Result == nil || job.Result.Blocked != 1 || job.Result.Failed != 0 {
		t.Errorf("Status() = %+v, %v; want a result with 1 blocked and 0 failed", job.Result, err)
	}
	for status, want := range map[apmc.Status]string{apmc.StatusBlocked: "erased@example.com", apmc.StatusSucceeded: "kept@example.com"} {
		list, _, err := w.execs.Executions(ctx, w.instance.ID, apmc.ExecutionQuery{Status: status})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Contact != want {
			t.Errorf("%s executions = %+v, want one for %s", status, list, want)
			continue
		}
		if status == apmc.StatusBlocked && !strings.Contains(list[0].Reason, "permanently deleted") {
			t.Errorf("blocked execution reason = %q, want Mailchimp's", list[0].Reason)
		}
		if status == apmc.StatusBlocked {
			e, err := w.execs.Execution(ctx, w.instance.ID, list[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(e.Steps); n == 0 || e.Steps[n-1].Status != string(apmc.StatusBlocked) {
				t.Errorf("blocked execution's steps = %+v, want the write step blocked", e.Steps)
			}
		}
	}
}

// With consent, a first sync gives new members the status their User's
// MarketingOptIn asks for, and adds no one the instance would not add.
func TestFirstSyncFollowsConsent(t *testing.T) {
	for _, tt := range []struct {
		name    string
		consent apmc.Consent
		want    map[string]string // email → status; "" means not added
	}{
		{"defaults", apmc.Consent{}, map[string]string{"in@example.com": "subscribed", "out@example.com": "transactional"}},
		{"double opt-in, not opted in skipped", apmc.Consent{DoubleOptIn: true, NotOptedIn: apmc.NotOptedInSkip}, map[string]string{"in@example.com": "pending", "out@example.com": ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			consent := tt.consent
			w.instance.Consent = &consent
			w.svc.Instances = staticInstances{w.instance}
			if _, err := w.ap.ImportUsers([]map[string]any{
				{"Forenames": "In", "Surname": "Person", "Email": "in@example.com", "MarketingOptIn": true},
				{"Forenames": "Out", "Surname": "Person", "Email": "out@example.com"},
			}); err != nil {
				t.Fatalf("ImportUsers() error = %v", err)
			}
			w.planAndApply(t)
			for email, want := range tt.want {
				m, ok := w.mc.Member(w.instance.MailchimpListID, email)
				if got := map[bool]string{true: m.Status}[ok]; got != want {
					t.Errorf("member %s status = %q (exists %v), want %q", email, got, ok, want)
				}
			}
		})
	}
}

// A first sync remembers the MarketingOptIn of every User it writes or
// finds the same on both sides, so the User's first opt-out after it
// unsubscribes the member (optouts_to_mailchimp), as a live change would.
func TestFirstSyncRemembersOptIn(t *testing.T) {
	w := newWorld(t)
	w.instance.Consent = &apmc.Consent{OptoutsToMailchimp: true}
	w.svc.Instances = staticInstances{w.instance}
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour).UTC().Format("2006-01-02T15:04:05")
	if _, err := w.ap.ImportUsers([]map[string]any{
		{"Forenames": "New", "Surname": "Member", "Email": "new@example.com", "MarketingOptIn": true},
		{"Forenames": "Same", "Surname": "Both", "Email": "same@example.com", "MarketingOptIn": true, "DateUpdated": old},
		{"Forenames": "Newer", "Surname": "InAP", "Email": "differs@example.com", "MarketingOptIn": true},
	}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	if err := w.mc.Import(w.instance.MailchimpListID, []sbmc.ImportedMember{
		{EmailAddress: "same@example.com", MergeFields: map[string]any{"FNAME": "Same", "LNAME": "Both"}},
		{EmailAddress: "differs@example.com", MergeFields: map[string]any{"FNAME": "Older", "LNAME": "InMC"}, LastChanged: time.Now().Add(-72 * time.Hour)},
	}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	w.planAndApply(t)
	for _, email := range []string{"new@example.com", "same@example.com", "differs@example.com"} {
		t.Run(email, func(t *testing.T) {
			c, err := w.store.Contact(ctx, w.instance.ID, email)
			if err != nil {
				t.Fatalf("Contact(%s) error = %v", email, err)
			}
			if c.MarketingOptIn == nil || !*c.MarketingOptIn {
				t.Fatalf("contact %s remembers MarketingOptIn %v, want true", email, c.MarketingOptIn)
			}
			u := apmc.User{ID: c.UserID, Fields: map[string]string{"Email": email, "Forenames": "X", "Surname": "Y", apmc.FieldMarketingOptIn: "false"}}
			p, err := apmc.DecideToMailchimp(apmc.ToMailchimpInput{Instance: w.instance, User: u, Found: true, Contact: c, Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if !p.Unsubscribe {
				t.Errorf("the User's opt-out after the first sync: plan %s without unsubscribe, want the member unsubscribed", p.Action)
			}
		})
	}
}

// A batch subscribe takes no marketing permissions: a first sync writes a
// member with mapped permissions on its own, so they reach Mailchimp.
func TestFirstSyncWritesMarketingPermissions(t *testing.T) {
	w := newWorld(t)
	perm, err := w.mc.AddMarketingPermission(w.instance.MailchimpListID, "Email")
	if err != nil {
		t.Fatal(err)
	}
	w.instance.Mappings = append(w.instance.Mappings, apmc.FieldMapping{MergeTag: apmc.PermissionPrefix + perm, Field: "MarketingOptIn"})
	w.svc.Instances = staticInstances{w.instance}
	ctx := context.Background()
	if _, err := w.ap.ImportUsers([]map[string]any{
		{"Forenames": "Yes", "Surname": "Please", "Email": "yes@example.com", "MarketingOptIn": true},
		{"Forenames": "No", "Surname": "Thanks", "Email": "no@example.com"},
	}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	res, err := w.svc.Apply(ctx, w.instance.ID, plan.ID, nil)
	if err != nil || res.Written != 2 || res.Failed != 0 {
		t.Fatalf("Apply() = written %d failed %d, %v; want 2 written", res.Written, res.Failed, err)
	}
	for email, want := range map[string]bool{"yes@example.com": true, "no@example.com": false} {
		m, ok := w.mc.Member(w.instance.MailchimpListID, email)
		if got, set := m.MarketingPermissions[perm]; !ok || !set || got != want {
			t.Errorf("member %s permission %s = %v (set %v), want %v", email, perm, got, set, want)
		}
	}
}
