package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ops"
	"github.com/apmc-sync/apmc/internal/queue"
)

// operatorToken is the token the test API accepts.
const operatorToken = "operator-token-9f2c41"

// env is an API server over kumo-backed stores holding two instances and
// the executions of the first.
type env struct {
	srv        *httptest.Server
	executions []apmc.Execution // of instance "alpha", newest first
	secrets    []string

	// The operations and their stores:
	svc     *awstest.Env
	queues  queue.Queues
	store   *dynamo.ExecutionStore
	service *ops.Service
	// The first sync's plans and job, in the contacts table, and the
	// backfill queue Start puts jobs on.
	contacts *dynamo.ContactStore
	jobs     queue.Queues
	backfill *backfill.Service
}

// newEnv serves the API with its operations over kumo-backed stores, a
// changes queue and a dead-letter queue.
func newEnv(t *testing.T) *env {
	t.Helper()
	svc := awstest.Kumo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tables := svc.Tables(t, "api")
	instances := svc.Instances(t, tables)
	ddb := svc.DynamoDB
	executions := dynamo.NewExecutionStore(ddb, tables.Executions)
	e := &env{secrets: []string{operatorToken}, svc: svc, store: executions}
	for _, id := range []string{"alpha", "beta"} {
		in := apmc.Instance{
			ID: id, Name: "Instance " + id, State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
			MailchimpListID: "list-" + id, AccessplanitBaseURL: "http://127.0.0.1:9/api/v2", DefaultCompanyID: "3",
			Mappings: apmc.DefaultMappings(),
			Secrets: apmc.Secrets{
				MailchimpAPIKey: "mc-key-" + id + "-71ad-us21", AccessplanitAPIKey: "ap-key-" + id + "-e03b",
				AccessplanitToken: "ap-token-" + id + "-5c9a", MailchimpToken: "mc-token-" + id + "-2f4d",
				MailchimpSigningSecret: "mc-signing-" + id + "-b7e1",
			},
		}
		if err := instances.Create(ctx, in); err != nil {
			t.Fatalf("Create(%s) error = %v", id, err)
		}
		e.secrets = append(e.secrets, in.Secrets.Values()...)
	}
	// Seven executions a minute apart, oldest first, then listed newest
	// first. The failed one and the held one keep their change; the retry
	// links to the failed one.
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	kinds := []struct {
		status  apmc.Status
		flow    apmc.Flow
		origin  apmc.Origin
		changed bool
		contact string
	}{
		{apmc.StatusSucceeded, apmc.FlowToMailchimp, apmc.OriginWebhook, true, "ada@example.com"},
		{apmc.StatusFailed, apmc.FlowToMailchimp, apmc.OriginWebhook, true, "ada@example.com"},
		{apmc.StatusSucceeded, apmc.FlowToMailchimp, apmc.OriginRetry, true, "ada@example.com"},
		{apmc.StatusSuppressed, apmc.FlowToAccessplanit, apmc.OriginWebhook, false, "ada@example.com"},
		{apmc.StatusSkipped, apmc.FlowToAccessplanit, apmc.OriginWebhook, false, "grace@example.com"},
		{apmc.StatusSucceeded, apmc.FlowToAccessplanit, apmc.OriginReplay, true, "grace@example.com"},
		{apmc.StatusHeld, apmc.FlowToMailchimp, apmc.OriginBackfill, true, "grace@example.com"},
	}
	for i, k := range kinds {
		at := base.Add(time.Duration(i) * time.Minute)
		x := apmc.Execution{
			ID: apmc.NewExecutionID(at), InstanceID: "alpha", ChangeID: fmt.Sprintf("change-%d", i),
			Flow: k.flow, Event: apmc.EventUpdated, Origin: k.origin, Attempt: 1, Status: k.status, Changed: k.changed,
			Contact: k.contact, ConfigVersion: 1, StartedAt: at, FinishedAt: at.Add(time.Second),
			Steps:     []apmc.Step{{Name: "write", Status: "ok", Output: map[string]any{"note": "done"}}},
			Logs:      []apmc.LogLine{{Time: at, Level: "info", Message: "applied"}},
			ExpiresAt: at.Add(30 * 24 * time.Hour),
		}
		switch k.status {
		case apmc.StatusFailed, apmc.StatusHeld:
			x.Change = &apmc.Change{ID: x.ChangeID, InstanceID: "alpha", Source: apmc.SideAccessplanit, Event: x.Event,
				ReceivedAt: at, Email: k.contact, UserID: fmt.Sprint(100 + i)}
		}
		if k.status == apmc.StatusFailed {
			x.Error = "mailchimp answered 400"
			x.Logs = append(x.Logs, apmc.LogLine{Time: at, Level: "error", Message: "rejected"})
		}
		if k.origin == apmc.OriginRetry {
			x.OriginalID = e.executions[0].ID // the failed one, saved just before
		}
		if err := executions.SaveExecution(ctx, x); err != nil {
			t.Fatalf("SaveExecution(%d) error = %v", i, err)
		}
		e.executions = append([]apmc.Execution{x}, e.executions...)
	}
	e.queues = svc.Queues(t, "api", 30)
	e.service = &ops.Service{
		Instances: instances, Executions: executions,
		Queue:       queue.NewProducer(svc.SQS, e.queues.ChangesURL),
		DeadLetters: &queue.DeadLetters{Client: svc.SQS, URL: e.queues.DeadLetterURL},
	}
	e.contacts = dynamo.NewContactStore(ddb, tables.Contacts)
	e.jobs = svc.Queues(t, "api-backfill", 30)
	e.backfill = &backfill.Service{Instances: instances, Store: e.contacts, Queue: queue.Jobs{Client: svc.SQS, URL: e.jobs.ChangesURL}}
	cfg := api.Config{Ops: e.service, Backfill: e.backfill, TokenHash: api.HashToken(operatorToken)}
	e.srv = httptest.NewServer(api.New(cfg))
	t.Cleanup(e.srv.Close)
	return e
}

// answer is a response as read by a test.
type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]json.RawMessage
}

func (a answer) errorMessage() string {
	var s string
	_ = json.Unmarshal(a.body["error"], &s)
	return s
}

// get sends a GET with the given Authorization header ("" for none),
// checks the answer is JSON that holds no secret, and returns it.
func (e *env) get(t *testing.T, method, path, auth string) answer {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatalf("NewRequest(%s) error = %v", path, err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s error = %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	a := answer{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type = %q, want application/json", method, path, ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s %s: Cache-Control = %q, want no-store", method, path, cc)
	}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Errorf("%s %s: body %q is not a JSON object: %v", method, path, raw, err)
	}
	for _, s := range e.secrets {
		if strings.Contains(a.raw, s) {
			t.Errorf("%s %s: the answer holds the secret %q", method, path, s)
		}
	}
	return a
}

// ids returns the ids of a list of executions.
func ids(list []apmc.Execution) []string {
	out := []string{}
	for _, x := range list {
		out = append(out, x.ID)
	}
	return out
}

// pick returns the ids of e's executions (newest first) that keep says to.
func (e *env) pick(keep func(x apmc.Execution) bool) []string {
	out := []string{}
	for _, x := range e.executions {
		if keep(x) {
			out = append(out, x.ID)
		}
	}
	return out
}

// plan stores a plan of the instance with n contacts to create in
// Mailchimp and one blocked, and returns it.
func (e *env) plan(t *testing.T, instanceID string, n int) backfill.Plan {
	t.Helper()
	now := time.Now().UTC()
	p := backfill.Plan{ID: "plan-" + strconv.FormatInt(now.UnixNano(), 36), InstanceID: instanceID, CreatedAt: now, ExpiresAt: now.Add(backfill.PlanTTL)}
	for i := range n {
		p.Contacts = append(p.Contacts, apmc.PairPlan{Email: fmt.Sprintf("new%d@example.com", i), UserID: fmt.Sprint(2000 + i), Action: apmc.PairCreateInMailchimp, Reason: "only in accessplanit"})
	}
	p.Contacts = append(p.Contacts, apmc.PairPlan{Email: "gone@example.com", Action: apmc.PairBlocked, Reason: "unsubscribed in Mailchimp"})
	p.Counts = apmc.PlanCounts(p.Contacts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.contacts.SavePlan(ctx, p); err != nil {
		t.Fatalf("SavePlan() error = %v", err)
	}
	return p
}
