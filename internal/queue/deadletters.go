package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// DeadLetters reads and drains the dead-letter queue.
type DeadLetters struct {
	Client *sqs.Client
	URL    string
}

// Depth is the number of changes waiting in the dead-letter queue.
func (d *DeadLetters) Depth(ctx context.Context) (int, error) {
	return Depth(ctx, d.Client, d.URL)
}

// List returns up to max changes without removing them: the messages are
// received and made visible again at once.
func (d *DeadLetters) List(ctx context.Context, max int) ([]apmc.Change, error) {
	var out []apmc.Change
	var handles []string
	defer func() { d.release(context.WithoutCancel(ctx), handles) }()
	for len(out) < max {
		msgs, err := d.receive(ctx, min(10, max-len(out)))
		if err != nil {
			return out, err
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			handles = append(handles, aws.ToString(m.ReceiptHandle))
			out = append(out, decodeDead(m))
		}
	}
	return out, nil
}

// Take removes up to max changes, handing each to fn first. A change fn
// fails for is made visible again and Take stops there.
func (d *DeadLetters) Take(ctx context.Context, max int, fn func(apmc.Change) error) (int, error) {
	n := 0
	for n < max {
		msgs, err := d.receive(ctx, min(10, max-n))
		if err != nil {
			return n, err
		}
		if len(msgs) == 0 {
			return n, nil
		}
		for i, m := range msgs {
			if err := fn(decodeDead(m)); err != nil {
				var rest []string
				for _, r := range msgs[i:] {
					rest = append(rest, aws.ToString(r.ReceiptHandle))
				}
				d.release(context.WithoutCancel(ctx), rest)
				return n, fmt.Errorf("redrive message %s: %w", aws.ToString(m.MessageId), err)
			}
			if _, err := d.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(d.URL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return n, fmt.Errorf("remove redriven message %s: %w", aws.ToString(m.MessageId), err)
			}
			n++
		}
	}
	return n, nil
}

func (d *DeadLetters) receive(ctx context.Context, n int) ([]types.Message, error) {
	out, err := d.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:            aws.String(d.URL),
		MaxNumberOfMessages: int32(n),
		VisibilityTimeout:   30,
		WaitTimeSeconds:     0,
	})
	if err != nil {
		return nil, fmt.Errorf("read the dead-letter queue: %w", err)
	}
	return out.Messages, nil
}

// release makes received messages visible again.
func (d *DeadLetters) release(ctx context.Context, handles []string) {
	for i := 0; i < len(handles); i += 10 {
		var entries []types.ChangeMessageVisibilityBatchRequestEntry
		for j, h := range handles[i:min(i+10, len(handles))] {
			entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), ReceiptHandle: aws.String(h), VisibilityTimeout: 0})
		}
		_, _ = d.Client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(d.URL), Entries: entries})
	}
}

// decodeDead decodes a dead message; one that is not a change is shown with
// its message id so an operator can find it.
func decodeDead(m types.Message) apmc.Change {
	var c apmc.Change
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &c); err != nil || c.ID == "" {
		return apmc.Change{ID: "undecodable:" + aws.ToString(m.MessageId)}
	}
	return c
}
