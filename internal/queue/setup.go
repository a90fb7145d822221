package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Queues names the changes queue and its dead-letter queue, and the bulk
// queue (the changes of instances in a burst) where there is one.
type Queues struct {
	ChangesURL, ChangesARN       string
	DeadLetterURL, DeadLetterARN string
	BulkURL, BulkARN             string
}

// Create makes the FIFO changes queue "<name>.fifo" and its FIFO dead-letter
// queue "<name>-dlq.fifo" with the same settings as the SAM template (redrive
// after maxReceiveCount receives). It is for the local stack and tests; in AWS
// the template creates them. Existing queues are reused.
func Create(ctx context.Context, client *sqs.Client, name string, visibilitySeconds, maxReceiveCount int) (Queues, error) {
	var q Queues
	var err error
	q.DeadLetterURL, q.DeadLetterARN, err = createFIFO(ctx, client, name+"-dlq.fifo", map[string]string{
		"MessageRetentionPeriod": "1209600",
	})
	if err != nil {
		return Queues{}, err
	}
	q.ChangesURL, q.ChangesARN, err = createRedriven(ctx, client, name+".fifo", q.DeadLetterARN, visibilitySeconds, maxReceiveCount)
	return q, err
}

// CreateBulk adds to q the FIFO bulk queue "<name>-bulk.fifo", with the
// changes queue's settings and its dead-letter queue, as the SAM template
// creates it: one dead-letter queue holds what neither lane could apply.
func CreateBulk(ctx context.Context, client *sqs.Client, q Queues, name string, visibilitySeconds, maxReceiveCount int) (Queues, error) {
	var err error
	q.BulkURL, q.BulkARN, err = createRedriven(ctx, client, name+"-bulk.fifo", q.DeadLetterARN, visibilitySeconds, maxReceiveCount)
	return q, err
}

// createRedriven makes a FIFO queue whose messages move to the dead-letter
// queue after maxReceiveCount receives.
func createRedriven(ctx context.Context, client *sqs.Client, name, deadLetterARN string, visibilitySeconds, maxReceiveCount int) (url, arn string, err error) {
	redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": deadLetterARN, "maxReceiveCount": strconv.Itoa(maxReceiveCount)})
	return createFIFO(ctx, client, name, map[string]string{
		"VisibilityTimeout": strconv.Itoa(visibilitySeconds),
		"RedrivePolicy":     string(redrive),
	})
}

func createFIFO(ctx context.Context, client *sqs.Client, name string, attrs map[string]string) (url, arn string, err error) {
	attrs["FifoQueue"] = "true"
	attrs["ContentBasedDeduplication"] = "false"
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	}
	got, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       out.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("read queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), got.Attributes[string(types.QueueAttributeNameQueueArn)], nil
}

// Depth returns the approximate number of visible messages in a queue.
func Depth(ctx context.Context, client *sqs.Client, url string) (int, error) {
	got, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		return 0, fmt.Errorf("read queue depth: %w", err)
	}
	n, _ := strconv.Atoi(got.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	return n, nil
}

// BulkShare splits the sync's concurrency between its two event sources:
// the bulk queue gets half of total (at least 1), the changes queue the
// rest (at least 1), so a burst never takes the capacity other instances'
// changes are applied with. The template's SyncLanes mapping holds the same
// split for each allowed SyncMaximumConcurrency, and the local stack's
// pollers follow it.
func BulkShare(total int) (changes, bulk int) {
	bulk = max(total/2, 1)
	return max(total-bulk, 1), bulk
}
