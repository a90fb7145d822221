package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// MaxMessageBytes is SQS's limit for one message.
const MaxMessageBytes = 256 * 1024

// Sender is the part of the SQS client the producer uses.
type Sender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Producer puts changes on the FIFO queue.
type Producer struct {
	client   Sender
	queueURL string
}

// NewProducer returns a producer for the queue at queueURL.
func NewProducer(client Sender, queueURL string) *Producer {
	return &Producer{client: client, queueURL: queueURL}
}

// Enqueue puts the change on the queue. It returns only once SQS accepted it.
func (p *Producer) Enqueue(ctx context.Context, c apmc.Change) error {
	body, err := encode(c)
	if err != nil {
		return fmt.Errorf("encode change %s: %w", c.ID, err)
	}
	if len(body) > MaxMessageBytes {
		return apmc.Invalidf("change %s is %d bytes, over the queue's %d byte limit", c.ID, len(body), MaxMessageBytes)
	}
	_, err = p.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               aws.String(p.queueURL),
		MessageBody:            aws.String(body),
		MessageGroupId:         aws.String(c.GroupID()),
		MessageDeduplicationId: aws.String(c.DedupID()),
	}, func(o *sqs.Options) {
		// A FIFO queue answers a duplicate (same deduplication id, possibly a
		// different body: a webhook sent twice is received at two times) with
		// the first message's checksum, which would fail the check.
		o.DisableMessageChecksumValidation = true
	})
	if err != nil {
		return fmt.Errorf("send change %s to the queue: %w", c.ID, err)
	}
	return nil
}

// sqsUnsafe are characters JSON leaves as they are but SQS refuses in a
// message body; they are written as JSON escapes instead.
var sqsUnsafe = strings.NewReplacer("\ufffe", `\ufffe`, "\uffff", `\uffff`)

// encode writes the change as JSON without HTML escaping (which would
// triple the size of every <, > and &), in characters SQS accepts.
func encode(c apmc.Change) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return "", err
	}
	return sqsUnsafe.Replace(strings.TrimSuffix(b.String(), "\n")), nil
}
