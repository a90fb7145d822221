package ops_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ops"
	"github.com/apmc-sync/apmc/internal/queue"
)

// requests counts the DynamoDB requests a client sends, how many are in
// flight at most, and the Limit of each Query.
type requests struct {
	mu       sync.Mutex
	n        int
	inFlight int
	most     int
	limits   []int32 // of each Query; 0 for none
}

func (r *requests) client(c *dynamodb.Client) *dynamodb.Client {
	return dynamodb.New(c.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				r.mu.Lock()
				r.n++
				r.inFlight++
				r.most = max(r.most, r.inFlight)
				if q, ok := in.Parameters.(*dynamodb.QueryInput); ok {
					var l int32
					if q.Limit != nil {
						l = *q.Limit
					}
					r.limits = append(r.limits, l)
				}
				r.mu.Unlock()
				defer func() {
					r.mu.Lock()
					r.inFlight--
					r.mu.Unlock()
				}()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	})
}

// depthReads counts the reads of the dead-letter queue's depth.
type depthReads struct {
	*queue.DeadLetters
	n atomic.Int64
}

func (d *depthReads) Depth(ctx context.Context) (int, error) {
	d.n.Add(1)
	return d.DeadLetters.Depth(ctx)
}

// TestHealthsRequestsAreBounded: many instances with many failures each
// cost a bounded number of DynamoDB requests (counts stop at the cap), read
// a few instances at a time, and read the dead-letter queue's depth once.
func TestHealthsRequestsAreBounded(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	const instances, failures, limit, parallel = 24, 30, 10, 4
	now := time.Now().UTC()
	for i := range instances {
		id := fmt.Sprintf("many-%02d", i)
		in := apmc.Instance{
			ID: id, Name: id, State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
			MailchimpListID: "list", AccessplanitBaseURL: "http://127.0.0.1:9/api/v2", DefaultCompanyID: "3",
			Mappings: apmc.DefaultMappings(), Secrets: apmc.Secrets{MailchimpAPIKey: "mc-key-0123-us21", AccessplanitAPIKey: "ap-key-4567"},
		}
		if err := s.instances.Create(ctx, in); err != nil {
			t.Fatalf("Create(%s) error = %v", id, err)
		}
		for j := range failures {
			at := now.Add(-time.Duration(j+1) * time.Minute)
			e := apmc.Execution{ID: apmc.NewExecutionID(at), InstanceID: id, ChangeID: fmt.Sprintf("c%d", j), Flow: apmc.FlowToMailchimp,
				Event: apmc.EventUpdated, Origin: apmc.OriginWebhook, Attempt: 1, Status: apmc.StatusFailed, Contact: fmt.Sprintf("p%d@example.com", j),
				StartedAt: at, FinishedAt: at, Steps: []apmc.Step{}, Logs: []apmc.LogLine{}, ExpiresAt: at.Add(24 * time.Hour)}
			if err := s.executions.SaveExecution(ctx, e); err != nil {
				t.Fatalf("SaveExecution error = %v", err)
			}
		}
	}
	var reqs requests
	counted := reqs.client(s.svc.DynamoDB)
	dl := &depthReads{DeadLetters: &queue.DeadLetters{Client: s.svc.SQS, URL: s.queues.DeadLetterURL}}
	svc := &ops.Service{
		Instances:   dynamo.NewInstanceStore(counted, s.tables.Instances, nil),
		Executions:  dynamo.NewExecutionStore(counted, s.tables.Executions),
		DeadLetters: dl,
		Bounds:      ops.Bounds{MaxCount: limit, Parallel: parallel},
	}
	all, err := svc.Healths(ctx)
	if err != nil {
		t.Fatalf("Healths error = %v", err)
	}
	if len(all) != instances+1 {
		t.Fatalf("Healths = %d instances, want %d", len(all), instances+1)
	}
	for _, h := range all {
		if h.InstanceID == "inst" { // the stack's own instance, with no execution
			continue
		}
		if h.Failed != limit || ops.CountText(h.Failed, h.CountCap) != fmt.Sprintf("%d+", limit) {
			t.Errorf("Healths(%s) failed = %d (%s), want %d+", h.InstanceID, h.Failed, ops.CountText(h.Failed, h.CountCap), limit)
		}
	}
	// Per instance: the newest execution, a count per status, the held
	// changes and the newest success; and one scan of the instances.
	perInstance := 1 + len(apmc.Statuses) + 2
	if most := 1 + (instances+1)*perInstance; reqs.n > most {
		t.Errorf("Healths sent %d DynamoDB requests, want at most %d", reqs.n, most)
	}
	for _, l := range reqs.limits {
		if l == 0 || l > limit {
			t.Errorf("a Query asked Limit %d, want each bounded by the cap %d", l, limit)
			break
		}
	}
	if reqs.most > parallel {
		t.Errorf("Healths had %d requests in flight, want at most %d (one per instance read at once)", reqs.most, parallel)
	}
	if n := dl.n.Load(); n != 1 {
		t.Errorf("Healths read the dead-letter depth %d times, want once", n)
	}
}

// TestSummaryCountsInOneRead: the summary reads the newest executions'
// statuses once. When those are all of the day's, every count is exact;
// when there are more, the statuses an index counts are counted exactly and
// the others are shown as lower bounds ("N+").
func TestSummaryCountsInOneRead(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	now := time.Now().UTC()
	in := apmc.Instance{
		ID: "busy", Name: "busy", State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
		MailchimpListID: "list", AccessplanitBaseURL: "http://127.0.0.1:9/api/v2", DefaultCompanyID: "3",
		Mappings: apmc.DefaultMappings(), Secrets: apmc.Secrets{MailchimpAPIKey: "mc-key-0123-us21", AccessplanitAPIKey: "ap-key-4567"},
	}
	if err := s.instances.Create(ctx, in); err != nil {
		t.Fatalf("Create error = %v", err)
	}
	// Newest first: 6 succeeded, then 4 failed, then 10 succeeded more.
	statuses := slices.Concat(slices.Repeat([]apmc.Status{apmc.StatusSucceeded}, 6), slices.Repeat([]apmc.Status{apmc.StatusFailed}, 4), slices.Repeat([]apmc.Status{apmc.StatusSucceeded}, 10))
	for j, st := range statuses {
		at := now.Add(-time.Duration(j+1) * time.Minute)
		e := apmc.Execution{ID: apmc.NewExecutionID(at), InstanceID: in.ID, ChangeID: fmt.Sprintf("c%d", j), Flow: apmc.FlowToMailchimp,
			Event: apmc.EventUpdated, Origin: apmc.OriginWebhook, Attempt: 1, Status: st, Contact: fmt.Sprintf("p%d@example.com", j),
			StartedAt: at, FinishedAt: at, Steps: []apmc.Step{}, Logs: []apmc.LogLine{}, ExpiresAt: at.Add(24 * time.Hour)}
		if err := s.executions.SaveExecution(ctx, e); err != nil {
			t.Fatalf("SaveExecution error = %v", err)
		}
	}
	for _, tc := range []struct {
		name                 string
		limit                int
		succeeded, failed    string
		wantAtLeastSucceeded bool
	}{
		{"all read", 100, "16", "4", false},
		{"the newest eight read", 8, "6+", "4", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &ops.Service{Instances: s.instances, Executions: s.executions, Bounds: ops.Bounds{MaxCount: tc.limit}}
			sum, err := svc.Summary(ctx, in.ID)
			if err != nil {
				t.Fatalf("Summary error = %v", err)
			}
			if got := sum.Count(apmc.StatusSucceeded); got != tc.succeeded {
				t.Errorf("succeeded = %s, want %s", got, tc.succeeded)
			}
			if got := sum.Count(apmc.StatusFailed); got != tc.failed {
				t.Errorf("failed = %s, want %s (counted through the index)", got, tc.failed)
			}
			if got := slices.Contains(sum.AtLeast, apmc.StatusSucceeded); got != tc.wantAtLeastSucceeded {
				t.Errorf("AtLeast = %v, want succeeded in it: %v", sum.AtLeast, tc.wantAtLeastSucceeded)
			}
			h, err := svc.HealthOf(ctx, sum)
			if err != nil {
				t.Fatalf("HealthOf error = %v", err)
			}
			if want := now.Add(-time.Minute); h.LastSuccessAt == nil || !h.LastSuccessAt.Equal(want.Truncate(time.Millisecond)) && h.LastSuccessAt.Sub(want).Abs() > time.Second {
				t.Errorf("last success = %v, want %v", h.LastSuccessAt, want)
			}
		})
	}
}
