package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ops"
	"github.com/apmc-sync/apmc/internal/queue"
)

// TestAnswersMatchDocument sends documented and undocumented requests to the
// running API over kumo-backed stores and queues, and validates every answer
// against the OpenAPI document; each request is also validated, and must be
// valid exactly when it is a documented request. Every documented operation
// and every status it documents must be seen, except the ones the test
// cannot bring about (notSeen).
func TestAnswersMatchDocument(t *testing.T) {
	d := loadOpenAPI(t)
	e := newEnv(t)
	e.deadLetter(t, "dead@example.com")
	failed, succeeded := e.executions[5], e.executions[4] // the failed one kept its change; its retry did not
	if failed.Status != apmc.StatusFailed || succeeded.Origin != apmc.OriginRetry {
		t.Fatalf("the environment's executions changed: %s %s", failed.Status, succeeded.Origin)
	}
	rfc := func(t time.Time) string { return url.QueryEscape(t.UTC().Format(time.RFC3339)) }
	exec := "/api/instances/alpha/executions/"

	tests := []struct {
		name      string
		route     string // the documented operation
		path      string
		anonymous bool
		wantValid bool // whether the request is one the document describes
		want      int
	}{
		{"the document, anonymous", "GET /api/openapi.json", "/api/openapi.json", true, true, 200},
		{"instances", "GET /api/instances", "/api/instances", false, true, 200},
		{"instances, anonymous", "GET /api/instances", "/api/instances", true, false, 401},
		{"instance", "GET /api/instances/{id}", "/api/instances/alpha", false, true, 200},
		{"instance, unknown", "GET /api/instances/{id}", "/api/instances/nobody", false, true, 404},
		{"executions", "GET /api/instances/{id}/executions", "/api/instances/alpha/executions", false, true, 200},
		{"executions, a page", "GET /api/instances/{id}/executions", "/api/instances/alpha/executions?limit=2", false, true, 200},
		{"executions, every filter", "GET /api/instances/{id}/executions",
			"/api/instances/alpha/executions?status=failed&flow=accessplanit_to_mailchimp&from=" + rfc(failed.StartedAt.Add(-time.Hour)) +
				"&to=" + rfc(failed.StartedAt.Add(time.Hour)) + "&original_only=true&changed_only=false&contact=ada@example.com&limit=200&cursor=", false, true, 200},
		{"executions, misspelt filter", "GET /api/instances/{id}/executions", "/api/instances/alpha/executions?stauts=failed", false, false, 400},
		{"executions, bad status", "GET /api/instances/{id}/executions", "/api/instances/alpha/executions?status=done", false, false, 400},
		{"executions, bad from", "GET /api/instances/{id}/executions", "/api/instances/alpha/executions?from=yesterday", false, false, 400},
		{"executions, limit too big", "GET /api/instances/{id}/executions", "/api/instances/alpha/executions?limit=201", false, false, 400},
		{"executions, bad contact", "GET /api/instances/{id}/executions", "/api/instances/alpha/executions?contact=ada", false, false, 400},
		{"executions, bad cursor", "GET /api/instances/{id}/executions", "/api/instances/alpha/executions?cursor=%21%21%21", false, true, 400},
		{"executions, unknown instance", "GET /api/instances/{id}/executions", "/api/instances/nobody/executions", false, true, 404},
		{"execution", "GET /api/instances/{id}/executions/{eid}", exec + failed.ID, false, true, 200},
		{"execution, errors only", "GET /api/instances/{id}/executions/{eid}", exec + failed.ID + "?errors_only=true", false, true, 200},
		{"execution, a retry", "GET /api/instances/{id}/executions/{eid}", exec + succeeded.ID, false, true, 200},
		{"execution, bad errors_only", "GET /api/instances/{id}/executions/{eid}", exec + failed.ID + "?errors_only=maybe", false, false, 400},
		{"execution, unknown parameter", "GET /api/instances/{id}/executions/{eid}", exec + failed.ID + "?verbose=true", false, false, 400},
		{"execution, unknown", "GET /api/instances/{id}/executions/{eid}", exec + "01JZZZZZZZZZZZZZZZZZZZZZZZ", false, true, 404},
		{"timeline", "GET /api/instances/{id}/contacts/{email}/timeline", "/api/instances/alpha/contacts/ada@example.com/timeline", false, true, 200},
		{"timeline, not an email", "GET /api/instances/{id}/contacts/{email}/timeline", "/api/instances/alpha/contacts/ada/timeline", false, false, 400},
		{"timeline, unknown instance", "GET /api/instances/{id}/contacts/{email}/timeline", "/api/instances/nobody/contacts/ada@example.com/timeline", false, true, 404},
		{"replay", "POST /api/instances/{id}/executions/{eid}/replay", exec + failed.ID + "/replay", false, true, 202},
		{"replay, no change kept", "POST /api/instances/{id}/executions/{eid}/replay", exec + succeeded.ID + "/replay", false, true, 400},
		{"replay, unknown", "POST /api/instances/{id}/executions/{eid}/replay", exec + "01JZZZZZZZZZZZZZZZZZZZZZZZ/replay", false, true, 404},
		{"bulk replay", "POST /api/instances/{id}/executions/replay", "/api/instances/alpha/executions/replay", false, true, 202},
		{"bulk replay, filtered", "POST /api/instances/{id}/executions/replay", "/api/instances/alpha/executions/replay?status=held&contact=grace@example.com", false, true, 202},
		{"bulk replay, bad flow", "POST /api/instances/{id}/executions/replay", "/api/instances/alpha/executions/replay?flow=both", false, false, 400},
		{"bulk replay, unknown instance", "POST /api/instances/{id}/executions/replay", "/api/instances/nobody/executions/replay", false, true, 404},
		{"pause", "POST /api/instances/{id}/pause", "/api/instances/alpha/pause", false, true, 200},
		{"pause, unknown", "POST /api/instances/{id}/pause", "/api/instances/nobody/pause", false, true, 404},
		{"resume", "POST /api/instances/{id}/resume", "/api/instances/alpha/resume", false, true, 200},
		{"resume, unknown", "POST /api/instances/{id}/resume", "/api/instances/nobody/resume", false, true, 404},
		{"dead letters", "GET /api/dead-letters", "/api/dead-letters", false, true, 200},
		{"health", "GET /api/health", "/api/health", false, true, 200},
		{"instance health", "GET /api/instances/{id}/health", "/api/instances/alpha/health", false, true, 200},
		{"instance health, unknown", "GET /api/instances/{id}/health", "/api/instances/nobody/health", false, true, 404},
		{"redrive", "POST /api/dead-letters/redrive", "/api/dead-letters/redrive?max=5", false, true, 200},
		{"redrive, max zero", "POST /api/dead-letters/redrive", "/api/dead-letters/redrive?max=0", false, false, 400},
	}
	seen := map[string]bool{} // "METHOD /path status"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, _, _ := strings.Cut(tc.route, " ")
			auth := bearer
			if tc.anonymous {
				auth = ""
			}
			x := send(t, e.srv.Client(), method, e.srv.URL+tc.path, auth)
			if x.res.StatusCode != tc.want {
				t.Errorf("%s %s = %d %s, want %d", method, tc.path, x.res.StatusCode, x.short(), tc.want)
			}
			if tc.path == "/api/openapi.json" && !bytes.Equal(x.body, d.raw) {
				t.Errorf("GET /api/openapi.json served a document other than openapi.json")
			}
			d.checkRequest(t, x, tc.wantValid)
			d.checkAnswer(t, tc.route, x)
			seen[tc.route+" "+strconv.Itoa(x.res.StatusCode)] = true
		})
	}

	// The first sync: plans, a job that runs, a second plan refused, a
	// cancel; requests with a body.
	alphaPlan, betaPlan := e.plan(t, "alpha", 3), e.plan(t, "beta", api.MaxPlanContacts+1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.contacts.StartJob(ctx, backfill.Job{InstanceID: "alpha", PlanID: alphaPlan.ID, Total: 3}); err != nil {
		t.Fatalf("StartJob() error = %v", err)
	}
	other := e.plan(t, "alpha", 1)
	plans, planOf := "/api/instances/alpha/plans", "/api/instances/beta/plans/"
	first := []struct {
		name, route, path, body string
		wantValid               bool
		want                    int
	}{
		{"plans", "GET /api/instances/{id}/plans", plans, "", true, 200},
		{"plans, unknown parameter", "GET /api/instances/{id}/plans", plans + "?all=true", "", false, 400},
		{"plans, unknown instance", "GET /api/instances/{id}/plans", "/api/instances/nobody/plans", "", true, 404},
		{"plan", "GET /api/instances/{id}/plans/{pid}", planOf + betaPlan.ID, "", true, 200},
		{"plan with contacts", "GET /api/instances/{id}/plans/{pid}", planOf + betaPlan.ID + "?contacts=true", "", true, 200},
		{"plan, bad contacts", "GET /api/instances/{id}/plans/{pid}", planOf + betaPlan.ID + "?contacts=some", "", false, 400},
		{"plan, unknown", "GET /api/instances/{id}/plans/{pid}", planOf + "nope", "", true, 404},
		{"plan, another instance's", "GET /api/instances/{id}/plans/{pid}", planOf + alphaPlan.ID, "", true, 404},
		{"start", "POST /api/instances/{id}/backfill", "/api/instances/beta/backfill", `{"plan_id":"` + betaPlan.ID + `"}`, true, 202},
		{"start, no body", "POST /api/instances/{id}/backfill", "/api/instances/beta/backfill", "", false, 400},
		{"start, unknown plan", "POST /api/instances/{id}/backfill", "/api/instances/beta/backfill", `{"plan_id":"nope"}`, true, 400},
		{"start, unknown instance", "POST /api/instances/{id}/backfill", "/api/instances/nobody/backfill", `{"plan_id":"nope"}`, true, 404},
		{"start, another running", "POST /api/instances/{id}/backfill", "/api/instances/alpha/backfill", `{"plan_id":"` + other.ID + `"}`, true, 409},
		{"job", "GET /api/instances/{id}/backfill", "/api/instances/alpha/backfill", "", true, 200},
		{"job, none", "GET /api/instances/{id}/backfill", "/api/instances/beta/backfill", "", true, 404},
		{"cancel", "POST /api/instances/{id}/backfill/cancel", "/api/instances/alpha/backfill/cancel", "", true, 202},
		{"cancel, none running", "POST /api/instances/{id}/backfill/cancel", "/api/instances/beta/backfill/cancel", "", true, 404},
	}
	for _, tc := range first {
		t.Run(tc.name, func(t *testing.T) {
			method, _, _ := strings.Cut(tc.route, " ")
			x := sendBody(t, e.srv.Client(), method, e.srv.URL+tc.path, bearer, tc.body)
			if x.res.StatusCode != tc.want {
				t.Errorf("%s %s = %d %s, want %d", method, tc.path, x.res.StatusCode, x.short(), tc.want)
			}
			d.checkRequest(t, x, tc.wantValid)
			d.checkAnswer(t, tc.route, x)
			seen[tc.route+" "+strconv.Itoa(x.res.StatusCode)] = true
		})
	}

	// Every authenticated operation refuses an anonymous request as documented.
	for _, route := range d.operations() {
		if s := d.operation(route).Security; s != nil && len(s) == 0 {
			continue // "security: []": public
		}
		x := send(t, e.srv.Client(), strings.Fields(route)[0], e.srv.URL+concrete(route), "")
		if x.res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s anonymous = %d %s, want 401", route, x.res.StatusCode, x.short())
		}
		d.checkAnswer(t, route, x)
		seen[route+" "+strconv.Itoa(x.res.StatusCode)] = true
	}

	// Every authenticated operation answers a failing store or queue as documented.
	broken := brokenAPI(t, e)
	for _, route := range d.operations() {
		if d.operation(route).Responses.Codes.GetOrZero("500") == nil {
			continue
		}
		x := send(t, broken.Client(), strings.Fields(route)[0], broken.URL+concrete(route), bearer)
		if x.res.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s with its stores gone = %d %s, want 500", route, x.res.StatusCode, x.short())
		}
		d.checkAnswer(t, route, x)
		seen[route+" "+strconv.Itoa(x.res.StatusCode)] = true
	}

	// notSeen are documented answers the test cannot bring about: a
	// pause or resume losing the race with another change three times.
	notSeen := []string{"POST /api/instances/{id}/pause 409", "POST /api/instances/{id}/resume 409"}
	for _, route := range d.operations() {
		for code := range d.operation(route).Responses.Codes.KeysFromOldest() {
			key := route + " " + code
			if !seen[key] && !slices.Contains(notSeen, key) {
				t.Errorf("no answer %s of %s was seen; the document promises one", code, route)
			}
		}
	}
}

// concrete fills a route's path parameters with values that reach its
// handler.
func concrete(route string) string {
	_, path, _ := strings.Cut(route, " ")
	return strings.NewReplacer("{id}", "alpha", "{eid}", "01JZZZZZZZZZZZZZZZZZZZZZZZ", "{email}", "ada@example.com", "{pid}", "plan-1").Replace(path)
}

// brokenAPI serves the API over tables and queues that do not exist, so
// every read and write fails.
func brokenAPI(t *testing.T, e *env) *httptest.Server {
	t.Helper()
	gone := "missing-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	missingQueue := strings.Replace(e.queues.DeadLetterURL, "/"+lastSegment(e.queues.DeadLetterURL), "/"+gone+".fifo", 1)
	svc := &ops.Service{
		Instances:   dynamo.NewInstanceStore(e.svc.DynamoDB, gone+"-instances", nil),
		Executions:  dynamo.NewExecutionStore(e.svc.DynamoDB, gone+"-executions"),
		Queue:       queue.NewProducer(e.svc.SQS, missingQueue),
		DeadLetters: &queue.DeadLetters{Client: e.svc.SQS, URL: missingQueue},
	}
	first := &backfill.Service{Store: dynamo.NewContactStore(e.svc.DynamoDB, gone+"-contacts"), Queue: queue.Jobs{Client: e.svc.SQS, URL: missingQueue}}
	srv := httptest.NewServer(api.New(api.Config{Ops: svc, Backfill: first, TokenHash: api.HashToken(operatorToken)}))
	t.Cleanup(srv.Close)
	return srv
}

func lastSegment(u string) string { return u[strings.LastIndex(u, "/")+1:] }
