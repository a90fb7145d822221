package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// A booking's execution, with its change (a delegate's, a User with tags)
// and its tag and activity outputs, answers as the document says.
func TestBookingExecutionMatchesDocument(t *testing.T) {
	d := loadOpenAPI(t)
	e := newEnv(t)
	at := time.Now().UTC().Add(-time.Minute)
	x := apmc.Execution{
		ID: apmc.NewExecutionID(at), InstanceID: "beta", ChangeID: "booking-1",
		Flow: apmc.FlowToMailchimp, Event: apmc.EventBooking, Origin: apmc.OriginWebhook, Attempt: 1, Status: apmc.StatusFailed,
		Contact: "ada@example.com", ConfigVersion: 1, StartedAt: at, FinishedAt: at.Add(time.Second), ExpiresAt: at.Add(24 * time.Hour),
		Steps: []apmc.Step{
			{Name: "read_training_activity", Status: "ok", Output: map[string]any{"delegates": 1, "trigger_delegate": "7~12", "bookings": []string{"First Aid 2027-01-15 (Booked)"}}},
			{Name: "update_tags", Status: "failed", Error: "mailchimp answered 503", Output: map[string]any{"tags_added": []string{"Booked: First Aid"}, "tags_removed": []string{"Gold"}}},
		},
		Logs:  []apmc.LogLine{{Time: at, Level: "error", Message: "failed"}},
		Error: "mailchimp answered 503",
		Change: &apmc.Change{ID: "booking-1", InstanceID: "beta", Source: apmc.SideAccessplanit, Event: apmc.EventBooking, ReceivedAt: at,
			UserID: "7", DelegateID: "7~12", User: &apmc.User{ID: "7", Fields: map[string]string{"Tags": "Gold"}, Tags: []string{"Gold"}}},
	}
	if err := e.store.SaveExecution(context.Background(), x); err != nil {
		t.Fatalf("SaveExecution() error = %v", err)
	}
	for _, tc := range []struct{ route, path string }{
		{"GET /api/instances/{id}/executions/{eid}", "/api/instances/beta/executions/" + x.ID},
		{"GET /api/instances/{id}/executions", "/api/instances/beta/executions"},
	} {
		got := send(t, e.srv.Client(), http.MethodGet, e.srv.URL+tc.path, bearer)
		if got.res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s", tc.path, got.res.StatusCode, got.short())
		}
		d.checkAnswer(t, tc.route, got)
	}
}
