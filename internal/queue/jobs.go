package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/backfill"
)

// Jobs puts first-sync jobs on the FIFO backfill queue, one message group
// per instance: a continuation sent while its run's message is still in
// flight is received only once that message is deleted, so one instance's
// job never runs twice at once.
type Jobs struct {
	Client Sender
	URL    string
	// Now names each message's deduplication id; nil uses the clock.
	Now func() time.Time
}

// SendJob puts the message on the queue; every send is a new message (a
// continuation repeats its job's body).
func (j Jobs) SendJob(ctx context.Context, m backfill.Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode job of plan %s: %w", m.PlanID, err)
	}
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	_, err = j.Client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               aws.String(j.URL),
		MessageBody:            aws.String(string(body)),
		MessageGroupId:         aws.String(m.InstanceID),
		MessageDeduplicationId: aws.String(m.PlanID + ":" + strconv.FormatInt(now().UnixNano(), 36)),
	})
	if err != nil {
		return fmt.Errorf("send job of plan %s to the backfill queue: %w", m.PlanID, err)
	}
	return nil
}
