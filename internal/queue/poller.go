package queue

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Receiver is the part of the SQS client the poller uses.
type Receiver interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// BatchHandler handles one batch the way a Lambda function with
// ReportBatchItemFailures does; Consumer.Handle is one.
type BatchHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Poller feeds a BatchHandler from an SQS queue as Lambda's event source
// mapping does: it receives batches, hands them over, and deletes the records
// that did not fail. Failed records stay for the queue's redrive policy.
type Poller struct {
	Client   Receiver
	QueueURL string
	QueueARN string
	Handler  BatchHandler
	// Workers is how many batches are handled at once (the function's
	// maximum concurrency); default 2.
	Workers int
	// BatchSize is at most 10; default 10.
	BatchSize int
	// Wait is the long-poll wait; default 1 s.
	Wait   time.Duration
	Logger *slog.Logger
}

// Run polls until ctx is done.
func (p *Poller) Run(ctx context.Context) {
	workers := max(p.Workers, 1)
	if p.Workers == 0 {
		workers = 2
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { p.loop(ctx) })
	}
	wg.Wait()
}

func (p *Poller) loop(ctx context.Context) {
	for ctx.Err() == nil {
		if err := p.Once(ctx); err != nil && ctx.Err() == nil {
			p.logger().Warn("polling the queue failed; retrying", "error", err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// Once receives and handles one batch.
func (p *Poller) Once(ctx context.Context) error {
	size := p.BatchSize
	if size <= 0 || size > 10 {
		size = 10
	}
	wait := p.Wait
	if wait <= 0 {
		wait = time.Second
	}
	out, err := p.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.QueueURL),
		MaxNumberOfMessages:         int32(size),
		WaitTimeSeconds:             int32(wait / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return err
	}
	if len(out.Messages) == 0 {
		return nil
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(out.Messages))}
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:      aws.ToString(m.MessageId),
			ReceiptHandle:  aws.ToString(m.ReceiptHandle),
			Body:           aws.ToString(m.Body),
			Attributes:     m.Attributes,
			EventSource:    "aws:sqs",
			EventSourceARN: p.QueueARN,
		})
	}
	res, err := p.Handler(ctx, ev)
	if err != nil {
		return errors.Join(errors.New("batch handler failed; the whole batch is retried"), err)
	}
	failed := map[string]bool{}
	for _, f := range res.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var entries []types.DeleteMessageBatchRequestEntry
	for i, r := range ev.Records {
		if !failed[r.MessageId] {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)})
		}
	}
	if len(entries) == 0 {
		return nil
	}
	// Use a context that outlives a cancelled poll so handled work is not redone.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	del, err := p.Client.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.QueueURL), Entries: entries})
	if err != nil {
		return err
	}
	for _, f := range del.Failed {
		p.logger().Warn("could not delete a handled message; it will be handled again", "id", aws.ToString(f.Id), "error", aws.ToString(f.Message))
	}
	return nil
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}
