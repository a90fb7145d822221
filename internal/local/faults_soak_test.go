package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
)

const (
	soakContacts = 200
	// soakLimit is the time the whole soak must fit in (on 2 cores).
	soakLimit = 120 * time.Second
	// soakPace spaces the changes, as people making them would.
	soakPace = 5 * time.Millisecond
	// soakRetryBase is the first retry delay. The consumer hides a failed
	// message for int(delay/1s) seconds, so any base under a second makes
	// the first retries immediate, and a sub-second burst of 429s (a
	// connection limit filled by requests the client abandoned) can use up
	// all five receives. At 1 s the delays are 1, 2, 4 and 8 s.
	soakRetryBase = time.Second
)

// TestSoakUnderFaults runs 1,000 changes across 200 contacts, from both
// sides, while both simulators fail transiently (429, 500, HTML 502, hangs
// past the client timeout, dropped connections, slow windows), and checks
// that both sides end with the last value written to every field, nobody is
// duplicated or missing, every fault shows as a failed execution that was
// retried, and the dead-letter queue is empty.
//
// Each phase edits a contact from one side only and the stack settles
// between phases, so the final state is known. Two edits of one contact in
// Mailchimp are a second apart: Mailchimp's fired_at has whole seconds.
func TestSoakUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak takes about a minute; skipped with -short")
	}
	t.Parallel()
	began := time.Now()
	s := startStackWith(t, func(c *local.Config) {
		c.APITimeout = 300 * time.Millisecond
		// SQS hides a message for whole seconds: a smaller base would make
		// the first retries immediate (see soakRetryBase).
		c.RetryBase = soakRetryBase
		c.VisibilityTimeout = 2 * time.Second
		// Headroom under Mailchimp's 10 connections for the requests a
		// hang leaves running after the client gave up on them.
		c.MailchimpMaxConnections = 8
		// The simulated hangs end at most a second after the client gave
		// up (below): that is how long this Mailchimp runs a call, and so
		// how long a timed-out request holds its budget slot.
		c.MailchimpCallLimit = c.APITimeout + time.Second
	})
	list := s.Info.Sandbox.Mailchimp.ListID
	faults := newSoakFaults(s)
	contacts := make([]*soakContact, soakContacts)
	changes := 0

	// runPhase runs edit with accessplanit faults injected meanwhile, then
	// lets hung requests finish and the stack settle.
	runPhase := func(name string, edit func()) {
		t.Helper()
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { faults.accessplanit(ctx, 16) })
		phaseStart := time.Now()
		edit()
		stop()
		wg.Wait()
		time.Sleep(1200 * time.Millisecond) // a hang outlasts its client by up to 1 s
		soakSettle(t, s, 60*time.Second)
		t.Logf("phase %s: %v (%d changes so far)", name, time.Since(phaseStart).Round(time.Millisecond), changes)
	}

	// Phase 0: half the contacts are created in accessplanit, half sign up
	// in Mailchimp.
	runPhase("create", func() {
		for i := range contacts {
			c := &soakContact{email: fmt.Sprintf("soak%03d@example.com", i), want: map[string]string{}}
			contacts[i] = c
			for _, f := range soakFields {
				c.want[f.tag] = soakValue(f.tag, i, 0)
			}
			changes++
			time.Sleep(soakPace)
			if i%2 == 1 {
				if err := s.Mailchimp.SubscribeInUI(list, c.email, map[string]any{"FNAME": c.want["FNAME"], "LNAME": c.want["LNAME"], "PHONE": c.want["PHONE"]}); err != nil {
					t.Fatalf("SubscribeInUI(%s) error = %v", c.email, err)
				}
				continue
			}
			if i%8 == 0 {
				faults.aim(c.email, faults.nextMailchimp(i%16 == 0))
			}
			id, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": c.want["FNAME"], "Surname": c.want["LNAME"], "Phone": c.want["PHONE"],
				"Email": c.email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
			if err != nil {
				t.Fatalf("CreateUserInUI(%s) error = %v", c.email, err)
			}
			c.userID = id
		}
	})
	for _, c := range contacts {
		if c.userID == "" {
			users := usersWithEmail(s, c.email)
			if len(users) != 1 {
				t.Fatalf("after the creates, accessplanit users with %s = %d, want 1", c.email, len(users))
			}
			c.userID = toString(users[0]["ID"])
		}
	}

	// Phases 1 and 2: every contact is edited twice, from one side; the
	// sides swap between phases.
	for phase := 1; phase <= 2; phase++ {
		runPhase(fmt.Sprintf("edit %d", phase), func() {
			for round := range 2 {
				if round == 1 {
					time.Sleep(1100 * time.Millisecond)
				}
				n := phase*2 + round - 1
				for i, c := range contacts {
					f := soakFields[(i+n)%len(soakFields)]
					v := soakValue(f.tag, i, n)
					changes++
					time.Sleep(soakPace)
					if (i+phase)%2 == 0 {
						if err := s.Mailchimp.EditMemberInUI(list, c.email, map[string]any{f.tag: v}, "user"); err != nil {
							t.Fatalf("EditMemberInUI(%s) error = %v", c.email, err)
						}
						c.want[f.tag] = v
						continue
					}
					switch {
					case round == 0 && i%8 < 2:
						faults.aim(c.email, faults.nextMailchimp(false))
					case round == 1 && i%10 == 5:
						// A hang's write lands after the client gave up: aim
						// it at the contact's last write of the phase.
						prev := soakFields[(i+n-1)%len(soakFields)]
						waitMember(t, s, c.email, prev.tag, c.want[prev.tag])
						faults.aim(c.email, faults.nextMailchimp(true))
					}
					if err := s.Accessplanit.EditUserInUI(c.userID, map[string]any{f.field: v}); err != nil {
						t.Fatalf("EditUserInUI(%s) error = %v", c.userID, err)
					}
					c.want[f.tag] = v
				}
			}
		})
	}
	elapsed := time.Since(began)
	t.Logf("soak: %d changes across %d contacts in %v", changes, len(contacts), elapsed.Round(time.Millisecond))
	if changes != 1000 {
		t.Errorf("changes made = %d, want 1000", changes)
	}

	checkSoakState(t, s, contacts)
	checkSoakExecutions(t, s, faults)
	if !queueEmpty(t, s, s.Queues.DeadLetterURL) {
		t.Errorf("dead-letter queue is not empty, want every transient fault retried to success")
	}
	if elapsed > soakLimit {
		t.Errorf("soak took %v, want under %v", elapsed, soakLimit)
	}
}

// checkSoakState compares both sides with the expected final state.
func checkSoakState(t *testing.T, s *local.Stack, contacts []*soakContact) {
	t.Helper()
	list := s.Info.Sandbox.Mailchimp.ListID
	if n := len(s.Mailchimp.Members(list)); n != len(contacts) {
		t.Errorf("Mailchimp members = %d, want %d", n, len(contacts))
	}
	if n := len(s.Accessplanit.Users()); n != len(contacts) {
		t.Errorf("accessplanit users = %d, want %d", n, len(contacts))
	}
	wrong := 0
	for _, c := range contacts {
		m, ok := s.Mailchimp.Member(list, c.email)
		if !ok {
			t.Errorf("Mailchimp member %s is missing", c.email)
			continue
		}
		users := usersWithEmail(s, c.email)
		if len(users) != 1 {
			t.Errorf("accessplanit users with %s = %d, want 1", c.email, len(users))
			continue
		}
		for _, f := range soakFields {
			want := c.want[f.tag]
			if got := toString(m.MergeFields[f.tag]); got != want {
				wrong++
				t.Errorf("Mailchimp %s %s = %q, want %q", c.email, f.tag, got, want)
			}
			if got := toString(users[0][f.field]); got != want {
				wrong++
				t.Errorf("accessplanit %s %s = %q, want %q", c.email, f.field, got, want)
			}
		}
		if wrong > 20 {
			t.Fatalf("more than 20 wrong values; stopping")
		}
	}
}

// checkSoakExecutions checks that every fault shows as a failed, retryable
// execution, that every failed change succeeded on a later attempt, and
// that nothing failed permanently.
func checkSoakExecutions(t *testing.T, s *local.Stack, faults *soakFaults) {
	t.Helper()
	all := allExecutions(t, s, apmc.ExecutionQuery{})
	last := map[string]apmc.Execution{}
	failed := map[apmc.Flow]int{}
	failedFor := map[string]bool{}
	// accessplanit faults show as failed executions in either flow (the
	// flow to Mailchimp reads the User back), or, when they met a batch
	// read, in the step outputs of the changes that then read on their own.
	accessplanitSeen := 0
	for _, e := range all {
		for _, st := range e.Steps {
			if _, ok := st.Output["batch_read_error"]; ok && st.Name == "read_user" {
				accessplanitSeen++
			}
		}
		if e.Status == apmc.StatusFailed && strings.Contains(e.Error, "accessplanit") {
			accessplanitSeen++
		}
		if prev, ok := last[e.ChangeID]; !ok || e.Attempt > prev.Attempt {
			last[e.ChangeID] = e
		}
		if e.Status != apmc.StatusFailed {
			continue
		}
		if !e.Retryable {
			t.Errorf("execution %s (%s, attempt %d) failed for good: %q, want only transient failures", e.ID, e.Contact, e.Attempt, e.Error)
		}
		failed[e.Flow]++
		if e.Flow == apmc.FlowToMailchimp {
			failedFor[e.Contact] = true
		}
	}
	for id, e := range last {
		if e.Status == apmc.StatusFailed {
			t.Errorf("change %s for %s ended failed after %d attempts: %q", id, e.Contact, e.Attempt, e.Error)
		}
	}
	mc, ap := s.Mailchimp.Stats(), s.Accessplanit.Stats()
	t.Logf("executions %d; failed to Mailchimp %d (faults met %d, connection-limit refusals %d); failed to accessplanit %d (faults met %d, slow windows %d)",
		len(all), failed[apmc.FlowToMailchimp], mc.Faults, mc.TooManyRequests, failed[apmc.FlowToAccessplanit], ap.Faults, faults.slow)
	if failed[apmc.FlowToMailchimp] < mc.Faults {
		t.Errorf("failed executions to Mailchimp = %d, want at least the %d faults Mailchimp answered", failed[apmc.FlowToMailchimp], mc.Faults)
	}
	if accessplanitSeen < ap.Faults {
		t.Errorf("accessplanit faults visible in executions = %d, want at least the %d faults accessplanit answered", accessplanitSeen, ap.Faults)
	}
	if mc.Faults == 0 || ap.Faults == 0 {
		t.Errorf("faults met: Mailchimp %d, accessplanit %d; want both above zero (the soak must exercise failures)", mc.Faults, ap.Faults)
	}
	faults.mu.Lock()
	defer faults.mu.Unlock()
	for email, kind := range faults.aimed {
		if !failedFor[email] {
			t.Errorf("Mailchimp %s fault aimed at %s shows in no failed execution", kind, email)
		}
	}
	if n := len(faults.aimed); n == 0 || !strings.Contains(fmt.Sprint(faults.aimed), "hang") {
		t.Errorf("aimed Mailchimp faults = %v, want some, hangs among them", faults.aimed)
	}
}

// startStackWithOutage starts a stack whose AWS requests pass through an
// outage the test switches on and off.
func startStackWithOutage(t *testing.T, edit func(*local.Config)) (*local.Stack, *awsOutage) {
	t.Helper()
	outage := newAWSOutage()
	s := startStackWith(t, func(c *local.Config) {
		c.AWSHTTPClient = outage.client()
		if edit != nil {
			edit(c)
		}
	})
	return s, outage
}

// webhookStatus posts an accessplanit delivery of the User with id and
// returns the answer's status.
func webhookStatus(t *testing.T, s *local.Stack, id string) int {
	t.Helper()
	body, err := json.Marshal(apUser(t, s, id))
	if err != nil {
		t.Fatalf("encode delivery: %v", err)
	}
	resp, err := http.Post(s.Info.Webhooks.Accessplanit, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST webhook error = %v", err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

// TestStoresUnreachableAtIngest checks that a delivery is refused with a 5xx
// while the queue or the instances table cannot be reached, so the sender
// retries, and that the retry once they are back is applied. (The ingest
// handlers' own tests cover an unreachable queue per endpoint:
// internal/ingest/accessplanit_test.go and mailchimp_test.go.)
func TestStoresUnreachableAtIngest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		down func(s *local.Stack) func(target, table string) bool
	}{
		{name: "queue", down: func(*local.Stack) func(string, string) bool { return sqsSends }},
		{name: "instances table", down: func(s *local.Stack) func(string, string) bool { return dynamoTables(s.Info.AWS.InstancesTable) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, outage := startStackWithOutage(t, func(c *local.Config) { c.InstanceCacheTTL = time.Millisecond })
			email := strings.ReplaceAll(tt.name, " ", ".") + "@example.com"
			id, err := s.Accessplanit.AddUser(map[string]any{"Forenames": "Ingest", "Surname": "Outage", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID})
			if err != nil {
				t.Fatalf("AddUser() error = %v", err)
			}
			time.Sleep(5 * time.Millisecond) // past the instance cache
			outage.set(tt.down(s))
			if got := webhookStatus(t, s, id); got < 500 {
				t.Errorf("delivery while the %s is unreachable = %d, want a 5xx so the sender retries", tt.name, got)
			}
			outage.set(nil)
			if got := webhookStatus(t, s, id); got != http.StatusAccepted {
				t.Fatalf("delivery once the %s is back = %d, want %d", tt.name, got, http.StatusAccepted)
			}
			waitExecution(t, s, "the change to succeed", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email}, func(e apmc.Execution) bool { return e.Status == apmc.StatusSucceeded })
			if _, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email); !ok {
				t.Errorf("member %s not written after the retried delivery", email)
			}
		})
	}
}

// TestQueueUnreachableSenderRetries lets Mailchimp's own delivery meet an
// unreachable queue: the stack answers 5xx, the simulator retries, and the
// change is applied once the queue is back.
func TestQueueUnreachableSenderRetries(t *testing.T) {
	t.Parallel()
	s, outage := startStackWithOutage(t, nil)
	const email = "sender.retries@example.com"
	outage.set(sqsSends)
	if err := s.Mailchimp.SubscribeInUI(s.Info.Sandbox.Mailchimp.ListID, email, map[string]any{"FNAME": "Sender", "LNAME": "Retries"}); err != nil {
		t.Fatalf("SubscribeInUI() error = %v", err)
	}
	waitFor(t, "Mailchimp to retry a refused delivery", func() bool { return s.Mailchimp.Stats().WebhookRetries > 0 })
	outage.set(nil)
	settle(t, s)
	if st := s.Mailchimp.Stats(); st.WebhooksFailed != 0 {
		t.Errorf("deliveries given up = %d, want 0 (a retry reached the stack)", st.WebhooksFailed)
	}
	if n := outage.refusedCount("AmazonSQS.SendMessage"); n == 0 {
		t.Errorf("refused SQS sends = 0, want the outage to have refused some")
	}
	if n := len(usersWithEmail(s, email)); n != 1 {
		t.Errorf("accessplanit users with %s = %d, want 1", email, n)
	}
}

// TestTablesUnreachableDuringSync makes the contacts and executions tables
// unreachable while a change is applied: the change is delivered again and
// applied once they are back, and the executions say so.
func TestTablesUnreachableDuringSync(t *testing.T) {
	t.Parallel()
	s, outage := startStackWithOutage(t, func(c *local.Config) { c.RetryBase = time.Second })
	const email = "tables.down@example.com"
	outage.set(dynamoTables(s.Info.AWS.ContactsTable, s.Info.AWS.ExecutionsTable))
	if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Tables", "Surname": "Down", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	// The engine reads the contact state first and records the execution
	// last: a refused PutItem means one attempt has run its course.
	waitFor(t, "an attempt to fail on the tables", func() bool { return outage.refusedCount("DynamoDB_20120810.PutItem") > 0 })
	outage.set(nil)
	e := waitExecution(t, s, "the change to succeed", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email}, func(e apmc.Execution) bool { return e.Status == apmc.StatusSucceeded })
	if e.Attempt < 2 || e.Origin != apmc.OriginRetry {
		t.Errorf("succeeded execution attempt %d origin %s, want a redelivery (attempt 2 or later, origin retry)", e.Attempt, e.Origin)
	}
	settle(t, s)
	if _, ok := s.Mailchimp.Member(s.Info.Sandbox.Mailchimp.ListID, email); !ok {
		t.Errorf("member %s not written", email)
	}
	for _, x := range executions(t, s, apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, Contact: email}) {
		if x.Status == apmc.StatusFailed && (!x.Retryable || !strings.Contains(x.Error, "contact state")) {
			t.Errorf("failed execution attempt %d retryable=%v %q, want a retryable failure reading the contact state", x.Attempt, x.Retryable, x.Error)
		}
	}
	if !queueEmpty(t, s, s.Queues.DeadLetterURL) {
		t.Errorf("dead-letter queue is not empty, want the change applied")
	}
}

// TestConsumerKilledMidRun stops the sync consumer while it applies batches
// and starts a fresh one on the same queue: every change still reaches
// Mailchimp, once per contact, with the right values.
func TestConsumerKilledMidRun(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, func(c *local.Config) {
		c.VisibilityTimeout = 2 * time.Second
		// Requests cut short by the stop may still hold Mailchimp
		// connections for a moment: retries must not all come at once.
		c.RetryBase = soakRetryBase
	})
	const n = 60
	list := s.Info.Sandbox.Mailchimp.ListID
	// Slow Mailchimp down so the consumer is busy when it is stopped.
	s.Mailchimp.SetLatency(100 * time.Millisecond)
	for i := range n {
		if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": fmt.Sprintf("Killed%02d", i), "Surname": "Consumer",
			"Email": fmt.Sprintf("killed%02d@example.com", i), "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
			t.Fatalf("CreateUserInUI() error = %v", err)
		}
	}
	waitFor(t, "the consumer to be part way", func() bool { return len(s.Mailchimp.Members(list)) >= 5 })
	s.StopConsumer()
	if got := len(s.Mailchimp.Members(list)); got >= n {
		t.Fatalf("members when the consumer was stopped = %d, want fewer than %d (stopped mid-run)", got, n)
	}
	s.Mailchimp.SetLatency(0)
	s.StartConsumer()
	settle(t, s)
	for i := range n {
		email := fmt.Sprintf("killed%02d@example.com", i)
		m, ok := s.Mailchimp.Member(list, email)
		if !ok {
			t.Errorf("member %s is missing after the restart", email)
			for _, e := range attempts(t, s, apmc.FlowToMailchimp, email) {
				t.Logf("  attempt %d: %s %q", e.Attempt, e.Status, e.Error)
			}
			continue
		}
		if got, want := toString(m.MergeFields["FNAME"]), fmt.Sprintf("Killed%02d", i); got != want {
			t.Errorf("member %s FNAME = %q, want %q", email, got, want)
		}
		if len(usersWithEmail(s, email)) != 1 {
			t.Errorf("accessplanit users with %s = %d, want 1", email, len(usersWithEmail(s, email)))
		}
	}
	if got := len(s.Mailchimp.Members(list)); got != n {
		t.Errorf("members = %d, want %d", got, n)
	}
	if !queueEmpty(t, s, s.Queues.DeadLetterURL) {
		t.Errorf("dead-letter queue is not empty, want every change applied")
	}
}
