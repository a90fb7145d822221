package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ops"
)

// TestBoundedAnswers checks the answers of the operations that walk
// executions when they reach their bounds: each says so, as documented.
func TestBoundedAnswers(t *testing.T) {
	d := loadOpenAPI(t)
	e := newEnv(t)
	e.service.Bounds = ops.Bounds{PageSize: 1, MaxWalk: 1, MaxBulkReplay: 1}
	failed := e.executions[5]
	if failed.Status != apmc.StatusFailed || failed.Contact != "ada@example.com" {
		t.Fatalf("the environment's executions changed: %s %s", failed.Status, failed.Contact)
	}
	tests := []struct {
		name, method, route, path string
		want                      int
		check                     func(t *testing.T, body map[string]json.RawMessage)
	}{
		{"timeline", http.MethodGet, "GET /api/instances/{id}/contacts/{email}/timeline", "/api/instances/alpha/contacts/ada@example.com/timeline", 200,
			func(t *testing.T, body map[string]json.RawMessage) {
				var list []apmc.Execution
				if err := json.Unmarshal(body["executions"], &list); err != nil || len(list) != 1 || list[0].ID != e.executions[3].ID {
					t.Errorf("timeline executions = %s (%v), want only the newest of ada's, %s", body["executions"], err, e.executions[3].ID)
				}
				if got := string(body["truncated"]); got != "true" {
					t.Errorf("timeline truncated = %q, want true", got)
				}
			}},
		{"execution", http.MethodGet, "GET /api/instances/{id}/executions/{eid}", "/api/instances/alpha/executions/" + failed.ID, 200,
			func(t *testing.T, body map[string]json.RawMessage) {
				if got := string(body["related_truncated"]); got != "true" {
					t.Errorf("execution related_truncated = %q, want true", got)
				}
			}},
		{"bulk replay", http.MethodPost, "POST /api/instances/{id}/executions/replay", "/api/instances/alpha/executions/replay?status=succeeded", 400,
			func(t *testing.T, body map[string]json.RawMessage) {
				if got := string(body["error"]); !strings.Contains(got, "more than 1 executions match") {
					t.Errorf("bulk replay error = %s, want it to say more than 1 match", got)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := send(t, e.srv.Client(), tc.method, e.srv.URL+tc.path, bearer)
			if x.res.StatusCode != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, x.res.StatusCode, x.short(), tc.want)
			}
			d.checkAnswer(t, tc.route, x)
			var body map[string]json.RawMessage
			if err := json.Unmarshal(x.body, &body); err != nil {
				t.Fatalf("answer %s is not a JSON object: %v", x.body, err)
			}
			tc.check(t, body)
		})
	}
}
