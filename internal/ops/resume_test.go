package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ops"
	"github.com/apmc-sync/apmc/internal/queue"
)

// stack is ops over kumo-backed stores and queues.
type stack struct {
	svc        *awstest.Env
	queues     queue.Queues
	instances  *dynamo.InstanceStore
	executions *dynamo.ExecutionStore
	producer   *queue.Producer
	tables     dynamo.Tables
}

func newStack(t *testing.T) *stack {
	t.Helper()
	svc := awstest.Kumo(t)
	tables := svc.Tables(t, "ops")
	s := &stack{svc: svc, queues: svc.Queues(t, "ops", 30), instances: svc.Instances(t, tables), tables: tables}
	s.executions = dynamo.NewExecutionStore(svc.DynamoDB, tables.Executions)
	s.producer = queue.NewProducer(svc.SQS, s.queues.ChangesURL)
	in := apmc.Instance{
		ID: "inst", Name: "Instance", State: apmc.StatePaused, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
		MailchimpListID: "list", AccessplanitBaseURL: "http://127.0.0.1:9/api/v2", DefaultCompanyID: "3",
		Mappings: apmc.DefaultMappings(),
		Secrets:  apmc.Secrets{MailchimpAPIKey: "mc-key-0123-us21", AccessplanitAPIKey: "ap-key-4567"},
	}
	if err := s.instances.Create(context.Background(), in); err != nil {
		t.Fatalf("Create(inst) error = %v", err)
	}
	return s
}

// hold stores a held execution of a change to email made at at.
func (s *stack) hold(t *testing.T, email string, at time.Time, withChange bool) apmc.Execution {
	t.Helper()
	c := apmc.Change{ID: "delivery-" + at.Format("150405.000000"), InstanceID: "inst", Source: apmc.SideMailchimp,
		Event: apmc.EventUpdated, ReceivedAt: at, Email: email, Merges: apmc.Values{"FNAME": at.Format("15:04:05.000")}}
	e := apmc.Execution{
		ID: apmc.FirstExecutionID(c), InstanceID: "inst", ChangeID: c.ID, Flow: apmc.FlowToAccessplanit, Event: c.Event,
		Origin: apmc.OriginWebhook, Attempt: 1, Status: apmc.StatusHeld, Contact: email, StartedAt: at, FinishedAt: at,
		Steps: []apmc.Step{}, Logs: []apmc.LogLine{}, ExpiresAt: at.Add(24 * time.Hour),
	}
	if withChange {
		e.Change = &c
	}
	if err := s.executions.SaveExecution(context.Background(), e); err != nil {
		t.Fatalf("SaveExecution(%s) error = %v", e.ID, err)
	}
	return e
}

// drain receives every change on the changes queue, in queue order, and
// deletes them.
func (s *stack) drain(t *testing.T) []apmc.Change {
	t.Helper()
	ctx := context.Background()
	var out []apmc.Change
	for {
		res, err := s.svc.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.queues.ChangesURL), MaxNumberOfMessages: 10})
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
			if _, err := s.svc.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.queues.ChangesURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage() error = %v", err)
			}
		}
	}
}

// lateQueue is the real producer that, on the first change it queues, has
// another change held: one held while Resume runs.
type lateQueue struct {
	*queue.Producer
	once sync.Once
	late func()
}

func (q *lateQueue) Enqueue(ctx context.Context, c apmc.Change) error {
	q.once.Do(q.late)
	return q.Producer.Enqueue(ctx, c)
}

// laggingIndex is the real execution store whose held query answers, for
// a while, with executions that are no longer held, as the status index
// does until it catches up.
type laggingIndex struct {
	*dynamo.ExecutionStore
	mu       sync.Mutex
	stale    []apmc.Execution
	lags     int
	maxLimit int // largest page size asked for
}

func (l *laggingIndex) Executions(ctx context.Context, id string, q apmc.ExecutionQuery) ([]apmc.Execution, string, error) {
	page, next, err := l.ExecutionStore.Executions(ctx, id, q)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxLimit = max(l.maxLimit, q.Limit)
	if err != nil || q.Status != apmc.StatusHeld {
		return page, next, err
	}
	if l.stale == nil {
		l.stale = slices.Clone(page)
		return page, next, nil
	}
	if l.lags > 0 {
		l.lags--
		page = append(page, l.stale...)
	}
	return page, next, nil
}

func TestResumeReleasesEveryHeldChangeOnceInOrder(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		name     string
		lags     int // passes that still see released executions as held
		late     bool
		pageSize int // 0: the default
	}{
		{name: "held before resume"},
		{name: "one held while resume runs", late: true},
		{name: "the status index lags", lags: 2},
		{name: "both", late: true, lags: 1},
		{name: "two per page", pageSize: 2},
		{name: "two per page, both", late: true, lags: 1, pageSize: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			ctx := context.Background()
			var want []string // held execution ids, oldest first
			// Stored out of order: Resume sorts them.
			for _, i := range []int{2, 0, 3, 1} {
				e := s.hold(t, "ada@example.com", base.Add(time.Duration(i)*time.Minute), true)
				want = append(want, e.ID)
			}
			slices.Sort(want)
			keepless := s.hold(t, "ada@example.com", base.Add(-time.Minute), false)
			q := &lateQueue{Producer: s.producer, late: func() {}}
			if tc.late {
				q.late = func() {
					e := s.hold(t, "ada@example.com", base.Add(10*time.Minute), true)
					want = append(want, e.ID)
				}
			}
			executions := &laggingIndex{ExecutionStore: s.executions, lags: tc.lags}
			svc := &ops.Service{Instances: s.instances, Executions: executions, Queue: q, Bounds: ops.Bounds{PageSize: tc.pageSize}}

			res, err := svc.Resume(ctx, "inst")
			if err != nil {
				t.Fatalf("Resume() error = %v", err)
			}
			if res.Released != len(want) || res.Instance.State != apmc.StateEnabled {
				t.Errorf("Resume() = released %d, state %s; want %d, enabled", res.Released, res.Instance.State, len(want))
			}
			if tc.pageSize != 0 && executions.maxLimit > tc.pageSize {
				t.Errorf("Resume() asked for pages of %d, want at most %d", executions.maxLimit, tc.pageSize)
			}
			var got []string
			for _, c := range s.drain(t) {
				got = append(got, c.OriginalExecutionID)
				if !strings.Contains(c.ID, "#resume-") {
					t.Errorf("released change id %q, want a fresh resume delivery id", c.ID)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("changes queued (original execution ids, -want +got):\n%s", diff)
			}
			for _, id := range want {
				e, err := s.executions.Execution(ctx, "inst", id)
				if err != nil || e.Status != apmc.StatusSkipped || !strings.Contains(e.Reason, "released on resume") {
					t.Errorf("held execution %s after resume = %s %q (%v), want skipped and released", id, e.Status, e.Reason, err)
				}
			}
			if e, err := s.executions.Execution(ctx, "inst", keepless.ID); err != nil || e.Status != apmc.StatusHeld {
				t.Errorf("execution without a change after resume = %s (%v), want left held", e.Status, err)
			}

			// Resuming again releases nothing more.
			again, err := (&ops.Service{Instances: s.instances, Executions: s.executions, Queue: s.producer}).Resume(ctx, "inst")
			if err != nil || again.Released != 0 {
				t.Errorf("second Resume() = released %d, %v; want 0", again.Released, err)
			}
			if extra := s.drain(t); len(extra) != 0 {
				t.Errorf("second Resume() queued %d changes, want none", len(extra))
			}
		})
	}
}

func TestResumeUnknownInstance(t *testing.T) {
	s := newStack(t)
	_, err := (&ops.Service{Instances: s.instances, Executions: s.executions, Queue: s.producer}).Resume(context.Background(), "nobody")
	if !errors.Is(err, apmc.ErrNotFound) || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("Resume(nobody) error = %v, want not found, naming it", err)
	}
}

// A held retry released on resume carries when its change was first
// received, as its earlier attempts may have written (the engine tells
// those writes from others' by it); a held first attempt wrote nothing.
func TestResumeKeepsTheFirstReceiptOfAHeldRetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		attempt   int
		wantFirst bool
	}{
		{name: "a held first attempt", attempt: 1},
		{name: "a held retry", attempt: 3, wantFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			ctx := context.Background()
			e := s.hold(t, "ada@example.com", time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond), true)
			e.Attempt = tc.attempt
			if err := s.executions.SaveExecution(ctx, e); err != nil {
				t.Fatal(err)
			}
			svc := &ops.Service{Instances: s.instances, Executions: s.executions, Queue: s.producer}
			if _, err := svc.Resume(ctx, "inst"); err != nil {
				t.Fatalf("Resume() error = %v", err)
			}
			got := s.drain(t)
			if len(got) != 1 {
				t.Fatalf("released %d changes, want 1", len(got))
			}
			want := time.Time{}
			if tc.wantFirst {
				want = e.Change.ReceivedAt
			}
			if !got[0].FirstReceivedAt.Equal(want) {
				t.Errorf("released change first received %v, want %v", got[0].FirstReceivedAt, want)
			}
		})
	}
}
