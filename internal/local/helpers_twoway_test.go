package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

var stackSeq atomic.Int64

// startStackWith starts a stack for the test with its own tables and
// queues, after edit has adjusted the configuration.
func startStackWith(t *testing.T, edit func(*local.Config)) *local.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// kumo keeps state per process: every stack gets its own tables and
	// queues, also when a test runs more than once (-count).
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	prefix := fmt.Sprintf("%s-%d", name, stackSeq.Add(1))
	cfg := local.Config{Prefix: prefix, RetryBase: 100 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	s, err := local.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("local.Start() error = %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s: still waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// executions lists the instance's executions matching q, newest first.
func executions(t *testing.T, s *local.Stack, q apmc.ExecutionQuery) []apmc.Execution {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 200
	}
	list, _, err := s.Executions.Executions(context.Background(), s.Info.InstanceID, q)
	if err != nil {
		t.Fatalf("Executions() error = %v", err)
	}
	return list
}

// waitExecution waits for an execution matching q and ok, and returns it.
func waitExecution(t *testing.T, s *local.Stack, what string, q apmc.ExecutionQuery, ok func(apmc.Execution) bool) apmc.Execution {
	t.Helper()
	var found apmc.Execution
	waitFor(t, what, func() bool {
		for _, e := range executions(t, s, q) {
			if ok(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// settle waits until both simulators have delivered every webhook and the
// changes and bulk queues hold no message, visible or in flight, twice in a
// row.
func settle(t *testing.T, s *local.Stack) {
	t.Helper()
	quiet := 0
	waitFor(t, "the stack to settle", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		idle := s.Mailchimp.WaitWebhooks(0) && s.Accessplanit.WaitWebhooks(ctx) == nil && queueEmpty(t, s, s.Queues.ChangesURL) && queueEmpty(t, s, s.Queues.BulkURL)
		if !idle {
			quiet = 0
			return false
		}
		quiet++
		if quiet < 4 {
			time.Sleep(50 * time.Millisecond)
			return false
		}
		return true
	})
}

// queueEmpty reports whether a queue holds no message, visible or not.
func queueEmpty(t *testing.T, s *local.Stack, url string) bool {
	t.Helper()
	got, err := s.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes() error = %v", err)
	}
	for _, k := range []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible} {
		if v := got.Attributes[string(k)]; v != "" && v != "0" {
			return false
		}
	}
	return true
}

// postAccessplanit sends a crafted accessplanit webhook delivery carrying user.
func postAccessplanit(t *testing.T, s *local.Stack, method string, user map[string]any) {
	t.Helper()
	body, err := json.Marshal(user)
	if err != nil {
		t.Fatalf("encode delivery: %v", err)
	}
	req, err := http.NewRequest(method, s.Info.Webhooks.Accessplanit, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest() error = %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	send(t, req, http.StatusAccepted)
}

// postMailchimp sends a crafted, signed Mailchimp webhook delivery.
func postMailchimp(t *testing.T, s *local.Stack, form url.Values) {
	t.Helper()
	body := []byte(form.Encode())
	req, err := http.NewRequest(http.MethodPost, s.Info.Webhooks.Mailchimp, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest() error = %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(mailchimp.SignatureHeader, mailchimp.Sign(s.Info.Sandbox.Mailchimp.SigningSecret, body, time.Now()))
	send(t, req, http.StatusOK)
}

func send(t *testing.T, req *http.Request, want int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s webhook error = %v", req.Method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		t.Fatalf("%s webhook = %d %s, want %d", req.Method, resp.StatusCode, b.String(), want)
	}
}

// profileForm is a Mailchimp delivery of type typ for email with merges,
// fired at the given time.
func profileForm(s *local.Stack, typ, email string, fired time.Time, merges map[string]string) url.Values {
	f := url.Values{
		"type":                []string{typ},
		"fired_at":            []string{fired.UTC().Format("2006-01-02 15:04:05")},
		"data[id]":            []string{"id-" + email},
		"data[list_id]":       []string{s.Info.Sandbox.Mailchimp.ListID},
		"data[email]":         []string{email},
		"data[email_type]":    []string{"html"},
		"data[merges][EMAIL]": []string{email},
	}
	for k, v := range merges {
		f.Set("data[merges]["+k+"]", v)
	}
	return f
}

// apUser returns the accessplanit User's property as text.
func apUser(t *testing.T, s *local.Stack, id string) map[string]any {
	t.Helper()
	u, ok := s.Accessplanit.User(id)
	if !ok {
		t.Fatalf("accessplanit user %s does not exist", id)
	}
	return u
}

// usersWithEmail returns the accessplanit Users with that email.
func usersWithEmail(s *local.Stack, email string) []map[string]any {
	var out []map[string]any
	for _, u := range s.Accessplanit.Users() {
		if e, _ := u["Email"].(string); strings.EqualFold(e, email) {
			out = append(out, u)
		}
	}
	return out
}

// logsContain reports whether an execution's log has a line containing s.
func logsContain(e apmc.Execution, s string) bool {
	for _, l := range e.Logs {
		if strings.Contains(l.Message, s) {
			return true
		}
	}
	return false
}
