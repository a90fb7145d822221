package loadtest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/loadtest"
	"github.com/apmc-sync/apmc/internal/local"
)

// stackSeq keeps the names of kumo's process-wide tables and queues apart.
var stackSeq atomic.Int64

// env is a running local stack and the counter of its AWS requests.
type env struct {
	stack *local.Stack
	aws   *loadtest.CountingTransport

	mu    sync.Mutex
	users map[int]string // User number → the ID the platform gave it
}

// startStack runs the local stack on loopback with its AWS requests counted.
func startStack(tb testing.TB, cfg local.Config) *env {
	tb.Helper()
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	counter := &loadtest.CountingTransport{}
	cfg.AWSHTTPClient = counter.Client()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-", " ", "-").Replace(tb.Name()))
	cfg.Prefix = fmt.Sprintf("lt%d-%.40s", stackSeq.Add(1), name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := local.Start(ctx, cfg)
	if err != nil {
		tb.Fatalf("local.Start() error = %v", err)
	}
	tb.Cleanup(s.Close)
	return &env{stack: s, aws: counter}
}

// deliveryRequest builds the POST of UserDelivery(i) to the stack's
// accessplanit webhook.
func (e *env) deliveryRequest(i int) (*http.Request, error) {
	id, err := e.user(i)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, e.stack.Info.Webhooks.Accessplanit, bytes.NewReader(loadtest.UserDeliveryWithID(id, i, time.Now())))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// user makes the platform hold User number i, as it would before sending
// its webhook (the sync reads the User back), silently; it returns its ID.
func (e *env) user(i int) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.users[i]; ok {
		return id, nil
	}
	id, err := e.stack.Accessplanit.AddUser(loadtest.UserFields(i, e.stack.Info.Sandbox.Accessplanit.DefaultCompanyID))
	if err != nil {
		return "", fmt.Errorf("add user %d to the accessplanit simulator: %w", i, err)
	}
	if e.users == nil {
		e.users = map[int]string{}
	}
	e.users[i] = id
	return id, nil
}

// mailchimpRequests is the total of the Mailchimp simulator's API requests.
func (e *env) mailchimpRequests() int {
	n := 0
	for _, c := range e.stack.Mailchimp.Stats().Requests {
		n += c
	}
	return n
}

// accessplanitRequests is the total of the accessplanit simulator's API
// requests.
func (e *env) accessplanitRequests() int {
	n := 0
	for _, c := range e.stack.Accessplanit.Stats().Requests {
		n += c
	}
	return n
}

// settle waits until the Mailchimp simulator's webhooks are delivered, the
// stack has made no DynamoDB request for quiet, and both queues are empty
// (a change waiting to be retried is hidden, and makes no request while it
// waits), so that the echoes of the writes have been applied too.
func (e *env) settle(tb testing.TB, quiet, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	if !e.stack.Mailchimp.WaitWebhooks(limit) {
		tb.Fatalf("Mailchimp webhooks still queued after %v", limit)
	}
	last, since := e.aws.Count(loadtest.ServiceDynamoDB), time.Now()
	// The queues are asked only once the stack is quiet.
	for time.Since(since) < quiet || !e.queuesEmpty(tb) {
		if time.Now().After(deadline) {
			tb.Fatalf("the stack was still busy after %v", limit)
		}
		time.Sleep(50 * time.Millisecond)
		if n := e.aws.Count(loadtest.ServiceDynamoDB); n != last {
			last, since = n, time.Now()
		}
	}
}

// queuesEmpty reports whether the changes and bulk queues hold no message,
// visible or hidden. It asks through a client of its own, so the requests
// measured are the stack's only.
func (e *env) queuesEmpty(tb testing.TB) bool {
	tb.Helper()
	cfg := awsconfig.Local()
	cfg.Region = e.stack.Info.AWS.Region
	client := app.NewClients(cfg, e.stack.Info.AWS.Endpoint).SQS
	for _, url := range []string{e.stack.Queues.ChangesURL, e.stack.Queues.BulkURL} {
		if url == "" {
			continue
		}
		out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
		})
		if err != nil {
			tb.Fatalf("GetQueueAttributes() error = %v", err)
		}
		for _, v := range out.Attributes {
			if v != "" && v != "0" {
				return false
			}
		}
	}
	return true
}

// sampler records a counter over time.
type sampler struct {
	mu      sync.Mutex
	samples []sample
}

type sample struct {
	at time.Time
	n  int
}

func (s *sampler) add(at time.Time, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, sample{at, n})
}

// crossing returns the first sample at or above n.
func (s *sampler) crossing(n int) (sample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.samples {
		if x.n >= n {
			return x, true
		}
	}
	return sample{}, false
}
