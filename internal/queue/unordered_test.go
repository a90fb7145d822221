package queue_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

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
