package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/queue"
)

// TestBulkQueueDeliveriesAreUnordered puts changes on both queues and
// consumes them as the local stack does (one consumer, a poller per queue):
// every change from the bulk queue must reach the engine as unordered (its
// Mailchimp echo comes through the changes queue, not behind it), and every
// change from the changes queue must not.
func TestBulkQueueDeliveriesAreUnordered(t *testing.T) {
	applier := &recordingApplier{}
	client, qs, producer, _ := setup(t, applier)
	ctx := context.Background()
	qs, err := queue.CreateBulk(ctx, client, qs, strings.ReplaceAll(t.Name(), "/", "-"), 30, 5)
	if err != nil {
		t.Fatalf("CreateBulk() error = %v", err)
	}
	consumer := &queue.Consumer{Engine: applier, Visibility: client, QueueURL: qs.ChangesURL, BulkQueueURL: qs.BulkURL}
	pollers := []*queue.Poller{
		{Client: client, QueueURL: qs.ChangesURL, QueueARN: qs.ChangesARN, Handler: consumer.Handle, Workers: 1, Wait: time.Second},
		{Client: client, QueueURL: qs.BulkURL, QueueARN: qs.BulkARN, Handler: consumer.Handle, Workers: 1, Wait: time.Second},
	}
	bulk := queue.NewProducer(client, qs.BulkURL)
	// One contact's changes on both queues, as a burst that starts mid-way
	// splits them, and other contacts' on one queue each.
	want := map[string]bool{}
	for _, c := range []struct {
		id, email string
		bulk      bool
	}{
		{"a1", "a@example.com", false},
		{"a2", "a@example.com", true},
		{"b1", "b@example.com", true},
		{"b2", "b@example.com", true},
		{"c1", "c@example.com", false},
	} {
		p := producer
		if c.bulk {
			p = bulk
		}
		if err := p.Enqueue(ctx, change(c.id, c.email)); err != nil {
			t.Fatalf("Enqueue(%s) error = %v", c.id, err)
		}
		want[c.id] = c.bulk
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(applier.ids()) < len(want) && time.Now().Before(deadline) {
		for _, p := range pollers {
			drain(t, p, 1)
		}
	}
	applier.mu.Lock()
	defer applier.mu.Unlock()
	got := map[string]bool{}
	for _, d := range applier.applied {
		got[d.Change.ID] = d.Unordered
	}
	for id, fromBulk := range want {
		unordered, ok := got[id]
		switch {
		case !ok:
			t.Errorf("change %s never reached the engine; applied %v", id, applier.applied)
		case unordered != fromBulk:
			t.Errorf("change %s (from the bulk queue: %t) reached the engine with Unordered = %t, want %t", id, fromBulk, unordered, fromBulk)
		}
	}
}

// TestLambdaRecordsFromTheBulkQueueAreUnordered hands the consumer records
// as Lambda's event source mappings do, each naming its queue by ARN, and
// checks which reach the engine as unordered: only those whose ARN names
// the bulk queue the function was given.
func TestLambdaRecordsFromTheBulkQueueAreUnordered(t *testing.T) {
	const (
		account = "arn:aws:sqs:eu-west-2:123456789012:"
		urls    = "https://sqs.eu-west-2.amazonaws.com/123456789012/"
		changes = "apmc-ChangesQueue-1Q2W3E4R5T6Y.fifo"
		bulk    = "apmc-BulkQueue-7U8I9O0P1A2S.fifo"
	)
	tests := []struct {
		name    string
		bulkURL string // the function's BULK_QUEUE_URL
		arn     string // the record's eventSourceARN
		want    bool
	}{
		{"from the bulk queue", urls + bulk, account + bulk, true},
		{"from the changes queue", urls + bulk, account + changes, false},
		{"a queue whose name ends in the bulk queue's", urls + bulk, account + "other-" + bulk, false},
		{"no source ARN", urls + bulk, "", false},
		{"a function without a bulk queue", "", account + bulk, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			applier := &recordingApplier{}
			consumer := &queue.Consumer{Engine: applier, QueueURL: urls + changes, BulkQueueURL: tt.bulkURL}
			body, err := json.Marshal(change("x1", "x@example.com"))
			if err != nil {
				t.Fatalf("marshal change: %v", err)
			}
			ev := events.SQSEvent{Records: []events.SQSMessage{{
				MessageId: "m1", Body: string(body), EventSource: "aws:sqs", EventSourceARN: tt.arn,
				Attributes: map[string]string{"ApproximateReceiveCount": "1", "MessageGroupId": "g1"},
			}}}
			res, err := consumer.Handle(context.Background(), ev)
			if err != nil || len(res.BatchItemFailures) != 0 {
				t.Fatalf("Handle() = %v, %v; want the record applied", res, err)
			}
			if len(applier.applied) != 1 {
				t.Fatalf("engine got %d deliveries, want 1", len(applier.applied))
			}
			if got := applier.applied[0].Unordered; got != tt.want {
				t.Errorf("record from %q with bulk queue %q reached the engine with Unordered = %t, want %t", tt.arn, tt.bulkURL, got, tt.want)
			}
		})
	}
}

// orderedOnly is an engine that refuses to apply the changes it names from
// the bulk queue, as the sync's engine does for a change that would create
// a User (apmc.ErrOrderedQueue).
type orderedOnly struct {
	recordingApplier
	ids    map[string]bool
	failed map[string]bool // the changes whose first attempt failed
}

// Apply fails the first attempt of a change it names (a transient
// failure, recorded), and refuses its later ones from the bulk queue.
func (a *orderedOnly) Apply(ctx context.Context, d apmc.Delivery) (apmc.Execution, error) {
	exec, err := a.recordingApplier.Apply(ctx, d)
	if d.Unordered && a.ids[d.Change.ID] {
		a.mu.Lock()
		defer a.mu.Unlock()
		if !a.failed[d.Change.ID] {
			a.failed[d.Change.ID] = true
			return apmc.Execution{Status: apmc.StatusFailed}, errors.New("transient")
		}
		return apmc.Execution{}, fmt.Errorf("apply change %s: %w", d.Change.ID, apmc.ErrOrderedQueue)
	}
	return exec, err
}

// TestChangeThatNeedsOrderMovesToTheChangesQueue: a change from the bulk
// queue that the engine will apply only from the changes queue is moved
// there (and gone from the bulk queue), then applied from it, once; a
// consumer with nowhere to move it leaves it for a retry instead of losing
// it.
func TestChangeThatNeedsOrderMovesToTheChangesQueue(t *testing.T) {
	for _, tt := range []struct {
		name    string
		requeue bool
	}{{"moved", true}, {"nowhere-to-move-it", false}} {
		t.Run(tt.name, func(t *testing.T) {
			applier := &orderedOnly{ids: map[string]bool{"new1": true}, failed: map[string]bool{}}
			client, qs, _, _ := setup(t, &applier.recordingApplier)
			ctx := context.Background()
			qs, err := queue.CreateBulk(ctx, client, qs, strings.ReplaceAll(t.Name(), "/", "-"), 30, 5)
			if err != nil {
				t.Fatalf("CreateBulk() error = %v", err)
			}
			consumer := &queue.Consumer{Engine: applier, Visibility: client, QueueURL: qs.ChangesURL, BulkQueueURL: qs.BulkURL, RetryBase: time.Millisecond}
			if tt.requeue {
				consumer.Requeue = queue.NewProducer(client, qs.ChangesURL)
			}
			changesPoller := &queue.Poller{Client: client, QueueURL: qs.ChangesURL, QueueARN: qs.ChangesARN, Handler: consumer.Handle, Workers: 1, Wait: time.Second}
			bulkPoller := &queue.Poller{Client: client, QueueURL: qs.BulkURL, QueueARN: qs.BulkARN, Handler: consumer.Handle, Workers: 1, Wait: time.Second}
			for _, id := range []string{"new1", "other1"} {
				if err := queue.NewProducer(client, qs.BulkURL).Enqueue(ctx, change(id, id+"@example.com")); err != nil {
					t.Fatalf("Enqueue(%s) error = %v", id, err)
				}
			}
			drain(t, bulkPoller, 1)
			time.Sleep(1200 * time.Millisecond) // the failed attempt's retry delay
			drain(t, bulkPoller, 1)
			drain(t, changesPoller, 2)
			applier.mu.Lock()
			var got []string
			for _, d := range applier.applied {
				got = append(got, fmt.Sprintf("%s unordered=%t prior=%d", d.Change.ID, d.Unordered, d.Change.PriorAttempts))
			}
			applier.mu.Unlock()
			// Moved on its second receive (the first failed and was
			// recorded), its attempts go on from 1.
			want := []string{"new1 unordered=true prior=0", "other1 unordered=true prior=0", "new1 unordered=true prior=0", "new1 unordered=false prior=1"}
			if !tt.requeue {
				want = want[:3]
			}
			if !slices.Equal(sortedCopy(got), sortedCopy(want)) {
				t.Errorf("deliveries = %v, want %v", got, want)
			}
			// The bulk queue holds the change again only when it could not
			// be moved (visible after its retry delay).
			left := 0
			for range 8 {
				out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qs.BulkURL), MaxNumberOfMessages: 10, VisibilityTimeout: 0})
				if err != nil {
					t.Fatal(err)
				}
				left += len(out.Messages)
				if left > 0 {
					break
				}
				time.Sleep(400 * time.Millisecond)
			}
			if wantLeft := map[bool]int{true: 0, false: 1}[tt.requeue]; left != wantLeft {
				t.Errorf("bulk queue holds %d messages, want %d", left, wantLeft)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestGroupFollowsItsMovedChange: when a change of a message group is moved
// to the changes queue, the group's later changes in the batch follow it
// there, in order, instead of being applied (they would overtake it).
func TestGroupFollowsItsMovedChange(t *testing.T) {
	applier := &orderedOnly{ids: map[string]bool{"a1": true}, failed: map[string]bool{"a1": true}}
	client, qs, _, _ := setup(t, &applier.recordingApplier)
	ctx := context.Background()
	qs, err := queue.CreateBulk(ctx, client, qs, strings.ReplaceAll(t.Name(), "/", "-"), 30, 5)
	if err != nil {
		t.Fatalf("CreateBulk() error = %v", err)
	}
	consumer := &queue.Consumer{Engine: applier, Visibility: client, QueueURL: qs.ChangesURL, BulkQueueURL: qs.BulkURL, Requeue: queue.NewProducer(client, qs.ChangesURL)}
	var records []events.SQSMessage
	for i, c := range []apmc.Change{change("a1", "a@example.com"), change("a2", "a@example.com"), change("b1", "b@example.com")} {
		body, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, events.SQSMessage{
			MessageId: fmt.Sprintf("m%d", i), Body: string(body), EventSource: "aws:sqs", EventSourceARN: qs.BulkARN,
			Attributes: map[string]string{"ApproximateReceiveCount": "1", "MessageGroupId": c.GroupID()},
		})
	}
	res, err := consumer.Handle(ctx, events.SQSEvent{Records: records})
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle() = %v, %v; want every record done", res, err)
	}
	applier.mu.Lock()
	var applied []string
	for _, d := range applier.applied {
		applied = append(applied, d.Change.ID)
	}
	applier.mu.Unlock()
	if !slices.Equal(sortedCopy(applied), []string{"a1", "b1"}) {
		t.Errorf("engine got %v, want a1 (moved) and b1 (another group), not a2", applied)
	}
	var moved []string
	for range 3 {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qs.ChangesURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var c apmc.Change
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &c); err != nil {
				t.Fatal(err)
			}
			moved = append(moved, c.ID)
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(qs.ChangesURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
		if len(moved) >= 2 {
			break
		}
	}
	if !slices.Equal(moved, []string{"a1", "a2"}) {
		t.Errorf("changes queue holds %v, want a1 then a2", moved)
	}
}
