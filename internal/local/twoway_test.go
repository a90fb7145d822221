package local_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
)

func TestMailchimpSubscribeCreatesUserInDefaultAccount(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "new.person@example.com"

	if err := s.Mailchimp.SubscribeInUI(list, email, map[string]any{"FNAME": "New", "LNAME": "Person", "PHONE": "0161 496 0000"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	e := waitExecution(t, s, "the subscribe execution", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit}, func(e apmc.Execution) bool { return e.Event == apmc.EventSubscribe })
	if e.Status != apmc.StatusSucceeded || !e.Changed {
		t.Fatalf("subscribe execution = %s changed=%v %q, want succeeded and changed", e.Status, e.Changed, e.Error)
	}
	settle(t, s)
	users := usersWithEmail(s, email)
	if len(users) != 1 {
		t.Fatalf("accessplanit users with %s = %d, want 1", email, len(users))
	}
	u := users[0]
	for field, want := range map[string]string{"Forenames": "New", "Surname": "Person", "Phone": "0161 496 0000", "Email": email} {
		if got, _ := u[field].(string); got != want {
			t.Errorf("created user %s = %q, want %q", field, got, want)
		}
	}
	if got := strings.TrimSpace(toString(u["MainCompanyID"])); got != s.Info.Sandbox.Accessplanit.DefaultCompanyID {
		t.Errorf("created user MainCompanyID = %q, want the default account %q", got, s.Info.Sandbox.Accessplanit.DefaultCompanyID)
	}
	// The platform's webhook for the service's own create is an echo.
	echo := waitExecution(t, s, "the echo of the create", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp}, func(apmc.Execution) bool { return true })
	if echo.Status != apmc.StatusSuppressed {
		t.Errorf("echo of the create = %s %q %q, want suppressed", echo.Status, echo.Reason, echo.Error)
	}

	// A profile change updates only the field that differs, on the linked User.
	id := toString(u["ID"])
	if err := s.Accessplanit.EditUserInUI(id, map[string]any{"JobTitle": "Trainer"}); err != nil {
		t.Fatalf("EditUserInUI() error = %v", err)
	}
	settle(t, s)
	apWrites := s.Accessplanit.Stats().Writes
	if err := s.Mailchimp.EditMemberInUI(list, email, map[string]any{"LNAME": "Person-Smith"}, "user"); err != nil {
		t.Fatalf("EditMemberInUI() error = %v", err)
	}
	settle(t, s)
	after := apUser(t, s, id)
	if got := toString(after["Surname"]); got != "Person-Smith" {
		t.Errorf("Surname after profile change = %q, want Person-Smith", got)
	}
	if got := toString(after["JobTitle"]); got != "Trainer" {
		t.Errorf("JobTitle after profile change = %q, want Trainer (unmapped fields are kept)", got)
	}
	if got := s.Accessplanit.Stats().Writes - apWrites; got != 1 {
		t.Errorf("accessplanit writes for one profile change = %d, want 1", got)
	}
	if n := len(usersWithEmail(s, email)); n != 1 {
		t.Errorf("accessplanit users with %s after the profile change = %d, want 1", email, n)
	}
	prof := waitExecution(t, s, "the profile execution", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit}, func(e apmc.Execution) bool { return e.Event == apmc.EventProfile })
	if prof.Status != apmc.StatusSucceeded || !prof.Changed {
		t.Errorf("profile execution = %s changed=%v %q", prof.Status, prof.Changed, prof.Error)
	}
}

func TestMailchimpFindsExistingUserByEmail(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	// A User that was there before the service: no webhook, no contact state.
	id, err := s.Accessplanit.AddUser(map[string]any{"Forenames": "Old", "Surname": "Timer", "Email": "Old.Timer@Example.com", "Phone": "1", "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatalf("AddUser() error = %v", err)
	}
	if err := s.Mailchimp.SubscribeInUI(list, "old.timer@example.com", map[string]any{"FNAME": "Old", "LNAME": "Timer", "PHONE": "2"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	settle(t, s)
	if n := len(s.Accessplanit.Users()); n != 1 {
		t.Fatalf("accessplanit users = %d, want 1 (the existing User is updated, not duplicated)", n)
	}
	u := apUser(t, s, id)
	if got := toString(u["Phone"]); got != "2" {
		t.Errorf("Phone = %q, want 2", got)
	}
	e := waitExecution(t, s, "the subscribe execution", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit}, func(e apmc.Execution) bool { return e.Event == apmc.EventSubscribe })
	if e.Status != apmc.StatusSucceeded || !e.Changed {
		t.Errorf("subscribe execution = %s changed=%v %q", e.Status, e.Changed, e.Error)
	}
}

func TestMailchimpWithoutNamesFailsPermanently(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		merges  map[string]any
		missing string
	}{
		{"no last name", map[string]any{"FNAME": "Only"}, "LNAME"},
		{"no first name", map[string]any{"LNAME": "Surname"}, "FNAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startStackWith(t, nil)
			email := strings.ReplaceAll(tt.name, " ", ".") + "@example.com"
			if err := s.Mailchimp.SubscribeInUI(s.Info.Sandbox.Mailchimp.ListID, email, tt.merges); err != nil {
				t.Fatalf("SubscribeInUI() error = %v", err)
			}
			e := waitExecution(t, s, "the failed execution", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit}, func(apmc.Execution) bool { return true })
			settle(t, s)
			if e.Status != apmc.StatusFailed || e.Retryable || !strings.Contains(e.Error, "mandatory value missing: "+tt.missing) {
				t.Errorf("execution = %s retryable=%v %q, want a permanent failure naming %s", e.Status, e.Retryable, e.Error, tt.missing)
			}
			if n := len(executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit})); n != 1 {
				t.Errorf("executions = %d, want 1 (a permanent failure is not retried)", n)
			}
			if n := len(s.Accessplanit.Users()); n != 0 {
				t.Errorf("accessplanit users = %d, want 0", n)
			}
		})
	}
}

// followEmailChanges lets the demo instance's Users follow email changes
// confirmed by Mailchimp (mailchimp_email_changes: follow).
func followEmailChanges(t *testing.T, s *local.Stack) {
	t.Helper()
	ctx := context.Background()
	in, err := s.Instances.Instance(ctx, s.Info.InstanceID)
	if err != nil {
		t.Fatalf("Instance() error = %v", err)
	}
	in.MailchimpEmailChanges = apmc.EmailChangesFollow
	if err := s.Instances.Update(ctx, in); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	s.Cache.Forget(in.ID)
}

// setDirection changes the demo instance's direction and makes the stack
// see it at once.
func setDirection(t *testing.T, s *local.Stack, d apmc.Direction) {
	t.Helper()
	ctx := context.Background()
	in, err := s.Instances.Instance(ctx, s.Info.InstanceID)
	if err != nil {
		t.Fatalf("Instance() error = %v", err)
	}
	in.Direction = d
	if err := s.Instances.Update(ctx, in); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	s.Cache.Forget(in.ID)
}

func TestDirections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		direction      apmc.Direction
		toMailchimp    bool // an accessplanit change reaches Mailchimp
		toAccessplanit bool
	}{
		{"to Mailchimp only", apmc.DirectionToMailchimp, true, false},
		{"to accessplanit only", apmc.DirectionToAccessplanit, false, true},
		{"both", apmc.DirectionBoth, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startStackWith(t, nil)
			setDirection(t, s, tt.direction)
			list := s.Info.Sandbox.Mailchimp.ListID

			if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "From", "Surname": "Accessplanit", "Email": "from.ap@example.com", "MarketingOptIn": true, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
				t.Fatalf("CreateUserInUI() error = %v", err)
			}
			if err := s.Mailchimp.SubscribeInUI(list, "from.mc@example.com", map[string]any{"FNAME": "From", "LNAME": "Mailchimp"}); err != nil {
				t.Fatalf("SubscribeInUI() error = %v", err)
			}
			settle(t, s)

			check := func(flow apmc.Flow, email string, want bool, landed bool) {
				t.Helper()
				list := executions(t, s, apmc.ExecutionQuery{Flow: flow, Contact: email})
				if len(list) == 0 {
					t.Fatalf("no %s execution for %s", flow, email)
				}
				first := list[len(list)-1]
				if want {
					if first.Status != apmc.StatusSucceeded || !landed {
						t.Errorf("%s for %s = %s %q, landed=%v; want succeeded and written", flow, email, first.Status, first.Error, landed)
					}
					return
				}
				if first.Status != apmc.StatusSkipped || !strings.Contains(first.Reason, string(tt.direction)) || !strings.Contains(first.Reason, "ignored") {
					t.Errorf("%s for %s = %s reason %q, want skipped naming the direction", flow, email, first.Status, first.Reason)
				}
				if landed {
					t.Errorf("%s for %s wrote to the other side, want nothing written", flow, email)
				}
			}
			_, inMailchimp := s.Mailchimp.Member(list, "from.ap@example.com")
			check(apmc.FlowToMailchimp, "from.ap@example.com", tt.toMailchimp, inMailchimp)
			check(apmc.FlowToAccessplanit, "from.mc@example.com", tt.toAccessplanit, len(usersWithEmail(s, "from.mc@example.com")) == 1)
		})
	}
}

func TestOneEditWritesOnceAndNeverBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(t *testing.T, s *local.Stack, userID string)
		// echoFlow is the flow of the webhook the service's own write causes.
		echoFlow apmc.Flow
	}{
		{"edit in accessplanit", func(t *testing.T, s *local.Stack, id string) {
			if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Forenames": "Edited"}); err != nil {
				t.Fatalf("EditUserInUI() error = %v", err)
			}
		}, apmc.FlowToAccessplanit},
		{"edit in Mailchimp", func(t *testing.T, s *local.Stack, _ string) {
			if err := s.Mailchimp.EditMemberInUI(s.Info.Sandbox.Mailchimp.ListID, "loop@example.com", map[string]any{"FNAME": "Edited"}, "admin"); err != nil {
				t.Fatalf("EditMemberInUI() error = %v", err)
			}
		}, apmc.FlowToMailchimp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startStackWith(t, nil)
			list := s.Info.Sandbox.Mailchimp.ListID
			id, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Loop", "Surname": "Test", "Email": "loop@example.com", "MarketingOptIn": true, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
			if err != nil {
				t.Fatalf("CreateUserInUI() error = %v", err)
			}
			waitExecution(t, s, "the echo of the first sync", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit}, func(e apmc.Execution) bool { return e.Status == apmc.StatusSuppressed })
			settle(t, s)
			before := len(executions(t, s, apmc.ExecutionQuery{}))
			mcWrites, apWrites := s.Mailchimp.Stats().MemberWrites, s.Accessplanit.Stats().Writes

			tt.edit(t, s, id)
			waitExecution(t, s, "the suppressed echo", apmc.ExecutionQuery{Flow: tt.echoFlow}, func(e apmc.Execution) bool {
				return e.Status == apmc.StatusSuppressed && e.Event != apmc.EventCreated && e.Event != apmc.EventSubscribe
			})
			settle(t, s)

			mc, ap := s.Mailchimp.Stats().MemberWrites-mcWrites, s.Accessplanit.Stats().Writes-apWrites
			if tt.echoFlow == apmc.FlowToAccessplanit {
				ap-- // the UI edit itself
			}
			total := mc + ap
			if total != 1 {
				t.Errorf("writes after one edit: Mailchimp %d, accessplanit %d (UI edit excluded); want exactly 1 in all", mc, ap)
			}
			if tt.echoFlow == apmc.FlowToAccessplanit && mc != 1 || tt.echoFlow == apmc.FlowToMailchimp && ap != 1 {
				t.Errorf("writes after one edit: Mailchimp %d, accessplanit %d; want the one write on the other side", mc, ap)
			}
			if m, _ := s.Mailchimp.Member(list, "loop@example.com"); toString(m.MergeFields["FNAME"]) != "Edited" {
				t.Errorf("Mailchimp FNAME = %v, want Edited", m.MergeFields["FNAME"])
			}
			if got := toString(apUser(t, s, id)["Forenames"]); got != "Edited" {
				t.Errorf("accessplanit Forenames = %q, want Edited", got)
			}
			if n := len(executions(t, s, apmc.ExecutionQuery{})) - before; n != 2 {
				t.Errorf("executions after one edit = %d, want 2 (the edit and its suppressed echo)", n)
			}
		})
	}
}

// toString renders a simulator value as text.
func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}
