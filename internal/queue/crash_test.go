package queue_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apmc-sync/apmc/internal/queue"
)

// errCrashed stands for a sync function that died in the middle of a batch.
var errCrashed = errors.New("the function died in the middle of the batch")

// crashingHandler applies the first applyBefore records of the first batch
// it gets through consumer and then dies: it panics, as a crashing function
// does, and the harness turns the panic into the batch error Lambda would
// see. Nothing of that batch is deleted, whatever was applied.
func crashingHandler(consumer *queue.Consumer, applyBefore int, crashed *bool) queue.BatchHandler {
	return func(ctx context.Context, ev events.SQSEvent) (res events.SQSEventResponse, err error) {
		if *crashed {
			return consumer.Handle(ctx, ev)
		}
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: %v", errCrashed, r)
			}
		}()
		*crashed = true
		n := min(applyBefore, len(ev.Records))
		if _, err := consumer.Handle(ctx, events.SQSEvent{Records: ev.Records[:n]}); err != nil {
			return events.SQSEventResponse{}, err
		}
		panic("killed")
	}
}

func TestCrashMidBatchLosesNothing(t *testing.T) {
	t.Parallel()
	client := newSQS(t)
	ctx := context.Background()
	// A 1 s visibility timeout: what the dead function held comes back soon.
	qs, err := queue.Create(ctx, client, strings.ReplaceAll(t.Name(), "/", "-"), 1, 5)
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	producer := queue.NewProducer(client, qs.ChangesURL)
	var want []string
	for i := range 12 {
		c := change(fmt.Sprintf("c%02d", i), fmt.Sprintf("contact%d@example.com", i%4))
		want = append(want, c.ID)
		if err := producer.Enqueue(ctx, c); err != nil {
			t.Fatalf("Enqueue(%s) error = %v", c.ID, err)
		}
	}

	// The first consumer applies part of its batch, then dies.
	first := &recordingApplier{}
	crashed := false
	dying := &queue.Poller{Client: client, QueueURL: qs.ChangesURL, Handler: crashingHandler(&queue.Consumer{Engine: first}, 3, &crashed), Workers: 1, Wait: time.Second}
	if err := dying.Once(ctx); !errors.Is(err, errCrashed) {
		t.Fatalf("Once() with a dying handler error = %v, want the crash", err)
	}
	appliedBeforeCrash := len(first.ids())
	if appliedBeforeCrash == 0 {
		t.Fatalf("the dying consumer applied nothing; the test needs part of a batch applied")
	}

	// A fresh consumer on the same queue finishes the work once the dead
	// one's messages are visible again.
	second := &recordingApplier{}
	poller := &queue.Poller{Client: client, QueueURL: qs.ChangesURL, Handler: (&queue.Consumer{Engine: second}).Handle, Workers: 1, Wait: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := poller.Once(ctx); err != nil {
			t.Fatalf("Once() error = %v", err)
		}
		if inQueue(t, client, qs.ChangesURL) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s the queue still holds messages; applied %v", second.ids())
		}
	}

	applied := map[string]bool{}
	for _, d := range append(first.applied, second.applied...) {
		applied[d.Change.ID] = true
	}
	for _, id := range want {
		if !applied[id] {
			t.Errorf("change %s was never applied: lost in the crash", id)
		}
	}
	// What the dead consumer held comes again as a later receive. (Real SQS
	// also keeps each group's order across the redelivery; kumo v0.33.1 puts
	// messages whose visibility expired back in map order, so the order is
	// not checked here.)
	redelivered := 0
	for _, d := range second.applied {
		if d.Attempt > 1 {
			redelivered++
		}
	}
	if redelivered < appliedBeforeCrash {
		t.Errorf("redelivered changes = %d, want at least the %d the dead consumer had applied (its batch was never deleted)", redelivered, appliedBeforeCrash)
	}
	if n, err := queue.Depth(ctx, client, qs.DeadLetterURL); err != nil || n != 0 {
		t.Errorf("dead-letter depth = %d (%v), want 0", n, err)
	}
}

// inQueue is the number of messages in the queue, visible or in flight.
func inQueue(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	got, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes() error = %v", err)
	}
	n := 0
	for _, v := range got.Attributes {
		x, _ := strconv.Atoi(v)
		n += x
	}
	return n
}
