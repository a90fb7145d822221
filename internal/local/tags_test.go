package local_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
)

// A User's tags reach Mailchimp; a tag removed in accessplanit goes
// inactive; a tag a marketer added by hand survives every sync, also one
// whose name the User later carries and drops again, whether the marketer
// added it before the service applied it or after the service took its own
// off.
func TestTagsEndToEnd(t *testing.T) {
	s := startStackWith(t, nil)
	ap, mc, list := s.Accessplanit, s.Mailchimp, s.Info.Sandbox.Mailchimp.ListID
	const email = "grace@example.com"
	tags := func() []string {
		m, _ := mc.Member(list, email)
		return m.Tags
	}
	toMailchimp := apmc.ExecutionQuery{Contact: email, Flow: apmc.FlowToMailchimp}
	step := 0
	edit := func(id string, fields map[string]any) apmc.Execution {
		t.Helper()
		step++
		if err := ap.EditUserInUI(id, fields); err != nil {
			t.Fatalf("EditUserInUI(%v) error = %v", fields, err)
		}
		n := step
		var got apmc.Execution
		waitFor(t, fmt.Sprintf("execution %d of %s", n, email), func() bool {
			list := executions(t, s, toMailchimp)
			if len(list) > n {
				got = list[0]
				return true
			}
			return false
		})
		settle(t, s)
		return got
	}

	id, err := ap.CreateUserInUI(map[string]any{"Forenames": "Grace", "Surname": "Hopper", "Email": email, "Tags": "Gold, Silver", "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	waitFor(t, "the member's tags", func() bool { return slices.Equal(tags(), []string{"Gold", "Silver"}) })
	settle(t, s)

	if err := mc.TagInUI(list, email, "VIP", false); err != nil {
		t.Fatalf("TagInUI() error = %v", err)
	}
	time.Sleep(marketerGap)
	tagWrites, memberWrites := mc.Stats().TagWrites, mc.Stats().MemberWrites

	// Silver removed in accessplanit: set inactive, VIP kept; only the
	// tags differ, so one Mailchimp call.
	e := edit(id, map[string]any{"Tags": "Gold"})
	if e.Status != apmc.StatusSucceeded || !e.Changed {
		t.Fatalf("tag removal execution = %s changed %v (%s)", e.Status, e.Changed, e.Error)
	}
	if got := tags(); !slices.Equal(got, []string{"Gold", "VIP"}) {
		t.Errorf("after Silver was removed: tags %q, want [Gold VIP]", got)
	}
	if st := mc.Stats(); st.TagWrites-tagWrites != 1 || st.MemberWrites != memberWrites {
		t.Errorf("a tags-only change made %d tag writes and %d member writes, want 1 and 0", st.TagWrites-tagWrites, st.MemberWrites-memberWrites)
	}

	// A field change: the member is written, the tags are left alone.
	edit(id, map[string]any{"Forenames": "Grace B."})
	if got := tags(); !slices.Equal(got, []string{"Gold", "VIP"}) {
		t.Errorf("after a field change: tags %q, want [Gold VIP]", got)
	}

	// requests counts the Mailchimp API requests one edit makes.
	requests := func(fields map[string]any) (gets, posts int) {
		t.Helper()
		before := mc.Stats().Requests
		edit(id, fields)
		after := mc.Stats().Requests
		return after["GET"] - before["GET"], after["POST"] - before["POST"]
	}

	// The User gets VIP too (the marketer added it BEFORE the service):
	// added blind, one call; then loses it: the member's tags are read,
	// VIP is older than the service's write, so the marketer's VIP stays.
	if gets, posts := requests(map[string]any{"Tags": "Gold, VIP"}); gets != 0 || posts != 1 {
		t.Errorf("a tag added: %d GETs and %d POSTs, want 0 and 1", gets, posts)
	}
	if gets, posts := requests(map[string]any{"Tags": ""}); gets != 1 || posts != 1 {
		t.Errorf("tags removed: %d GETs and %d POSTs, want 1 (the tags and their dates) and 1", gets, posts)
	}
	if got := tags(); !slices.Equal(got, []string{"VIP"}) {
		t.Errorf("after the User's tags were cleared: tags %q, want the marketer's [VIP]", got)
	}

	// The service applies Silver and takes it off; a marketer adds Silver
	// AFTER that; the User gets Silver again and loses it again: the
	// marketer's Silver stays.
	edit(id, map[string]any{"Tags": "Silver"})
	edit(id, map[string]any{"Tags": ""})
	if err := mc.TagInUI(list, email, "Silver", false); err != nil {
		t.Fatalf("TagInUI() error = %v", err)
	}
	time.Sleep(marketerGap)
	edit(id, map[string]any{"Tags": "Silver"})
	edit(id, map[string]any{"Tags": ""})
	if got := tags(); !slices.Equal(got, []string{"VIP", "Silver"}) {
		t.Errorf("after the User lost Silver again: tags %q, want the marketer's [VIP Silver]", got)
	}

	// Tag writes fire no webhook: Mailchimp sent only the member writes'.
	for _, e := range executions(t, s, apmc.ExecutionQuery{Contact: email, Flow: apmc.FlowToAccessplanit}) {
		if e.Status != apmc.StatusSuppressed {
			t.Errorf("Mailchimp execution %s: %s (%s), want every one suppressed as an echo", e.ID, e.Status, e.Reason)
		}
	}
}

// marketerGap parts a marketer's tag from the service's write of the same
// name: date_added has whole seconds and the service takes its write to
// have happened up to a second before the answer's Date, so a marketer's
// tag added less than about two seconds before the service's write counts
// as the service's.
const marketerGap = 2100 * time.Millisecond

// A booking adds "Booked: <course>" and NEXTCOURSE/NEXTDATE; cancelling it
// sets the tag inactive and clears them; attending adds "Attended: …" and
// LASTCOURSE/LASTDATE.
func TestTrainingActivityEndToEnd(t *testing.T) {
	s := startStackWith(t, nil)
	ap, mc, list := s.Accessplanit, s.Mailchimp, s.Info.Sandbox.Mailchimp.ListID
	const email = "ada@example.com"
	id, err := ap.CreateUserInUI(map[string]any{"Forenames": "Ada", "Surname": "Lovelace", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	waitExecutions(t, s, email, apmc.FlowToMailchimp, 1)
	settle(t, s)

	next := time.Now().UTC().AddDate(0, 1, 0).Format("2006-01-02")
	booked := 0
	book := func(b sbap.Booking) apmc.Execution {
		t.Helper()
		booked++
		delegate, err := ap.BookInUI(b)
		if err != nil {
			t.Fatalf("BookInUI(%+v) error = %v", b, err)
		}
		n := booked
		e := waitExecution(t, s, fmt.Sprintf("booking %d", n), apmc.ExecutionQuery{Contact: email, Flow: apmc.FlowToMailchimp}, func(e apmc.Execution) bool {
			return e.Event == apmc.EventBooking && e.Change != nil && e.Change.DelegateID == delegate && len(executionsOf(t, s, email, apmc.EventBooking)) >= n
		})
		settle(t, s)
		if e.Status != apmc.StatusSucceeded {
			t.Fatalf("booking execution = %s (%s %s)", e.Status, e.Reason, e.Error)
		}
		return e
	}
	member := func() (map[string]any, []string) {
		m, _ := mc.Member(list, email)
		return m.MergeFields, m.Tags
	}

	e := book(sbap.Booking{UserID: id, Course: "First Aid", StartDate: next, Status: "Booked"})
	merges, tags := member()
	if !slices.Equal(tags, []string{"Booked: First Aid"}) || merges["NEXTCOURSE"] != "First Aid" || merges["NEXTDATE"] != next {
		t.Errorf("after booking: tags %q, NEXTCOURSE %v, NEXTDATE %v; want [Booked: First Aid], First Aid, %s", tags, merges["NEXTCOURSE"], merges["NEXTDATE"], next)
	}
	if stepOf(e, "read_training_activity") == nil || stepOf(e, "update_tags") == nil {
		t.Errorf("booking execution steps = %+v, want read_training_activity and update_tags", e.Steps)
	}

	book(sbap.Booking{UserID: id, Course: "First Aid", StartDate: next, Status: "Cancelled"})
	merges, tags = member()
	if len(tags) != 0 || text(merges["NEXTCOURSE"]) != "" || text(merges["NEXTDATE"]) != "" {
		t.Errorf("after cancelling: tags %q, NEXTCOURSE %v, NEXTDATE %v; want none", tags, merges["NEXTCOURSE"], merges["NEXTDATE"])
	}

	last := time.Now().UTC().AddDate(0, 0, -14).Format("2006-01-02")
	book(sbap.Booking{UserID: id, Course: "Fire Safety", StartDate: last, Status: "Attended"})
	merges, tags = member()
	if !slices.Equal(tags, []string{"Attended: Fire Safety"}) || merges["LASTCOURSE"] != "Fire Safety" || merges["LASTDATE"] != last {
		t.Errorf("after attending: tags %q, LASTCOURSE %v, LASTDATE %v; want [Attended: Fire Safety], Fire Safety, %s", tags, merges["LASTCOURSE"], merges["LASTDATE"], last)
	}
	// The member writes' webhooks from Mailchimp write nothing back (a
	// booking is queued by User, so an echo may be read back rather than
	// recognised unread, but it never changes accessplanit).
	for _, e := range executions(t, s, apmc.ExecutionQuery{Contact: email, Flow: apmc.FlowToAccessplanit}) {
		if e.Changed {
			t.Errorf("Mailchimp execution %s: %s (%s %s) changed accessplanit, want nothing written back", e.ID, e.Status, e.Reason, e.Error)
		}
	}
}

// executionsOf lists the contact's accessplanit executions of one event.
func executionsOf(t *testing.T, s *local.Stack, email string, ev apmc.Event) []apmc.Execution {
	t.Helper()
	var out []apmc.Execution
	for _, e := range executions(t, s, apmc.ExecutionQuery{Contact: email, Flow: apmc.FlowToMailchimp}) {
		if e.Event == ev {
			out = append(out, e)
		}
	}
	return out
}

// stepOf returns the execution's step with that name, or nil.
func stepOf(e apmc.Execution, name string) *apmc.Step {
	for i := range e.Steps {
		if e.Steps[i].Name == name {
			return &e.Steps[i]
		}
	}
	return nil
}

// text is a simulated merge value as text: "" for none.
func text(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
