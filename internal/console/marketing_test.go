package console_test

import (
	"context"
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
