package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

func TestInstancePageShowsConsentAndBlocked(t *testing.T) {
	c := newConsole(t, false)
	ck := c.login(t)
	now := time.Now().UTC()
	e := apmc.Execution{
		ID: apmc.NewExecutionID(now), InstanceID: "demo", ChangeID: "c1", Flow: apmc.FlowToMailchimp, Event: apmc.EventUpdated,
		Origin: apmc.OriginWebhook, Attempt: 1, Status: apmc.StatusBlocked, Contact: "held@example.com", Reason: "Member In Compliance State",
		StartedAt: now, FinishedAt: now, ExpiresAt: now.Add(24 * time.Hour), Steps: []apmc.Step{}, Logs: []apmc.LogLine{},
	}
	if err := c.stack.Executions.SaveExecution(context.Background(), e); err != nil {
		t.Fatalf("SaveExecution() error = %v", err)
	}
	_, body := c.do(t, http.MethodGet, "/console/instances/demo", nil, ck)
	for _, want := range []string{"opted in → subscribed, not opted in → transactional; opt-outs to Mailchimp off, to accessplanit off", "1 blocked", "status-blocked"} {
		if !strings.Contains(body, want) {
			t.Errorf("instance page lacks %q", want)
		}
	}
	_, body = c.do(t, http.MethodGet, "/console/instances/demo?status=blocked", nil, ck)
	if !strings.Contains(body, e.ID) {
		t.Errorf("executions filtered by status blocked do not list %s", e.ID)
	}
}
