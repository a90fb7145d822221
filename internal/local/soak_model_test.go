package local_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// soakContact is one contact of the soak and the values it must end with:
// the last value written on either side for each mapped field.
type soakContact struct {
	email  string
	userID string            // the accessplanit User, once known
	want   map[string]string // by merge tag: FNAME, LNAME, PHONE
}

// soakFields pairs each mapped merge tag with its accessplanit field.
var soakFields = []struct{ tag, field string }{
	{"FNAME", "Forenames"}, {"LNAME", "Surname"}, {"PHONE", "Phone"},
}

// soakValue is the n-th value written to tag for contact i: every write is
// distinct, so a lost or reordered write shows in the final state.
func soakValue(tag string, i, n int) string {
	switch tag {
	case "FNAME":
		return fmt.Sprintf("First%03dv%d", i, n)
	case "LNAME":
		return fmt.Sprintf("Last%03dv%d", i, n)
	}
	return fmt.Sprintf("0161 %03d %04d", i, n)
}

// soakFaults injects bounded, transient faults into the simulators while the
// soak runs, and remembers which contacts it aimed Mailchimp faults at.
type soakFaults struct {
	s    *local.Stack
	list string

	mu       sync.Mutex
	aimed    map[string]sbmc.FaultKind // Mailchimp faults by contact email
	next     int
	lastHang time.Time
	apFaults int // accessplanit faults injected
	slow     int // accessplanit slow windows opened
}

func newSoakFaults(s *local.Stack) *soakFaults {
	return &soakFaults{s: s, list: s.Info.Sandbox.Mailchimp.ListID, aimed: map[string]sbmc.FaultKind{}}
}

// mailchimpKinds are the Mailchimp faults, in turn: a 429, a 500, a 502
// with an HTML body, a dropped connection and a hang past the client timeout.
var mailchimpKinds = []sbmc.FaultRule{
	{Kind: sbmc.FaultStatus, Status: http.StatusTooManyRequests, Title: "Too Many Requests"},
	{Kind: sbmc.FaultStatus, Status: http.StatusInternalServerError},
	{Kind: sbmc.FaultHTML502},
	{Kind: sbmc.FaultDrop},
	{Kind: sbmc.FaultHang, Hang: time.Second},
}

// aim makes the next request for one contact's member fail once: a request
// on its own path, or a batch subscribe carrying it, which then fails for
// every change it carries. Aimed at one member, faults rarely pile up on
// one change: no change meets more failures than the queue's five receives
// allow.
func (f *soakFaults) aim(email string, rule sbmc.FaultRule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rule.Member = email
	rule.Count = 1
	f.s.Mailchimp.InjectFaults(rule)
	f.aimed[email] = rule.Kind
}

// nextMailchimp returns the next Mailchimp fault in turn, a hang when
// asked for and none began in the last 1.2 s. A hung request still holds
// one of Mailchimp's 10 connections after the client gave up on it, which
// the client's own cap cannot see; spacing hangs bounds those at one.
func (f *soakFaults) nextMailchimp(hang bool) sbmc.FaultRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	if hang && time.Since(f.lastHang) > 1200*time.Millisecond {
		f.lastHang = time.Now()
		return mailchimpKinds[len(mailchimpKinds)-1]
	}
	r := mailchimpKinds[f.next%(len(mailchimpKinds)-1)]
	f.next++
	return r
}

// accessplanit injects faults into the accessplanit simulator until ctx
// ends: one at a time, the next only once the last was met and a pause has
// passed, at most limit in all. The simulator cannot aim a fault at one
// User, so spacing them is what keeps any one change from meeting many.
// Every fourth turn is a slow window instead: requests wait past the
// client's timeout for a moment.
func (f *soakFaults) accessplanit(ctx context.Context, limit int) {
	kinds := []sbap.Fault{{Status: http.StatusInternalServerError}, {Status: http.StatusTooManyRequests}, {Drop: true}}
	turn := 0
	for ctx.Err() == nil && turn < limit {
		select {
		case <-ctx.Done():
			return
		case <-time.After(150 * time.Millisecond):
		}
		f.mu.Lock()
		outstanding := f.apFaults - f.s.Accessplanit.Stats().Faults
		f.mu.Unlock()
		if outstanding > 0 {
			continue
		}
		turn++
		if turn%4 == 0 {
			f.s.Accessplanit.SetLatency(time.Second)
			time.Sleep(100 * time.Millisecond)
			f.s.Accessplanit.SetLatency(0)
			f.mu.Lock()
			f.slow++
			f.mu.Unlock()
			continue
		}
		f.mu.Lock()
		fault := kinds[f.apFaults%len(kinds)]
		fault.Count = 1
		f.s.Accessplanit.InjectFaults(fault)
		f.apFaults++
		f.mu.Unlock()
	}
}

// allExecutions lists every execution of the demo instance matching q.
func allExecutions(t *testing.T, s *local.Stack, q apmc.ExecutionQuery) []apmc.Execution {
	t.Helper()
	q.Limit = 200
	var out []apmc.Execution
	for {
		page, cursor, err := s.Executions.Executions(context.Background(), s.Info.InstanceID, q)
		if err != nil {
			t.Fatalf("Executions() error = %v", err)
		}
		out = append(out, page...)
		if cursor == "" {
			return out
		}
		q.Cursor = cursor
	}
}

// soakSettle waits, up to limit, until both simulators have delivered every
// webhook and the changes queue is empty, four checks in a row.
func soakSettle(t *testing.T, s *local.Stack, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	quiet := 0
	for quiet < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: the stack has not settled", limit)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		idle := s.Mailchimp.WaitWebhooks(0) && s.Accessplanit.WaitWebhooks(ctx) == nil && queueEmpty(t, s, s.Queues.ChangesURL) && queueEmpty(t, s, s.Queues.BulkURL)
		cancel()
		if idle {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitMember waits until the contact's member holds want for tag, so a
// fault aimed next meets the write after it.
func waitMember(t *testing.T, s *local.Stack, email, tag, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email)
		if ok && toString(m.MergeFields[tag]) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: member %s %s = %v, want %q", email, tag, m.MergeFields[tag], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
