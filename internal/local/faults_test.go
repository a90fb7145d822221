package local_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// attempts returns the executions of one change, first attempt first.
func attempts(t *testing.T, s *local.Stack, flow apmc.Flow, contact string) []apmc.Execution {
	t.Helper()
	list := executions(t, s, apmc.ExecutionQuery{Flow: flow, Contact: contact})
	sort.Slice(list, func(i, j int) bool { return list[i].Attempt < list[j].Attempt })
	return list
}

// checkAttempts checks that a change failed transiently n-1 times, linked to
// its first attempt, and ended with last.
func checkAttempts(t *testing.T, list []apmc.Execution, n int, last apmc.Status) {
	t.Helper()
	if len(list) != n {
		for _, e := range list {
			t.Logf("attempt %d: %s %q", e.Attempt, e.Status, e.Error)
		}
		t.Fatalf("executions = %d, want %d", len(list), n)
	}
	first := list[0]
	for i, e := range list {
		if e.Attempt != i+1 {
			t.Errorf("execution %d attempt = %d, want %d", i, e.Attempt, i+1)
		}
		if i == 0 {
			if e.Origin != apmc.OriginWebhook || e.OriginalID != "" {
				t.Errorf("first attempt origin %s original %q, want webhook and none", e.Origin, e.OriginalID)
			}
		} else if e.Origin != apmc.OriginRetry || e.OriginalID != first.ID {
			t.Errorf("attempt %d origin %s original %q, want retry of %s", e.Attempt, e.Origin, e.OriginalID, first.ID)
		}
		if i < n-1 {
			if e.Status != apmc.StatusFailed || !e.Retryable || e.Error == "" {
				t.Errorf("attempt %d = %s retryable=%v %q, want a failure to retry", e.Attempt, e.Status, e.Retryable, e.Error)
			}
		}
	}
	if got := list[n-1].Status; got != last {
		t.Errorf("last attempt = %s %q, want %s", got, list[n-1].Error, last)
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// mailchimp or accessplanit faults; the change flows into that side.
		mailchimp    *sbmc.FaultRule
		accessplanit *sbap.Fault
		want         string // in the first attempt's error
	}{
		{name: "Mailchimp 429", mailchimp: &sbmc.FaultRule{Kind: sbmc.FaultStatus, Status: http.StatusTooManyRequests, Title: "Too Many Requests"}, want: "429"},
		{name: "Mailchimp 503", mailchimp: &sbmc.FaultRule{Kind: sbmc.FaultStatus, Status: http.StatusServiceUnavailable}, want: "503"},
		{name: "Mailchimp HTML 502", mailchimp: &sbmc.FaultRule{Kind: sbmc.FaultHTML502}, want: "502"},
		{name: "Mailchimp dropped connection", mailchimp: &sbmc.FaultRule{Kind: sbmc.FaultDrop}},
		{name: "Mailchimp timeout", mailchimp: &sbmc.FaultRule{Kind: sbmc.FaultHang, Hang: 1500 * time.Millisecond}},
		{name: "accessplanit 500", accessplanit: &sbap.Fault{Status: http.StatusInternalServerError}, want: "500"},
		{name: "accessplanit 429", accessplanit: &sbap.Fault{Status: http.StatusTooManyRequests}, want: "429"},
		{name: "accessplanit dropped connection", accessplanit: &sbap.Fault{Drop: true}},
		{name: "accessplanit timeout", accessplanit: &sbap.Fault{Hang: 1500 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startStackWith(t, func(c *local.Config) { c.APITimeout = 500 * time.Millisecond })
			email := strings.ReplaceAll(strings.ToLower(tt.name), " ", ".") + "@example.com"
			flow := apmc.FlowToMailchimp
			if tt.mailchimp != nil {
				f := *tt.mailchimp
				f.Method, f.Count = http.MethodPut, 2
				s.Mailchimp.InjectFaults(f)
				if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Flaky", "Surname": "Network", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
					t.Fatalf("CreateUserInUI() error = %v", err)
				}
			} else {
				flow = apmc.FlowToAccessplanit
				f := *tt.accessplanit
				f.Count = 2
				s.Accessplanit.InjectFaults(f)
				if err := s.Mailchimp.SubscribeInUI(s.Info.Sandbox.Mailchimp.ListID, email, map[string]any{"FNAME": "Flaky", "LNAME": "Network"}); err != nil {
					t.Fatalf("SubscribeInUI() error = %v", err)
				}
			}
			waitExecution(t, s, "the change to succeed", apmc.ExecutionQuery{Flow: flow, Contact: email}, func(e apmc.Execution) bool { return e.Status == apmc.StatusSucceeded })
			list := attempts(t, s, flow, email)
			checkAttempts(t, list, 3, apmc.StatusSucceeded)
			if tt.want != "" && !strings.Contains(list[0].Error, tt.want) {
				t.Errorf("first attempt error = %q, want it to name %s", list[0].Error, tt.want)
			}
			if flow == apmc.FlowToMailchimp {
				if _, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email); !ok {
					t.Errorf("member %s not written after the retries", email)
				}
			} else if n := len(usersWithEmail(s, email)); n != 1 {
				t.Errorf("accessplanit users with %s = %d, want 1 (no duplicate from a retry)", email, n)
			}
		})
	}
}

func TestRetriesWaitLongerEachTime(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, func(c *local.Config) { c.RetryBase = time.Second })
	const email = "patient@example.com"
	s.Mailchimp.InjectFaults(sbmc.FaultRule{Kind: sbmc.FaultStatus, Status: http.StatusServiceUnavailable, Method: http.MethodPut, Count: 2})
	if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Patient", "Surname": "Retry", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	waitExecution(t, s, "the change to succeed", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email}, func(e apmc.Execution) bool { return e.Status == apmc.StatusSucceeded })
	list := attempts(t, s, apmc.FlowToMailchimp, email)
	checkAttempts(t, list, 3, apmc.StatusSucceeded)
	// The n-th failure hides the message for RetryBase·2^(n-1): 1 s, then 2 s.
	for i, min := range []time.Duration{time.Second, 2 * time.Second} {
		gap := list[i+1].StartedAt.Sub(list[i].FinishedAt)
		if gap < min-100*time.Millisecond {
			t.Errorf("delay before attempt %d = %v, want at least %v", i+2, gap, min)
		}
	}
}

func TestTransientFailuresEndInTheDeadLetterQueue(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	const email = "doomed@example.com"
	s.Mailchimp.InjectFaults(sbmc.FaultRule{Kind: sbmc.FaultStatus, Status: http.StatusServiceUnavailable, Method: http.MethodPut, Count: 100})
	if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Doomed", "Surname": "Change", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	waitFor(t, "the change in the dead-letter queue", func() bool { return !queueEmpty(t, s, s.Queues.DeadLetterURL) })
	list := attempts(t, s, apmc.FlowToMailchimp, email)
	checkAttempts(t, list, apmc.DefaultMaxAttempts, apmc.StatusFailed)
	if last := list[len(list)-1]; last.Retryable || !logsContain(last, "dead-letter queue") {
		t.Errorf("last attempt retryable=%v logs %v, want final and saying it moves to the dead-letter queue", last.Retryable, last.Logs)
	}
	out, err := s.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.Queues.DeadLetterURL), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatalf("ReceiveMessage() error = %v", err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("dead-letter messages = %d, want 1", len(out.Messages))
	}
	var c apmc.Change
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &c); err != nil {
		t.Fatalf("dead-letter message is not a change: %v", err)
	}
	if c.ContactEmail() != email || c.ID != list[0].ChangeID {
		t.Errorf("dead-letter change = %s for %s, want %s for %s", c.ID, c.ContactEmail(), list[0].ChangeID, email)
	}
	if _, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email); ok {
		t.Errorf("member %s exists, want none written", email)
	}
}

func TestPermanentFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	const email = "invalid@example.com"
	s.Mailchimp.InjectFaults(sbmc.FaultRule{Kind: sbmc.FaultStatus, Status: http.StatusBadRequest, Title: "Invalid Resource", Detail: "The resource submitted could not be validated.", Method: http.MethodPut})
	if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Invalid", "Surname": "Resource", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	e := waitExecution(t, s, "the failure", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email}, func(apmc.Execution) bool { return true })
	time.Sleep(500 * time.Millisecond)
	settle(t, s)
	checkAttempts(t, attempts(t, s, apmc.FlowToMailchimp, email), 1, apmc.StatusFailed)
	if e.Retryable || !strings.Contains(e.Error, "Invalid Resource") {
		t.Errorf("execution retryable=%v error %q, want a permanent failure naming Invalid Resource", e.Retryable, e.Error)
	}
	if !queueEmpty(t, s, s.Queues.DeadLetterURL) {
		t.Errorf("dead-letter queue is not empty, want a permanent failure settled at once")
	}
}
