package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
)

// The instance page shows the tag and training activity settings, and a
// booking's execution page shows the tags and fields it wrote.
func TestPagesShowTagsAndBookings(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	ap := c.stack.Accessplanit
	const email = "ada@example.com"
	id, err := ap.CreateUserInUI(map[string]any{"Forenames": "Ada", "Surname": "Lovelace", "Email": email, "MainCompanyID": c.stack.Info.Sandbox.Accessplanit.DefaultCompanyID})
	if err != nil {
		t.Fatal(err)
	}
	applied := func(event apmc.Event) (apmc.Execution, bool) {
		list, _, err := c.stack.Executions.Executions(context.Background(), "demo", apmc.ExecutionQuery{Contact: email, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			if e.Event == event && e.Status == apmc.StatusSucceeded && e.Changed {
				return e, true
			}
		}
		return apmc.Execution{}, false
	}
	waitApplied := func(event apmc.Event) apmc.Execution {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if e, ok := applied(event); ok {
				return e
			}
			if time.Now().After(deadline) {
				list, _, _ := c.stack.Executions.Executions(context.Background(), "demo", apmc.ExecutionQuery{Limit: 50})
				for _, x := range list {
					t.Logf("%s %s %s %s changed=%v reason=%q error=%q", x.ID, x.Event, x.Contact, x.Status, x.Changed, x.Reason, x.Error)
				}
				t.Fatalf("no succeeded %s execution that changed the member after 15 s", event)
			}
		}
	}
	// The User is synced first, so the booking is what adds its tag (a
	// booking made before the User's own change is applied would be read
	// by that change, leaving the booking nothing to write).
	waitApplied(apmc.EventCreated)
	if _, err := ap.BookInUI(sbap.Booking{UserID: id, Course: "First Aid", StartDate: "2099-03-04"}); err != nil {
		t.Fatal(err)
	}
	e := waitApplied(apmc.EventBooking)
	_, body := c.do(t, http.MethodGet, "/console/instances/demo/executions/"+e.ID, nil, ck)
	for _, want := range []string{"read_training_activity", "update_tags", "tags_added", "Booked: First Aid", "NEXTCOURSE", "2099-03-04"} {
		if !strings.Contains(body, want) {
			t.Errorf("booking execution page lacks %q", want)
		}
	}
	_, body = c.do(t, http.MethodGet, "/console/instances/demo", nil, ck)
	for _, want := range []string{`id="tags-setting"`, "User tags synced", `id="activity-setting"`, "Booked: {course}"} {
		if !strings.Contains(body, want) {
			t.Errorf("instance page lacks %q", want)
		}
	}
}

// A contact's timeline says what each succeeded write changed — the
// booking behind it, tags added and removed, groups and fields — as
// `apmc timeline` does, with names escaped like any other text.
func TestTimelineShowsWhatWritesChanged(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	now := time.Now().UTC().Truncate(time.Second)
	const email = "grace@example.com"
	for i, steps := range [][]apmc.Step{
		{
			{Name: "read_training_activity", Status: "ok", Output: map[string]any{"trigger_delegate": "1001~7"}},
			{Name: "update_tags", Status: "ok", Output: map[string]any{"tags_added": []string{"Booked: Fire Safety", "<b>VIP</b>"}, "tags_removed": []string{"Booked: First Aid"}}},
			{Name: "upsert_member", Status: "ok", Output: map[string]any{"training_activity_fields": map[string]any{"NEXTCOURSE": "Fire Safety"}}},
		},
		{
			{Name: "upsert_member", Status: "ok", Output: map[string]any{"changed_fields": []string{"LNAME", "group:Departments"}, "groups": map[string]string{"group:Departments": "Sales, Support"}}},
		},
	} {
		at := now.Add(time.Duration(i) * time.Second)
		e := apmc.Execution{
			ID: apmc.NewExecutionID(at), InstanceID: "demo", ChangeID: fmt.Sprintf("c%d", i), Flow: apmc.FlowToMailchimp, Event: apmc.EventUpdated,
			Origin: apmc.OriginWebhook, Attempt: 1, Status: apmc.StatusSucceeded, Changed: true, Contact: email,
			StartedAt: at, FinishedAt: at, ExpiresAt: at.Add(24 * time.Hour), Steps: steps, Logs: []apmc.LogLine{},
		}
		if err := c.stack.Executions.SaveExecution(context.Background(), e); err != nil {
			t.Fatalf("SaveExecution() error = %v", err)
		}
	}
	_, body := c.do(t, http.MethodGet, "/console/instances/demo/timeline?contact="+email, nil, ck)
	text := html.UnescapeString(body)
	for _, want := range []string{
		"booking 1001~7; tags +Booked: Fire Safety +<b>VIP</b> −Booked: First Aid; NEXTCOURSE=Fire Safety",
		"fields LNAME, group:Departments=Sales, Support",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("timeline lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<b>VIP</b>") || !strings.Contains(body, "&lt;b&gt;VIP&lt;/b&gt;") {
		t.Error("timeline does not escape a tag name")
	}
}
