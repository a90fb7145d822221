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
	booking := func() (apmc.Execution, bool) {
		list, _, err := c.stack.Executions.Executions(context.Background(), "demo", apmc.ExecutionQuery{Contact: email, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			if e.Event == apmc.EventBooking && e.Status == apmc.StatusSucceeded && e.Changed {
				return e, true
			}
		}
		return apmc.Execution{}, false
	}
	deadline := time.Now().Add(15 * time.Second)
	var e apmc.Execution
	for booked := false; ; time.Sleep(50 * time.Millisecond) {
		if !booked {
			// The User's own first sync may still be under way: booking
			// before it is applied is fine too (the booking reads both).
			if _, err := ap.BookInUI(sbap.Booking{UserID: id, Course: "First Aid", StartDate: "2099-03-04"}); err != nil {
				t.Fatal(err)
			}
			booked = true
		}
		var ok bool
		if e, ok = booking(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no succeeded booking execution after 15 s")
		}
	}
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
