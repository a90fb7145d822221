package queue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sivchari/kumo"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/queue"
)

func newSQS(t *testing.T) *sqs.Client {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	return sqs.NewFromConfig(awsconfig.Local(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

// recordingApplier applies deliveries by recording them; fail decides which fail.
type recordingApplier struct {
	mu      sync.Mutex
	applied []apmc.Delivery
	fail    func(d apmc.Delivery) bool
}

func (a *recordingApplier) Apply(_ context.Context, d apmc.Delivery) (apmc.Execution, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applied = append(a.applied, d)
	if a.fail != nil && a.fail(d) {
		return apmc.Execution{Status: apmc.StatusFailed, Error: "boom"}, errors.New("transient")
	}
	return apmc.Execution{Status: apmc.StatusSucceeded}, nil
}

func (a *recordingApplier) ids() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, d := range a.applied {
		out = append(out, fmt.Sprintf("%s@%d", d.Change.ID, d.Attempt))
	}
	return out
}

func change(id, email string) apmc.Change {
	return apmc.Change{ID: id, InstanceID: "i1", Source: apmc.SideAccessplanit, Event: apmc.EventUpdated, Email: email, ReceivedAt: time.Now()}
}

func setup(t *testing.T, applier *recordingApplier) (*sqs.Client, queue.Queues, *queue.Producer, *queue.Poller) {
	t.Helper()
	client := newSQS(t)
	ctx := context.Background()
	// kumo keeps its state per process, so each test gets its own queues.
	qs, err := queue.Create(ctx, client, strings.ReplaceAll(t.Name(), "/", "-"), 30, 5)
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	consumer := &queue.Consumer{Engine: applier, Visibility: client, QueueURL: qs.ChangesURL}
	poller := &queue.Poller{Client: client, QueueURL: qs.ChangesURL, Handler: consumer.Handle, Workers: 1, Wait: time.Second}
	return client, qs, queue.NewProducer(client, qs.ChangesURL), poller
}

func drain(t *testing.T, p *queue.Poller, rounds int) {
	t.Helper()
	for range rounds {
		if err := p.Once(context.Background()); err != nil {
			t.Fatalf("Once() error = %v", err)
		}
	}
}

func TestOrderAndDeduplication(t *testing.T) {
	applier := &recordingApplier{}
	_, _, producer, poller := setup(t, applier)
	ctx := context.Background()
	for _, c := range []apmc.Change{change("a1", "a@example.com"), change("b1", "b@example.com"), change("a2", "a@example.com"), change("a1", "a@example.com"), change("a3", "a@example.com")} {
		if err := producer.Enqueue(ctx, c); err != nil {
			t.Fatalf("Enqueue(%s) error = %v", c.ID, err)
		}
	}
	drain(t, poller, 3)
	got := applier.ids()
	var a []string
	for _, id := range got {
		if id[0] == 'a' {
			a = append(a, id)
		}
	}
	if want := []string{"a1@1", "a2@1", "a3@1"}; !slices.Equal(a, want) {
		t.Errorf("applied for a@ = %v, want %v (in order, duplicate dropped)", a, want)
	}
	if !slices.Contains(got, "b1@1") || len(got) != 4 {
		t.Errorf("applied = %v, want b1 too and 4 in all", got)
	}
}

func TestFailureStopsItsGroupOnly(t *testing.T) {
	applier := &recordingApplier{fail: func(d apmc.Delivery) bool { return d.Change.ID == "a1" && d.Attempt == 1 }}
	_, _, producer, poller := setup(t, applier)
	poller.Handler = (&queue.Consumer{Engine: applier}).Handle // no visibility change: redelivery after the queue timeout
	ctx := context.Background()
	for _, c := range []apmc.Change{change("a1", "a@example.com"), change("a2", "a@example.com"), change("b1", "b@example.com")} {
		if err := producer.Enqueue(ctx, c); err != nil {
			t.Fatalf("Enqueue() error = %v", err)
		}
	}
	drain(t, poller, 2)
	if got := applier.ids(); slices.Contains(got, "a2@1") || !slices.Contains(got, "b1@1") {
		t.Errorf("after a1 failed, applied = %v; want a2 held back and b1 applied", got)
	}
}

func TestRedriveToDeadLetterAfterFiveAttempts(t *testing.T) {
	applier := &recordingApplier{fail: func(apmc.Delivery) bool { return true }}
	client, qs, producer, poller := setup(t, applier)
	ctx := context.Background()
	// Retries become visible again at once, so five receives happen quickly.
	poller.Handler = (&queue.Consumer{Engine: applier, Visibility: client, QueueURL: qs.ChangesURL, RetryBase: time.Nanosecond}).Handle
	if err := producer.Enqueue(ctx, change("x1", "x@example.com")); err != nil {
		t.Fatalf("Enqueue() error = %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		drain(t, poller, 1)
		if n, _ := queue.Depth(ctx, client, qs.DeadLetterURL); n == 1 {
			break
		}
	}
	if n, err := queue.Depth(ctx, client, qs.DeadLetterURL); err != nil || n != 1 {
		t.Fatalf("dead-letter depth = %d (%v), want 1", n, err)
	}
	if got, want := applier.ids(), []string{"x1@1", "x1@2", "x1@3", "x1@4", "x1@5"}; !slices.Equal(got, want) {
		t.Errorf("attempts = %v, want %v", got, want)
	}
}

// TestBulkQueueRetriesAndDeadLetters: a change from the bulk queue is
// delayed on the bulk queue (the record's source ARN names it; a delay
// asked of the changes queue would fail and leave it hidden for the 30 s
// visibility timeout) and, after five receives, moves to the dead-letter
// queue the changes queue shares.
func TestBulkQueueRetriesAndDeadLetters(t *testing.T) {
	applier := &recordingApplier{fail: func(apmc.Delivery) bool { return true }}
	client, qs, _, _ := setup(t, applier)
	ctx := context.Background()
	qs, err := queue.CreateBulk(ctx, client, qs, strings.ReplaceAll(t.Name(), "/", "-"), 30, 5)
	if err != nil {
		t.Fatalf("CreateBulk() error = %v", err)
	}
	consumer := &queue.Consumer{Engine: applier, Visibility: client, QueueURL: qs.ChangesURL, BulkQueueURL: qs.BulkURL, RetryBase: time.Nanosecond}
	poller := &queue.Poller{Client: client, QueueURL: qs.BulkURL, QueueARN: qs.BulkARN, Handler: consumer.Handle, Workers: 1, Wait: time.Second}
	if err := queue.NewProducer(client, qs.BulkURL).Enqueue(ctx, change("x1", "x@example.com")); err != nil {
		t.Fatalf("Enqueue() error = %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		drain(t, poller, 1)
		if n, _ := queue.Depth(ctx, client, qs.DeadLetterURL); n == 1 {
			break
		}
	}
	if n, err := queue.Depth(ctx, client, qs.DeadLetterURL); err != nil || n != 1 {
		t.Fatalf("dead-letter depth = %d (%v), want 1 (attempts %v)", n, err, applier.ids())
	}
	if got, want := applier.ids(), []string{"x1@1", "x1@2", "x1@3", "x1@4", "x1@5"}; !slices.Equal(got, want) {
		t.Errorf("attempts = %v, want %v", got, want)
	}
}

func TestEnqueueRefusesOversizedChange(t *testing.T) {
	_, _, producer, _ := setup(t, &recordingApplier{})
	c := change("big", "big@example.com")
	c.Merges = apmc.Values{"NOTES": string(make([]byte, queue.MaxMessageBytes))}
	err := producer.Enqueue(context.Background(), c)
	if err == nil || !apmc.IsInvalid(err) {
		t.Errorf("Enqueue(oversized) error = %v, want an invalid-input error", err)
	}
}

func TestEnqueueKeepsCharactersSQSRefusesEscaped(t *testing.T) {
	applier := &recordingApplier{}
	_, _, producer, poller := setup(t, applier)
	c := change("odd", "odd@example.com")
	c.Merges = apmc.Values{"FNAME": "a\ufffeb\uffff<&>"}
	if err := producer.Enqueue(context.Background(), c); err != nil {
		t.Fatalf("Enqueue() error = %v", err)
	}
	drain(t, poller, 1)
	applier.mu.Lock()
	defer applier.mu.Unlock()
	if len(applier.applied) != 1 || applier.applied[0].Change.Merges["FNAME"] != "a\ufffeb\uffff<&>" {
		t.Errorf("applied = %+v, want the value back unchanged", applier.applied)
	}
}

// Changes held back behind a failed change of their contact stay in the
// group: they are applied only after it succeeds.
func TestHeldBackChangesWaitForTheFailedOne(t *testing.T) {
	failures := 0
	applier := &recordingApplier{fail: func(d apmc.Delivery) bool {
		if d.Change.ID == "a1" && failures < 2 {
			failures++
			return true
		}
		return false
	}}
	client, qs, producer, poller := setup(t, applier)
	ctx := context.Background()
	poller.Handler = (&queue.Consumer{Engine: applier, Visibility: client, QueueURL: qs.ChangesURL, RetryBase: time.Nanosecond}).Handle
	for _, id := range []string{"a1", "a2", "a3"} {
		if err := producer.Enqueue(ctx, change(id, "a@example.com")); err != nil {
			t.Fatalf("Enqueue(%s) error = %v", id, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && len(applier.ids()) < 5 {
		drain(t, poller, 1)
	}
	// a2 and a3 wait in the group until a1 succeeds, each applied once. (Their
	// order among themselves after being handed back is SQS's to keep: kumo
	// requeues messages that become visible together in no set order.)
	var order []string
	for _, id := range applier.ids() {
		order = append(order, id[:2])
	}
	if len(order) != 5 || !slices.Equal(order[:3], []string{"a1", "a1", "a1"}) {
		t.Errorf("applied = %v, want a1 three times before anything else", applier.ids())
	}
	rest := slices.Clone(order[min(3, len(order)):])
	slices.Sort(rest)
	if !slices.Equal(rest, []string{"a2", "a3"}) {
		t.Errorf("applied after a1 = %v, want a2 and a3 once each", order[min(3, len(order)):])
	}
	if n, _ := queue.Depth(ctx, client, qs.DeadLetterURL); n != 0 {
		t.Errorf("dead-letter depth = %d, want 0", n)
	}
}

// A batch whose invocation is about to time out starts no more changes: they
// are handed back, unapplied and with their attempts intact.
func TestNoChangeStartedTooCloseToTheDeadline(t *testing.T) {
	slow := &recordingApplier{}
	client, qs, producer, _ := setup(t, slow)
	ctx := context.Background()
	for _, id := range []string{"t1", "t2"} { // one contact: applied one after the other
		if err := producer.Enqueue(ctx, change(id, "t@example.com")); err != nil {
			t.Fatalf("Enqueue() error = %v", err)
		}
	}
	consumer := &queue.Consumer{Engine: sleepyApplier{slow, 2 * time.Second}, Visibility: client, QueueURL: qs.ChangesURL, RetryBase: time.Second, Reserve: time.Minute}
	// 3 s left at the start: the reserve becomes 1.5 s; after t1's 2 s, t2 is not started.
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	poller := &queue.Poller{Client: client, QueueURL: qs.ChangesURL, Handler: func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return consumer.Handle(short, ev)
	}, Wait: time.Second}
	drain(t, poller, 1)
	if got := slow.ids(); !slices.Equal(got, []string{"t1@1"}) {
		t.Fatalf("applied = %v, want only t1 started before the deadline drew near", got)
	}
	poller.Handler = (&queue.Consumer{Engine: slow, Visibility: client, QueueURL: qs.ChangesURL, RetryBase: time.Second}).Handle
	drain(t, poller, 2)
	if got := slow.ids(); len(got) != 2 || got[1][:2] != "t2" {
		t.Errorf("applied = %v, want t2 applied after t1 on a later receive", got)
	}
}

// sleepyApplier takes its time before applying.
type sleepyApplier struct {
	next  *recordingApplier
	sleep time.Duration
}

func (a sleepyApplier) Apply(ctx context.Context, d apmc.Delivery) (apmc.Execution, error) {
	time.Sleep(a.sleep)
	return a.next.Apply(ctx, d)
}

// deadLetters records the instances whose changes were handed back on
// their last receive.
type deadLetters struct {
	mu        sync.Mutex
	instances []string
}

func (d *deadLetters) DeadLettered(_ context.Context, instanceID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.instances = append(d.instances, instanceID)
}

// A change waiting behind a failed change of its contact reaches the
// queue's maxReceiveCount too, and moves to the dead-letter queue with no
// execution: the consumer reports it, on its last receive only.
func TestHandedBackChangeReportedWhenItIsDeadLettered(t *testing.T) {
	applier := &recordingApplier{fail: func(d apmc.Delivery) bool { return d.Change.ID == "x1" }}
	client, qs, producer, poller := setup(t, applier)
	ctx := context.Background()
	reported := &deadLetters{}
	poller.Handler = (&queue.Consumer{Engine: applier, Visibility: client, QueueURL: qs.ChangesURL, RetryBase: time.Nanosecond,
		DeadLetters: reported, MaxReceives: 5}).Handle
	for _, id := range []string{"x1", "x2"} {
		if err := producer.Enqueue(ctx, change(id, "x@example.com")); err != nil {
			t.Fatalf("Enqueue(%s) error = %v", id, err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		drain(t, poller, 1)
		if n, _ := queue.Depth(ctx, client, qs.DeadLetterURL); n == 2 {
			break
		}
	}
	if n, err := queue.Depth(ctx, client, qs.DeadLetterURL); err != nil || n != 2 {
		t.Fatalf("dead-letter depth = %d (%v), want 2", n, err)
	}
	reported.mu.Lock()
	defer reported.mu.Unlock()
	if !slices.Equal(reported.instances, []string{"i1"}) {
		t.Errorf("reported dead letters = %v, want x2's instance once (x1's execution reports its own)", reported.instances)
	}
}
