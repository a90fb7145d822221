package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// TestHealthPanel: the instances page's health panel and the instance
// page show an instance failing (with its dead letters) and whether a
// notification URL is set, never the URL.
func TestHealthPanel(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	ctx := context.Background()
	store := c.stack.Instances
	in, err := store.Instance(ctx, "demo")
	if err != nil {
		t.Fatalf("Instance(demo) error = %v", err)
	}
	const url = "https://hooks.example.com/services/T0/B0/console-secret-part"
	in.Secrets.NotificationURL = url
	if err := store.Update(ctx, in); err != nil {
		t.Fatalf("Update error = %v", err)
	}
	since := time.Now().Add(-time.Hour).UTC()
	if _, err := store.SaveHealth(ctx, "demo", in.Health.Version, apmc.Health{Version: in.Health.Version + 1, Failing: true, FailingSince: since, LastFailureAt: since}); err != nil {
		t.Fatalf("SaveHealth error = %v", err)
	}
	for range 3 {
		if err := store.CountDeadLetter(ctx, "demo", since); err != nil {
			t.Fatalf("CountDeadLetter error = %v", err)
		}
	}

	_, list := c.do(t, http.MethodGet, "/console/", nil, ck)
	row := between(list, `<tr id="health-demo">`, "</tr>")
	for _, want := range []string{"failing", "<td class=\"num\">3</td>", "set"} {
		if !strings.Contains(row, want) {
			t.Errorf("health panel row = %q, want it to show %q", row, want)
		}
	}
	if !strings.Contains(row, "never") {
		t.Errorf("health panel row = %q, want the last successful sync shown as never before any", row)
	}

	// Two changes held, then one synced: the row counts the held ones and
	// dates the success.
	saveExecutions(t, c, 2, "held@example.com", apmc.StatusHeld)
	saveExecutions(t, c, 1, "synced@example.com", apmc.StatusSucceeded)
	_, list = c.do(t, http.MethodGet, "/console/", nil, ck)
	row = between(list, `<tr id="health-demo">`, "</tr>")
	if !strings.Contains(row, `<td class="num">2</td>`) || strings.Contains(row, "never") {
		t.Errorf("health panel row = %q, want 2 still held and a last successful sync", row)
	}
	_, page := c.do(t, http.MethodGet, "/console/instances/demo", nil, ck)
	health := between(page, `<dl id="health">`, "</dl>")
	for _, want := range []string{"failing", "3 dead-lettered in all", `<dd id="notification-url">set`} {
		if !strings.Contains(health, want) {
			t.Errorf("instance page health = %q, want it to show %q", health, want)
		}
	}
	for _, body := range []string{list, page} {
		if strings.Contains(body, "console-secret-part") {
			t.Error("a page shows the notification URL")
		}
	}
}

// between returns the part of s from the first start to the following end.
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j]
}
