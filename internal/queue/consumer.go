package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Applier applies one delivery; apmc.Engine is one.
type Applier interface {
	Apply(ctx context.Context, d apmc.Delivery) (apmc.Execution, error)
}

// BatchReader reads the source state of a whole batch's changes at once, so
// a burst costs one accessplanit request per batch; apmc.Engine is one.
type BatchReader interface {
	ReadBatch(ctx context.Context, changes []apmc.Change) *apmc.Reads
}

// VisibilityChanger is the part of the SQS client used to delay retries.
type VisibilityChanger interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Consumer applies a batch of SQS records and reports the ones to retry.
type Consumer struct {
	Engine Applier
	// Visibility, when set, delays each retry: the n-th failed receive hides
	// the message for RetryBase·2^(n-1), at most 12 hours.
	Visibility VisibilityChanger
	// QueueURL is the changes queue; BulkQueueURL, when the function also
	// consumes the bulk queue, is that one. A record's visibility is
	// changed on the queue its EventSourceARN names, and a record from the
	// bulk queue reaches the engine as unordered (apmc.Delivery.Unordered):
	// what is queued for its contact on the changes queue is not ordered
	// with it.
	QueueURL     string
	BulkQueueURL string
	RetryBase    time.Duration
	// Parallel is how many message groups are applied at once (default 10).
	Parallel int
	// Reserve is the time a change may need: a change is not started when
	// less than Reserve is left before the invocation's deadline; it is
	// handed back for its next receive instead of being cut off half-way.
	// Zero starts every change.
	Reserve time.Duration
	// Linger bounds how long a change's write waits for the writes of the
	// batch's other changes, to go out with them; 0 means
	// apmc.DefaultLinger.
	Linger time.Duration
	// SingleWrites writes each change on its own (a Mailchimp call and an
	// execution record each), as before writes were grouped; for
	// comparisons.
	SingleWrites bool
	Logger       *slog.Logger
	// DeadLetters, when set, is told of each change handed back unapplied
	// on its last receive (MaxReceives): the queue moves it to the
	// dead-letter queue with no execution recorded.
	DeadLetters DeadLetterObserver
	// MaxReceives is the queue's maxReceiveCount; 0 means
	// apmc.DefaultMaxAttempts.
	MaxReceives int
	// Requeue is the changes queue, for a change from the bulk queue that
	// must be applied from there (apmc.ErrOrderedQueue): it is moved into
	// its message group on the changes queue.
	Requeue Requeuer
}

// Requeuer puts a change on a queue; *Producer is one.
type Requeuer interface {
	Enqueue(ctx context.Context, c apmc.Change) error
}

// DeadLetterObserver is told of a change of an instance that moves to the
// dead-letter queue unapplied; *health.Tracker is one.
type DeadLetterObserver interface {
	DeadLettered(ctx context.Context, instanceID string)
}

// Handle applies the records of one batch. Records of one message group are
// applied in order; once one fails, the later ones of its group are not
// applied and are reported as failures too, so order is kept. Different groups
// are applied in parallel.
func (c *Consumer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var order []string
	groups := map[string][]events.SQSMessage{}
	for _, r := range ev.Records {
		g := groupOf(r)
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	var reads *apmc.Reads
	if br, ok := c.Engine.(BatchReader); ok {
		var changes []apmc.Change
		for _, r := range ev.Records {
			var ch apmc.Change
			if json.Unmarshal([]byte(r.Body), &ch) == nil && ch.InstanceID != "" {
				changes = append(changes, ch)
			}
		}
		reads = br.ReadBatch(ctx, changes)
	}
	reserve := c.Reserve
	if deadline, ok := ctx.Deadline(); ok {
		reserve = min(reserve, time.Until(deadline)/2)
	}
	parallel := c.Parallel
	if parallel <= 0 {
		parallel = 10
	}
	var (
		mu       sync.Mutex
		failures []events.SQSBatchItemFailure
		wg       sync.WaitGroup
		slots    = make(chan struct{}, parallel)
	)
	// The groups' writes are committed together: the Mailchimp upserts of
	// one audience in one batch call, the executions in few requests.
	batch := &apmc.Batch{Linger: c.Linger}
	if c.SingleWrites {
		batch = nil // a nil Batch writes each change alone
	}
	for _, g := range order {
		wg.Add(1)
		slots <- struct{}{}
		batch.Begin()
		go func(records []events.SQSMessage) {
			defer wg.Done()
			defer func() { <-slots }()
			defer batch.End()
			fail := func(r events.SQSMessage) {
				mu.Lock()
				failures = append(failures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				mu.Unlock()
			}
			stopped := false // a change of this group failed, or time ran out
			moved := false   // a change of this group moved to the changes queue
			for _, r := range records {
				if !stopped && moved {
					// The group's later changes follow it there, in order:
					// applied here they would overtake it.
					if !c.move(ctx, r) {
						stopped = true
						fail(r)
					}
					continue
				}
				if !stopped {
					if stopped = c.outOfTime(ctx, reserve); !stopped {
						done, wasMoved := c.handle(ctx, r, reads, batch)
						moved = wasMoved
						if !done {
							stopped = true
							fail(r)
						}
						continue
					}
				}
				// Handed back unapplied, keeping its place in its group (so
				// one contact's changes stay in order): visible again at once,
				// it waits behind the failed change rather than blocking the
				// group for the queue's whole visibility timeout.
				c.setVisibility(ctx, r, 0)
				c.handBack(ctx, r)
				fail(r)
			}
		}(groups[g])
	}
	wg.Wait()
	return events.SQSEventResponse{BatchItemFailures: failures}, nil
}

// outOfTime reports whether the invocation's deadline is too near to start
// another change. The reserve is at most half the time the batch had, so a
// short function timeout still applies changes.
func (c *Consumer) outOfTime(ctx context.Context, reserve time.Duration) bool {
	deadline, ok := ctx.Deadline()
	if !ok || reserve <= 0 || time.Until(deadline) >= reserve {
		return false
	}
	c.logger().Warn("too little time left in this invocation to start another change; handing it back", "time_left", time.Until(deadline).String())
	return true
}

// handBack tells DeadLetters of a record handed back unapplied on its last
// receive.
func (c *Consumer) handBack(ctx context.Context, r events.SQSMessage) {
	last := c.MaxReceives
	if last <= 0 {
		last = apmc.DefaultMaxAttempts
	}
	var change apmc.Change
	n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	if c.DeadLetters == nil || n < last || json.Unmarshal([]byte(r.Body), &change) != nil || change.InstanceID == "" {
		return
	}
	c.logger().Warn("change handed back on its last receive; it moves to the dead-letter queue unapplied", "message_id", r.MessageId, "instance_id", change.InstanceID)
	c.DeadLetters.DeadLettered(ctx, change.InstanceID)
}

// groupOf returns a record's message group: SQS names it among the record's
// attributes; where a queue does not, the change itself says it.
func groupOf(r events.SQSMessage) string {
	if g := r.Attributes["MessageGroupId"]; g != "" {
		return g
	}
	var c apmc.Change
	if json.Unmarshal([]byte(r.Body), &c) == nil {
		return c.GroupID()
	}
	return ""
}

// handle applies one record; false means it must be delivered again, and
// moved that it was moved to the changes queue (apmc.ErrOrderedQueue).
func (c *Consumer) handle(ctx context.Context, r events.SQSMessage, reads *apmc.Reads, batch *apmc.Batch) (done, moved bool) {
	log := c.logger().With("message_id", r.MessageId)
	change, attempt, ok := c.decode(ctx, r, log)
	if !ok {
		return false, false
	}
	exec, err := c.Engine.Apply(ctx, apmc.Delivery{Change: change, Attempt: attempt, Reads: reads, Batch: batch, Unordered: c.fromBulk(r)})
	log = log.With("instance_id", change.InstanceID, "execution_id", exec.ID, "flow", string(exec.Flow), "attempt", attempt, "status", string(exec.Status))
	if errors.Is(err, apmc.ErrOrderedQueue) {
		ok := c.moveToChanges(ctx, r, change, attempt, log)
		return ok, ok
	}
	if err != nil {
		log.Warn("change will be retried", "error", exec.Error)
		c.delay(ctx, r, c.backoff(attempt))
		return false, false
	}
	if exec.Status == apmc.StatusFailed {
		log.Error("change failed permanently", "error", exec.Error)
	} else {
		// Debug: the execution records it; at INFO it would cost log bytes per change.
		log.Debug("change applied", "changed", exec.Changed)
	}
	return true, false
}

// move moves a record to the changes queue without applying it: a later
// change of a group one of whose changes was moved there.
func (c *Consumer) move(ctx context.Context, r events.SQSMessage) bool {
	log := c.logger().With("message_id", r.MessageId)
	change, attempt, ok := c.decode(ctx, r, log)
	if !ok {
		return false
	}
	return c.moveToChanges(ctx, r, change, attempt, log.With("instance_id", change.InstanceID, "attempt", attempt))
}

// decode reads a record's change and its receive count; false means the
// message is not a change. Nothing can ever apply it and retrying only
// delays the dead-letter queue, so it is reported as a failure at once and
// lands there for inspection.
func (c *Consumer) decode(ctx context.Context, r events.SQSMessage, log *slog.Logger) (apmc.Change, int, bool) {
	var change apmc.Change
	if err := json.Unmarshal([]byte(r.Body), &change); err != nil || change.InstanceID == "" || change.ID == "" {
		log.Error("message is not a change; leaving it for the dead-letter queue", "error", fmt.Sprint(err))
		c.delay(ctx, r, 0)
		return apmc.Change{}, 0, false
	}
	attempt, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	return change, max(attempt, 1), true
}

// moveToChanges puts a change from the bulk queue on the changes queue
// (apmc.ErrOrderedQueue); true means it is there and the record is done.
func (c *Consumer) moveToChanges(ctx context.Context, r events.SQSMessage, change apmc.Change, attempt int, log *slog.Logger) bool {
	if c.Requeue == nil {
		log.Error("a change from the bulk queue must be applied from the changes queue, and none is configured; it will be retried")
		c.delay(ctx, r, c.backoff(attempt))
		return false
	}
	// Its attempts are numbered on; this receive recorded nothing.
	change.PriorAttempts += attempt - 1
	if err := c.Requeue.Enqueue(ctx, change); err != nil {
		log.Warn("could not move the change to the changes queue; it will be retried", "error", err.Error())
		c.delay(ctx, r, c.backoff(attempt))
		c.handBack(ctx, r) // on its last receive it goes to the dead-letter queue
		return false
	}
	log.Debug("change moved to the changes queue, behind what is queued there for its contact")
	return true
}

// backoff is how long the n-th failed receive hides a message.
func (c *Consumer) backoff(attempt int) time.Duration {
	d := time.Duration(float64(c.RetryBase) * math.Pow(2, float64(min(attempt, 20)-1)))
	return min(d, 12*time.Hour)
}

// delay hides a failed message for d before its next receive.
func (c *Consumer) delay(ctx context.Context, r events.SQSMessage, d time.Duration) {
	if c.RetryBase <= 0 {
		return
	}
	c.setVisibility(ctx, r, d)
}

// setVisibility sets when a message is received again.
func (c *Consumer) setVisibility(ctx context.Context, r events.SQSMessage, d time.Duration) {
	if c.Visibility == nil || r.ReceiptHandle == "" {
		return
	}
	_, err := c.Visibility.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(c.queueOf(r)),
		ReceiptHandle:     aws.String(r.ReceiptHandle),
		VisibilityTimeout: visibilitySeconds(d),
	})
	if err != nil {
		c.logger().Warn("could not delay the retry; the queue's visibility timeout applies", "message_id", r.MessageId, "error", err.Error())
	}
}

// queueOf returns the URL of the queue a record came from: the bulk queue
// or the changes queue.
func (c *Consumer) queueOf(r events.SQSMessage) string {
	if c.fromBulk(r) {
		return c.BulkQueueURL
	}
	return c.QueueURL
}

// fromBulk reports whether a record came from the bulk queue: its source
// ARN (set by Lambda's event source mapping, and by the Poller) names it,
// as an ARN ends in the queue's name, as its URL does. A record without a
// source ARN is taken to come from the changes queue.
func (c *Consumer) fromBulk(r events.SQSMessage) bool {
	if c.BulkQueueURL == "" || r.EventSourceARN == "" {
		return false
	}
	name := r.EventSourceARN[strings.LastIndex(r.EventSourceARN, ":")+1:]
	return strings.HasSuffix(c.BulkQueueURL, "/"+name)
}

func (c *Consumer) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// visibilitySeconds converts a delay to SQS's whole seconds, rounding up so a
// short delay still delays.
func visibilitySeconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32((d + time.Second - 1) / time.Second)
}
