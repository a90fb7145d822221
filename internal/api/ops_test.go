package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ops"
	"github.com/apmc-sync/apmc/internal/queue"
)

// queued receives and deletes every change waiting on a queue.
func (e *env) queued(t *testing.T, url string) []apmc.Change {
	t.Helper()
	ctx := context.Background()
	var out []apmc.Change
	for {
		res, err := e.svc.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatalf("ReceiveMessage() error = %v", err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			var c apmc.Change
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &c); err != nil {
				t.Fatalf("message %q is not a change: %v", aws.ToString(m.Body), err)
			}
			out = append(out, c)
			if _, err := e.svc.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage() error = %v", err)
			}
		}
	}
}

// deadLetter puts changes on the dead-letter queue, as the changes queue
// does after the last failed delivery.
func (e *env) deadLetter(t *testing.T, emails ...string) {
	t.Helper()
	p := queue.NewProducer(e.svc.SQS, e.queues.DeadLetterURL)
	for _, email := range emails {
		c := apmc.Change{ID: "dead-" + email, InstanceID: "alpha", Source: apmc.SideMailchimp, Event: apmc.EventUpdated,
			ReceivedAt: e.executions[0].StartedAt, Email: email}
		if err := p.Enqueue(context.Background(), c); err != nil {
			t.Fatalf("Enqueue(dead %s) error = %v", email, err)
		}
	}
}

// execution reads one execution from the store.
func (e *env) execution(t *testing.T, id string) apmc.Execution {
	t.Helper()
	x, err := e.store.Execution(context.Background(), "alpha", id)
	if err != nil {
		t.Fatalf("Execution(%s) error = %v", id, err)
	}
	return x
}

func TestOperations(t *testing.T) {
	tests := []struct {
		name       string
		method     string // default POST
		path       func(e *env) string
		setup      func(t *testing.T, e *env)
		wantStatus int
		wantError  string
		check      func(t *testing.T, e *env, a answer)
	}{
		{name: "pause", path: fixed("/api/instances/alpha/pause"), wantStatus: http.StatusOK,
			check: func(t *testing.T, e *env, a answer) {
				var in apmc.Instance
				if err := json.Unmarshal(a.body["instance"], &in); err != nil || in.ID != "alpha" || in.State != apmc.StatePaused {
					t.Errorf("instance = %s (%v), want alpha paused", a.body["instance"], err)
				}
				if s := summaryOf(t, e, "alpha"); s.Instance.State != apmc.StatePaused {
					t.Errorf("summary state after pause = %s, want paused", s.Instance.State)
				}
			}},
		{name: "pause an unknown instance", path: fixed("/api/instances/nobody/pause"), wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "pause by GET", method: http.MethodGet, path: fixed("/api/instances/alpha/pause"), wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "resume releases the held change", path: fixed("/api/instances/alpha/resume"), wantStatus: http.StatusOK,
			setup: func(t *testing.T, e *env) {
				if a := e.get(t, http.MethodPost, "/api/instances/alpha/pause", bearer); a.status != http.StatusOK {
					t.Fatalf("pause = %d %s", a.status, a.raw)
				}
			},
			check: func(t *testing.T, e *env, a answer) {
				var res ops.ResumeResult
				if err := json.Unmarshal([]byte(a.raw), &res); err != nil || res.Released != 1 || res.Instance.State != apmc.StateEnabled {
					t.Errorf("resume = %s (%v), want 1 released, enabled", a.raw, err)
				}
				held := e.executions[0]
				got := e.queued(t, e.queues.ChangesURL)
				if len(got) != 1 || got[0].OriginalExecutionID != held.ID || got[0].Email != held.Contact {
					t.Errorf("queued = %+v, want the held change of %s", got, held.ID)
				}
				if x := e.execution(t, held.ID); x.Status != apmc.StatusSkipped {
					t.Errorf("held execution after resume = %s, want skipped (released)", x.Status)
				}
			}},
		{name: "resume an unknown instance", path: fixed("/api/instances/nobody/resume"), wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "replay", path: func(e *env) string { return "/api/instances/alpha/executions/" + e.executions[5].ID + "/replay" },
			wantStatus: http.StatusAccepted,
			check: func(t *testing.T, e *env, a answer) {
				var r ops.Replayed
				if err := json.Unmarshal([]byte(a.raw), &r); err != nil || r.OriginalID != e.executions[5].ID || r.ExecutionID == "" {
					t.Fatalf("replay = %s (%v), want the replay of %s", a.raw, err, e.executions[5].ID)
				}
				got := e.queued(t, e.queues.ChangesURL)
				if len(got) != 1 || got[0].Origin != apmc.OriginReplay || got[0].OriginalExecutionID != r.OriginalID ||
					got[0].ID != r.ChangeID || apmc.FirstExecutionID(got[0]) != r.ExecutionID {
					t.Errorf("queued = %+v, want one replay recorded as %s", got, r.ExecutionID)
				}
			}},
		{name: "replay an unknown execution", path: fixed("/api/instances/alpha/executions/01JZZZZZZZZZZZZZZZZZZZZZZZ/replay"),
			wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "replay another instance's execution", path: func(e *env) string { return "/api/instances/beta/executions/" + e.executions[5].ID + "/replay" },
			wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "replay an execution without a change", path: func(e *env) string { return "/api/instances/alpha/executions/" + e.executions[6].ID + "/replay" },
			wantStatus: http.StatusBadRequest, wantError: "no change to replay"},
		{name: "bulk replay: failed by default", path: fixed("/api/instances/alpha/executions/replay"), wantStatus: http.StatusAccepted,
			check: func(t *testing.T, e *env, a answer) {
				replayedOriginals(t, e, a, e.executions[5].ID)
			}},
		{name: "bulk replay with filters", path: fixed("/api/instances/alpha/executions/replay?status=held&contact=grace@example.com"), wantStatus: http.StatusAccepted,
			check: func(t *testing.T, e *env, a answer) {
				replayedOriginals(t, e, a, e.executions[0].ID)
			}},
		{name: "bulk replay: nothing matches", path: fixed("/api/instances/alpha/executions/replay?status=failed&flow=mailchimp_to_accessplanit"), wantStatus: http.StatusAccepted,
			check: func(t *testing.T, e *env, a answer) {
				replayedOriginals(t, e, a)
			}},
		{name: "bulk replay: bad filter", path: fixed("/api/instances/alpha/executions/replay?status=broken"), wantStatus: http.StatusBadRequest, wantError: "status must be"},
		{name: "bulk replay: misspelt filter", path: fixed("/api/instances/alpha/executions/replay?stauts=failed"), wantStatus: http.StatusBadRequest, wantError: `"stauts"`,
			check: func(t *testing.T, e *env, a answer) {
				if got := e.queued(t, e.queues.ChangesURL); len(got) != 0 {
					t.Errorf("a refused bulk replay queued %d changes", len(got))
				}
			}},
		{name: "bulk replay of an unknown instance", path: fixed("/api/instances/nobody/executions/replay"), wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "dead letters", method: http.MethodGet, path: fixed("/api/dead-letters"), wantStatus: http.StatusOK,
			setup: func(t *testing.T, e *env) { e.deadLetter(t, "one@example.com", "two@example.com") },
			check: func(t *testing.T, e *env, a answer) {
				var list []apmc.Change
				if err := json.Unmarshal(a.body["changes"], &list); err != nil {
					t.Fatalf("changes = %s: %v", a.body["changes"], err)
				}
				var got []string
				for _, c := range list {
					got = append(got, c.Email)
				}
				if diff := cmp.Diff([]string{"one@example.com", "two@example.com"}, got); diff != "" {
					t.Errorf("dead letters (-want +got):\n%s", diff)
				}
			}},
		{name: "no dead letters", method: http.MethodGet, path: fixed("/api/dead-letters"), wantStatus: http.StatusOK,
			check: func(t *testing.T, e *env, a answer) {
				if string(a.body["changes"]) != "[]" {
					t.Errorf("changes = %s, want []", a.body["changes"])
				}
			}},
		{name: "redrive", path: fixed("/api/dead-letters/redrive?max=1"), wantStatus: http.StatusOK,
			setup: func(t *testing.T, e *env) { e.deadLetter(t, "one@example.com", "two@example.com") },
			check: func(t *testing.T, e *env, a answer) {
				if string(a.body["redriven"]) != "1" {
					t.Errorf("redriven = %s, want 1", a.body["redriven"])
				}
				got := e.queued(t, e.queues.ChangesURL)
				if len(got) != 1 || got[0].Origin != apmc.OriginReplay || got[0].Email != "one@example.com" || !strings.Contains(got[0].ID, "#redrive-") {
					t.Errorf("queued = %+v, want one redriven replay of one@example.com", got)
				}
				if left := e.queued(t, e.queues.DeadLetterURL); len(left) != 1 || left[0].Email != "two@example.com" {
					t.Errorf("left in the dead-letter queue = %+v, want two@example.com", left)
				}
			}},
		{name: "redrive by default up to 100", path: fixed("/api/dead-letters/redrive"), wantStatus: http.StatusOK,
			setup: func(t *testing.T, e *env) { e.deadLetter(t, "one@example.com", "two@example.com") },
			check: func(t *testing.T, e *env, a answer) {
				if string(a.body["redriven"]) != "2" {
					t.Errorf("redriven = %s, want 2", a.body["redriven"])
				}
			}},
		{name: "redrive max 0", path: fixed("/api/dead-letters/redrive?max=0"), wantStatus: http.StatusBadRequest, wantError: "max must be"},
		{name: "redrive max 1001", path: fixed("/api/dead-letters/redrive?max=1001"), wantStatus: http.StatusBadRequest, wantError: "max must be"},
		{name: "redrive max not a number", path: fixed("/api/dead-letters/redrive?max=all"), wantStatus: http.StatusBadRequest, wantError: "max must be",
			setup: func(t *testing.T, e *env) { e.deadLetter(t, "one@example.com") },
			check: func(t *testing.T, e *env, a answer) {
				if left := e.queued(t, e.queues.DeadLetterURL); len(left) != 1 {
					t.Errorf("a refused redrive left %d dead letters, want 1", len(left))
				}
			}},
		{name: "no second summary route", method: http.MethodGet, path: fixed("/api/instances/alpha/summary"), wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "no second summaries route", method: http.MethodGet, path: fixed("/api/summaries"), wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "no second detail route", method: http.MethodGet, path: func(e *env) string { return "/api/instances/alpha/executions/" + e.executions[5].ID + "/detail" },
			wantStatus: http.StatusNotFound, wantError: "not found"},
		{name: "anonymous pause", path: fixed("/api/instances/alpha/pause"), wantStatus: http.StatusUnauthorized, wantError: "authentication required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			auth := bearer
			if strings.HasPrefix(tc.name, "anonymous") {
				auth = ""
			}
			path := tc.path(e)
			a := e.get(t, method, path, auth)
			if a.status != tc.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", method, path, a.status, a.raw, tc.wantStatus)
			}
			if tc.wantStatus >= 400 {
				if msg := a.errorMessage(); !strings.Contains(msg, tc.wantError) {
					t.Errorf("error = %q, want it to say %q", msg, tc.wantError)
				}
			}
			if tc.check != nil {
				tc.check(t, e, a)
			}
			if tc.wantStatus >= 400 && method == http.MethodPost {
				if s := summaryOf(t, e, "alpha"); s.Instance.State != apmc.StateEnabled {
					t.Errorf("after a refused %s, alpha is %s, want enabled", path, s.Instance.State)
				}
			}
		})
	}
}

func fixed(path string) func(*env) string { return func(*env) string { return path } }

// replayedOriginals checks a bulk replay answer replayed exactly the
// executions want, oldest first, and queued them.
func replayedOriginals(t *testing.T, e *env, a answer, want ...string) {
	t.Helper()
	var list []ops.Replayed
	if err := json.Unmarshal(a.body["replayed"], &list); err != nil {
		t.Fatalf("replayed = %s: %v", a.body["replayed"], err)
	}
	got := []string{}
	for _, r := range list {
		got = append(got, r.OriginalID)
	}
	if want == nil {
		want = []string{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replayed originals (-want +got):\n%s", diff)
	}
	queued := []string{}
	for _, c := range e.queued(t, e.queues.ChangesURL) {
		queued = append(queued, c.OriginalExecutionID)
	}
	if diff := cmp.Diff(want, queued); diff != "" {
		t.Errorf("queued replays (-want +got):\n%s", diff)
	}
}

// summaryOf reads an instance's summary through the API.
func summaryOf(t *testing.T, e *env, id string) ops.Summary {
	t.Helper()
	a := e.get(t, http.MethodGet, "/api/instances/"+id, bearer)
	if a.status != http.StatusOK {
		t.Fatalf("GET /api/instances/%s = %d %s", id, a.status, a.raw)
	}
	var s ops.Summary
	if err := json.Unmarshal([]byte(a.raw), &s); err != nil {
		t.Fatalf("summary %s: %v", a.raw, err)
	}
	return s
}

func TestSummaries(t *testing.T) {
	e := newEnv(t)
	e.deadLetter(t, "one@example.com", "two@example.com", "three@example.com")
	alpha := map[apmc.Status]int{apmc.StatusSucceeded: 3, apmc.StatusFailed: 1, apmc.StatusBlocked: 0, apmc.StatusSuppressed: 1, apmc.StatusSkipped: 1, apmc.StatusHeld: 1}
	none := map[apmc.Status]int{apmc.StatusSucceeded: 0, apmc.StatusFailed: 0, apmc.StatusBlocked: 0, apmc.StatusSuppressed: 0, apmc.StatusSkipped: 0, apmc.StatusHeld: 0}
	want := map[string]map[apmc.Status]int{"alpha": alpha, "beta": none}
	check := func(t *testing.T, s ops.Summary) {
		t.Helper()
		if diff := cmp.Diff(want[s.Instance.ID], s.Last24h); diff != "" {
			t.Errorf("%s last_24h (-want +got):\n%s", s.Instance.ID, diff)
		}
		if s.DeadLetters != 3 {
			t.Errorf("%s dead_letters = %d, want 3 (the shared queue's depth)", s.Instance.ID, s.DeadLetters)
		}
		if s.Instance.State != apmc.StateEnabled || s.Instance.MailchimpListID != "list-"+s.Instance.ID {
			t.Errorf("%s instance = %+v, want it enabled with its list", s.Instance.ID, s.Instance)
		}
	}

	a := e.get(t, http.MethodGet, "/api/instances", bearer)
	var list []ops.Summary
	if err := json.Unmarshal(a.body["instances"], &list); err != nil || len(list) != 2 {
		t.Fatalf("GET /api/instances = %s (%v), want two summaries", a.raw, err)
	}
	for _, s := range list {
		check(t, s)
	}
	if list[0].LastExecutionAt == nil || !list[0].LastExecutionAt.Equal(e.executions[0].StartedAt) || list[0].LastStatus != apmc.StatusHeld {
		t.Errorf("alpha last execution = %v %s, want %v held", list[0].LastExecutionAt, list[0].LastStatus, e.executions[0].StartedAt)
	}
	if list[1].LastExecutionAt != nil || strings.Contains(a.raw, `"last_status":""`) {
		t.Errorf("beta last execution = %v, want none", list[1].LastExecutionAt)
	}
	check(t, summaryOf(t, e, "alpha"))
	check(t, summaryOf(t, e, "beta"))
	for _, key := range []string{`"last_24h"`, `"dead_letters"`} {
		if !strings.Contains(a.raw, key) {
			t.Errorf("GET /api/instances = %s, want the key %s", a.raw, key)
		}
	}
}

func TestExecutionDetail(t *testing.T) {
	{
		e, mode := newEnv(t), ""
		failed, retry, ok := e.executions[5], e.executions[4], e.executions[6]
		related := []ops.Link{{ID: retry.ID, Origin: apmc.OriginRetry, Status: apmc.StatusSucceeded, StartedAt: retry.StartedAt}}
		for _, tc := range []struct {
			name       string
			path       string
			wantStatus int
			wantError  string
			wantLogs   int
			related    []ops.Link
		}{
			{"detail", "/api/instances/alpha/executions/" + failed.ID, http.StatusOK, "", 2, related},
			{"errors only", "/api/instances/alpha/executions/" + failed.ID + "?errors_only=true", http.StatusOK, "", 1, related},
			{"errors only off", "/api/instances/alpha/executions/" + failed.ID + "?errors_only=false", http.StatusOK, "", 2, related},
			{"no error lines", "/api/instances/alpha/executions/" + ok.ID + "?errors_only=true", http.StatusOK, "", 0, []ops.Link{}},
			{"a retry links to its original", "/api/instances/alpha/executions/" + retry.ID, http.StatusOK, "", 1, []ops.Link{}},
			{"bad errors_only", "/api/instances/alpha/executions/" + failed.ID + "?errors_only=maybe", http.StatusBadRequest, "errors_only must be true or false", 0, nil},
			{"bad errors_only on an unknown execution", "/api/instances/alpha/executions/01JZZZZZZZZZZZZZZZZZZZZZZZ?errors_only=maybe", http.StatusBadRequest, "errors_only", 0, nil},
			{"misspelt errors_only", "/api/instances/alpha/executions/" + failed.ID + "?errors=true", http.StatusBadRequest, `"errors"`, 0, nil},
			{"unknown execution", "/api/instances/alpha/executions/01JZZZZZZZZZZZZZZZZZZZZZZZ?errors_only=true", http.StatusNotFound, "not found", 0, nil},
		} {
			t.Run(mode+tc.name, func(t *testing.T) {
				a := e.get(t, http.MethodGet, tc.path, bearer)
				if a.status != tc.wantStatus {
					t.Fatalf("GET %s = %d %s, want %d", tc.path, a.status, a.raw, tc.wantStatus)
				}
				if tc.wantStatus != http.StatusOK {
					if msg := a.errorMessage(); !strings.Contains(msg, tc.wantError) {
						t.Errorf("error = %q, want it to say %q", msg, tc.wantError)
					}
					return
				}
				var d ops.Detail
				if err := json.Unmarshal([]byte(a.raw), &d); err != nil {
					t.Fatalf("detail %s: %v", a.raw, err)
				}
				if len(d.Logs) != tc.wantLogs || len(d.Steps) != 1 {
					t.Errorf("detail has %d log lines and %d steps, want %d and 1", len(d.Logs), len(d.Steps), tc.wantLogs)
				}
				if diff := cmp.Diff(tc.related, d.Related); diff != "" {
					t.Errorf("related (-want +got):\n%s", diff)
				}
				for _, key := range []string{"error", "contact", "attempt", "steps", "logs", "related"} {
					if _, ok := a.body[key]; !ok {
						t.Errorf("detail %s lacks the key %q", a.raw, key)
					}
				}
				want := e.execution(t, d.ID)
				if d.Error != want.Error || d.OriginalID != want.OriginalID || d.Attempt != want.Attempt {
					t.Errorf("detail error %q original %q attempt %d, want %q %q %d", d.Error, d.OriginalID, d.Attempt, want.Error, want.OriginalID, want.Attempt)
				}
			})
		}
	}
}
