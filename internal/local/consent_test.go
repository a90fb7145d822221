package local_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// configure changes the demo instance as `apmc instance configure` would.
func configure(t *testing.T, s *local.Stack, edit func(*apmc.Instance)) {
	t.Helper()
	ctx := context.Background()
	in, err := s.Instances.Instance(ctx, s.Info.InstanceID)
	if err != nil {
		t.Fatalf("Instance() error = %v", err)
	}
	edit(&in)
	if err := in.Validate(); err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	if err := s.Instances.Update(ctx, in); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	s.Cache.Forget(in.ID)
}

// createUser creates a User in the accessplanit simulator's UI and waits for
// its first execution towards Mailchimp; it returns the User's id.
func createUser(t *testing.T, s *local.Stack, email string, fields map[string]any) string {
	t.Helper()
	user := map[string]any{"Forenames": "Ada", "Surname": "Lovelace", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}
	maps.Copy(user, fields)
	id, err := s.Accessplanit.CreateUserInUI(user)
	if err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	waitExecutions(t, s, email, apmc.FlowToMailchimp, 1)
	settle(t, s)
	return id
}

// editUser edits a User in the simulator's UI and waits for the n-th
// execution towards Mailchimp of its contact, which it returns.
func editUser(t *testing.T, s *local.Stack, id, email string, n int, fields map[string]any) apmc.Execution {
	t.Helper()
	if err := s.Accessplanit.EditUserInUI(id, fields); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	e := waitExecutions(t, s, email, apmc.FlowToMailchimp, n)[0]
	settle(t, s)
	return e
}

func TestDemoInstanceSyncsConsent(t *testing.T) {
	s := startStack(t)
	in, err := s.Instances.Display(context.Background(), s.Info.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	if c := in.Consent; c == nil || *c != (apmc.Consent{}) {
		t.Errorf("demo instance consent = %+v, want switched on with the defaults", c)
	}
	list := s.Info.Sandbox.Mailchimp.ListID
	createUser(t, s, "in@example.com", map[string]any{"MarketingOptIn": true})
	createUser(t, s, "out@example.com", nil)
	for email, want := range map[string]string{"in@example.com": "subscribed", "out@example.com": "transactional"} {
		if m, _ := s.Mailchimp.Member(list, email); m.Status != want {
			t.Errorf("new member %s status = %q, want %q", email, m.Status, want)
		}
	}
}

func TestAccessplanitOptOuts(t *testing.T) {
	for _, tt := range []struct {
		name       string
		optouts    bool
		wantStatus string
		wantWrites int
	}{
		{"off-changes-nothing", false, "subscribed", 0},
		{"on-unsubscribes-never-resubscribes", true, "unsubscribed", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startStackWith(t, nil)
			configure(t, s, func(in *apmc.Instance) { in.Consent = &apmc.Consent{OptoutsToMailchimp: tt.optouts} })
			list := s.Info.Sandbox.Mailchimp.ListID
			const email = "optout@example.com"
			id := createUser(t, s, email, map[string]any{"MarketingOptIn": true})
			if m, _ := s.Mailchimp.Member(list, email); m.Status != "subscribed" {
				t.Fatalf("opted-in User's member status = %q, want subscribed", m.Status)
			}
			writes := s.Mailchimp.Stats().MemberWrites
			e := editUser(t, s, id, email, 2, map[string]any{"MarketingOptIn": false})
			if e.Status != apmc.StatusSucceeded {
				t.Errorf("opt-out execution = %s (%s %s), want succeeded", e.Status, e.Reason, e.Error)
			}
			if got := s.Mailchimp.Stats().MemberWrites - writes; got != tt.wantWrites {
				t.Errorf("Mailchimp writes for the opt-out = %d, want %d", got, tt.wantWrites)
			}
			if m, _ := s.Mailchimp.Member(list, email); m.Status != tt.wantStatus {
				t.Errorf("member status after the opt-out = %q, want %q", m.Status, tt.wantStatus)
			}
			// Opting in again, and any later edit, subscribes nobody.
			editUser(t, s, id, email, 3, map[string]any{"MarketingOptIn": true})
			editUser(t, s, id, email, 4, map[string]any{"Forenames": "Augusta"})
			if m, _ := s.Mailchimp.Member(list, email); m.Status != tt.wantStatus || m.MergeFields["FNAME"] != "Augusta" {
				t.Errorf("member after opting in again and an edit = %q, FNAME %v; want %q and Augusta", m.Status, m.MergeFields["FNAME"], tt.wantStatus)
			}
		})
	}
}

func TestMailchimpUnsubscribeClearsMarketingOptIn(t *testing.T) {
	s := startStack(t)
	configure(t, s, func(in *apmc.Instance) { in.Consent = &apmc.Consent{OptoutsToAccessplanit: true} })
	const email = "leaver@example.com"
	id := createUser(t, s, email, map[string]any{"MarketingOptIn": true})
	if err := s.Mailchimp.UnsubscribeInUI(s.Info.Sandbox.Mailchimp.ListID, email, "unsub"); err != nil {
		t.Fatal(err)
	}
	e := waitExecution(t, s, "the unsubscribe's execution", apmc.ExecutionQuery{Contact: email, Flow: apmc.FlowToAccessplanit}, func(e apmc.Execution) bool {
		return e.Event == apmc.EventUnsubscribe
	})
	if e.Status != apmc.StatusSucceeded || !e.Changed {
		t.Errorf("unsubscribe execution = %s changed %v (%s %s), want succeeded with a change", e.Status, e.Changed, e.Reason, e.Error)
	}
	settle(t, s)
	if u := apUser(t, s, id); u["MarketingOptIn"] != false {
		t.Errorf("User MarketingOptIn after the unsubscribe = %v, want false", u["MarketingOptIn"])
	}
	if m, _ := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email); m.Status != "unsubscribed" {
		t.Errorf("member status = %q, want it left unsubscribed", m.Status)
	}
}

func TestComplianceStateMemberIsBlocked(t *testing.T) {
	s := startStack(t)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "held@example.com"
	id := createUser(t, s, email, map[string]any{"MarketingOptIn": true})
	if err := s.Mailchimp.SetComplianceState(list, email, true); err != nil {
		t.Fatal(err)
	}
	e := editUser(t, s, id, email, 2, map[string]any{"Forenames": "Augusta"})
	if e.Status != apmc.StatusBlocked || e.Retryable || e.Reason == "" || e.Attempt != 1 {
		t.Fatalf("change of a compliance-state member = %s retryable %v attempt %d reason %q error %q; want blocked with Mailchimp's reason",
			e.Status, e.Retryable, e.Attempt, e.Reason, e.Error)
	}
	if got := executions(t, s, apmc.ExecutionQuery{Contact: email, Flow: apmc.FlowToMailchimp}); len(got) != 2 {
		t.Errorf("executions towards Mailchimp = %d, want 2 (the create and one blocked change, no retry)", len(got))
	}
	if blocked := executions(t, s, apmc.ExecutionQuery{Status: apmc.StatusBlocked}); len(blocked) != 1 || blocked[0].ID != e.ID {
		t.Errorf("executions filtered by status blocked = %d, want the one", len(blocked))
	}
	if !queueEmpty(t, s, s.Queues.DeadLetterURL) {
		t.Errorf("the dead-letter queue holds a message; a blocked contact is never dead-lettered")
	}
	sum, err := s.Ops.Summary(context.Background(), s.Info.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Last24h[apmc.StatusBlocked] != 1 || sum.Last24h[apmc.StatusFailed] != 0 {
		t.Errorf("summary last 24 h = %v, want 1 blocked and none failed", sum.Last24h)
	}
}

func TestGroupMapping(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	list := s.Info.Sandbox.Mailchimp.ListID
	depts, _ := s.Mailchimp.AddInterestCategory(list, "Departments", "checkboxes")
	sales, _ := s.Mailchimp.AddInterest(list, depts, "Sales")
	marketing, _ := s.Mailchimp.AddInterest(list, depts, "Marketing")
	regions, _ := s.Mailchimp.AddInterestCategory(list, "Regions", "radio")
	north, _ := s.Mailchimp.AddInterest(list, regions, "North")
	mc, err := mailchimp.New(s.Info.Sandbox.Mailchimp.APIKey, mailchimp.WithBaseURL(s.Info.Sandbox.Mailchimp.BaseURL))
	if err != nil {
		t.Fatal(err)
	}
	cats, err := mc.InterestCategories(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	group, err := apmc.ResolveGroup(apmc.FieldMapping{MergeTag: apmc.GroupPrefix + "Departments", Field: "JobTitle"}, cats)
	if err != nil {
		t.Fatal(err)
	}
	configure(t, s, func(in *apmc.Instance) { in.Mappings = append(in.Mappings, group) })

	const email = "grouped@example.com"
	id := createUser(t, s, email, map[string]any{"MarketingOptIn": true})
	// A marketer puts the contact in a region by hand.
	if _, err := mc.UpsertMember(ctx, list, apmc.Member{Email: email, Interests: map[string]bool{north: true}}, "subscribed"); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	interests := func() map[string]bool {
		m, _ := s.Mailchimp.Member(list, email)
		return map[string]bool{sales: m.Interests[sales], marketing: m.Interests[marketing], north: m.Interests[north]}
	}
	n := len(executions(t, s, apmc.ExecutionQuery{Contact: email, Flow: apmc.FlowToMailchimp}))
	if e := editUser(t, s, id, email, n+1, map[string]any{"JobTitle": "Sales"}); e.Status != apmc.StatusSucceeded {
		t.Fatalf("JobTitle Sales: execution %s (%s)", e.Status, e.Error)
	}
	if got, want := interests(), map[string]bool{sales: true, marketing: false, north: true}; !maps.Equal(got, want) {
		t.Errorf("interests after Sales = %v, want %v (the region left alone)", got, want)
	}
	if e := editUser(t, s, id, email, n+2, map[string]any{"JobTitle": "marketing"}); e.Status != apmc.StatusSucceeded {
		t.Fatalf("JobTitle marketing: execution %s (%s)", e.Status, e.Error)
	} else if st := stepOf(e, "upsert_member"); st == nil || !strings.EqualFold(fmt.Sprint(st.Output["groups"]), "map[group:Departments:marketing]") {
		t.Errorf("upsert_member step = %+v, want the group's selection recorded (groups group:Departments=marketing)", st)
	}
	if got, want := interests(), map[string]bool{sales: false, marketing: true, north: true}; !maps.Equal(got, want) {
		t.Errorf("interests after marketing = %v, want %v", got, want)
	}
	// A value naming no interest leaves the group alone, says so, and
	// the rest of the contact still syncs.
	e := editUser(t, s, id, email, n+3, map[string]any{"JobTitle": "Legal", "Forenames": "Grace"})
	warned := slices.ContainsFunc(e.Logs, func(l apmc.LogLine) bool {
		return l.Level == "warn" && strings.Contains(l.Message, `"Legal" names no interest`)
	})
	if e.Status != apmc.StatusSucceeded || !warned {
		t.Errorf("JobTitle Legal (no such interest): execution %s (%s), warned %v; want succeeded with a warning naming the value", e.Status, e.Error, warned)
	}
	if m, _ := s.Mailchimp.Member(list, email); m.MergeFields["FNAME"] != "Grace" {
		t.Errorf("FNAME = %q after an edit with an unknown interest, want Grace: the rest of the contact syncs", m.MergeFields["FNAME"])
	}
	if got, want := interests(), map[string]bool{sales: false, marketing: true, north: true}; !maps.Equal(got, want) {
		t.Errorf("interests after Legal = %v, want them unchanged %v", got, want)
	}
}

func TestMailchimpStatusField(t *testing.T) {
	s := startStack(t)
	configure(t, s, func(in *apmc.Instance) { in.MailchimpStatusField = "CF_MailchimpStatus" })
	list := s.Info.Sandbox.Mailchimp.ListID

	const held = "held.status@example.com"
	id := createUser(t, s, held, map[string]any{"MarketingOptIn": true})
	if err := s.Mailchimp.SetComplianceState(list, held, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Forenames": "Augusta"}); err != nil {
		t.Fatal(err)
	}
	waitExecution(t, s, "the blocked execution", apmc.ExecutionQuery{Contact: held, Status: apmc.StatusBlocked}, func(apmc.Execution) bool { return true })
	settle(t, s)
	if u := apUser(t, s, id); u["CF_MailchimpStatus"] != "blocked" {
		t.Errorf("CF_MailchimpStatus of the blocked User = %v, want blocked", u["CF_MailchimpStatus"])
	}
	if n := len(executions(t, s, apmc.ExecutionQuery{Contact: held, Status: apmc.StatusBlocked})); n != 1 {
		t.Errorf("blocked executions = %d, want 1 (the status written back is an echo)", n)
	}

	const leaver = "leaver.status@example.com"
	leaverID := createUser(t, s, leaver, map[string]any{"MarketingOptIn": true})
	if err := s.Mailchimp.UnsubscribeInUI(list, leaver, "unsub"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unsubscribe to reach CF_MailchimpStatus", func() bool { return apUser(t, s, leaverID)["CF_MailchimpStatus"] == "unsubscribed" })
	settle(t, s)
	if u := apUser(t, s, leaverID); u["MarketingOptIn"] != true {
		t.Errorf("MarketingOptIn = %v, want it kept (optouts_to_accessplanit is off)", u["MarketingOptIn"])
	}
}

// A live write to a member that is cleaned or archived takes (its fields
// change) but ends blocked with the reason; an unsubscribed member's fields
// are updated and it stays unsubscribed: that is its own choice, not a
// block.
func TestLiveWriteToCleanedOrArchivedMemberIsBlocked(t *testing.T) {
	s := startStack(t)
	list := s.Info.Sandbox.Mailchimp.ListID
	for _, tt := range []struct {
		email      string
		make       func(email string) error
		wantStatus apmc.Status
		wantReason string
		member     string
	}{
		{"bounced@example.com", func(e string) error { return s.Mailchimp.Clean(list, e, "hard") }, apmc.StatusBlocked, "cleaned", "cleaned"},
		{"archived@example.com", func(e string) error { return s.Mailchimp.UnsubscribeInUI(list, e, "delete") }, apmc.StatusBlocked, "archived", "archived"},
		{"left@example.com", func(e string) error { return s.Mailchimp.UnsubscribeInUI(list, e, "unsub") }, apmc.StatusSucceeded, "", "unsubscribed"},
	} {
		t.Run(tt.member, func(t *testing.T) {
			id := createUser(t, s, tt.email, map[string]any{"MarketingOptIn": true})
			if err := tt.make(tt.email); err != nil {
				t.Fatal(err)
			}
			settle(t, s)
			e := editUser(t, s, id, tt.email, 2, map[string]any{"Forenames": "Augusta"})
			if e.Status != tt.wantStatus || !strings.Contains(e.Reason, tt.wantReason) || e.Retryable {
				t.Errorf("change of a %s member = %s (reason %q, error %q), want %s with a reason naming %q", tt.member, e.Status, e.Reason, e.Error, tt.wantStatus, tt.wantReason)
			}
			m, _ := s.Mailchimp.Member(list, tt.email)
			if m.Status != tt.member || m.MergeFields["FNAME"] != "Augusta" {
				t.Errorf("member = %s FNAME %v, want %s with FNAME Augusta", m.Status, m.MergeFields["FNAME"], tt.member)
			}
		})
	}
}

// The Mailchimp status written to a User is set back to subscribed once a
// write shows the member subscribed again.
func TestMailchimpStatusFieldFollowsAResubscribe(t *testing.T) {
	s := startStack(t)
	configure(t, s, func(in *apmc.Instance) { in.MailchimpStatusField = "CF_MailchimpStatus" })
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "back.again@example.com"
	id := createUser(t, s, email, map[string]any{"MarketingOptIn": true})
	if u := apUser(t, s, id); u["CF_MailchimpStatus"] != nil && u["CF_MailchimpStatus"] != "" {
		t.Errorf("CF_MailchimpStatus of a new subscribed member = %v, want it left unwritten", u["CF_MailchimpStatus"])
	}
	if err := s.Mailchimp.UnsubscribeInUI(list, email, "unsub"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unsubscribe to reach CF_MailchimpStatus", func() bool { return apUser(t, s, id)["CF_MailchimpStatus"] == "unsubscribed" })
	settle(t, s)
	// The person signs up again: the subscribe delivery changes no mapped
	// field, and the User's status follows.
	if err := s.Mailchimp.SubscribeInUI(list, email, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the subscribe to reach CF_MailchimpStatus", func() bool { return apUser(t, s, id)["CF_MailchimpStatus"] == "subscribed" })
	settle(t, s)
	// A write to Mailchimp whose answer shows the member subscribed sets a
	// stale status back too.
	editUser(t, s, id, email, 2, map[string]any{"Forenames": "Augusta", "CF_MailchimpStatus": "unsubscribed"})
	if u := apUser(t, s, id); u["CF_MailchimpStatus"] != "subscribed" {
		t.Errorf("CF_MailchimpStatus after a write to the subscribed member = %v, want subscribed", u["CF_MailchimpStatus"])
	}
	noFailures(t, s)
}
