package connector_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// simulator starts the Mailchimp simulator on 127.0.0.1 with one account
// and one audience, every request taking latency.
func simulator(t *testing.T, latency time.Duration) (srv *sbmc.Server, baseURL, apiKey, listID string) {
	t.Helper()
	srv = sbmc.New(sbmc.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		srv.Close()
	})
	apiKey = "0123456789abcdef0123456789abcdef-us21"
	srv.AddAccount(apiKey)
	listID = srv.AddList(apiKey, "Limit test")
	srv.SetLatency(latency)
	return srv, "http://" + ln.Addr().String() + "/3.0", apiKey, listID
}

func instance(id, baseURL, apiKey, listID string) apmc.Instance {
	return apmc.Instance{ID: id, ConfigVersion: 1, MailchimpBaseURL: baseURL, MailchimpListID: listID,
		Secrets: apmc.Secrets{MailchimpAPIKey: apiKey}}
}

// upsertAll writes n members at once through the connector, spread over the
// instances, and returns the calls' errors.
func upsertAll(t *testing.T, c *connector.Connector, ins []apmc.Instance, n int) []error {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := range n {
		in := ins[i%len(ins)]
		mc, err := c.Mailchimp(in)
		if err != nil {
			t.Fatalf("Mailchimp(%s) error = %v", in.ID, err)
		}
		wg.Go(func() {
			m := apmc.Member{Email: fmt.Sprintf("user%d@example.com", i), MergeFields: apmc.Values{"FNAME": "Load", "LNAME": fmt.Sprint(i)}}
			if _, err := mc.UpsertMember(context.Background(), in.MailchimpListID, m, "subscribed"); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

func TestMailchimpConnectionCap(t *testing.T) {
	tests := []struct {
		name      string
		max       int // MaxMailchimpConnections
		instances int // instances sharing the API key
		calls     int
		wantPeak  int // the most requests in flight at the simulator
		want429   bool
	}{
		{name: "default cap is Mailchimp's 10", max: 0, instances: 1, calls: 60, wantPeak: 10},
		{name: "lower cap", max: 3, instances: 1, calls: 24, wantPeak: 3},
		{name: "one cap per API key across instances", max: 0, instances: 3, calls: 60, wantPeak: 10},
		{name: "cap above Mailchimp's limit meets 429s", max: 30, instances: 1, calls: 60, want429: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, baseURL, key, list := simulator(t, 50*time.Millisecond)
			c := &connector.Connector{MaxMailchimpConnections: tt.max, Timeout: 10 * time.Second}
			var ins []apmc.Instance
			for i := range tt.instances {
				ins = append(ins, instance(fmt.Sprintf("inst%d", i), baseURL, key, list))
			}
			errs := upsertAll(t, c, ins, tt.calls)
			st := srv.Stats()
			if tt.want429 {
				if st.TooManyRequests == 0 {
					t.Errorf("TooManyRequests = 0 with a cap of %d, want some (the simulator allows 10)", tt.max)
				}
				return
			}
			if len(errs) > 0 {
				t.Errorf("UpsertMember errors = %d (first: %v), want none", len(errs), errs[0])
			}
			if st.TooManyRequests != 0 {
				t.Errorf("TooManyRequests = %d, want 0", st.TooManyRequests)
			}
			if st.PeakInFlight != tt.wantPeak {
				t.Errorf("PeakInFlight = %d, want %d", st.PeakInFlight, tt.wantPeak)
			}
			if st.MemberWrites != tt.calls {
				t.Errorf("MemberWrites = %d, want %d", st.MemberWrites, tt.calls)
			}
		})
	}
}

func TestMailchimpConnectionCapKeysAreIndependent(t *testing.T) {
	srv, baseURL, key, list := simulator(t, 50*time.Millisecond)
	other := "fedcba9876543210fedcba9876543210-us21"
	srv.AddAccount(other)
	otherList := srv.AddList(other, "Other")
	c := &connector.Connector{MaxMailchimpConnections: 2, Timeout: 10 * time.Second}
	ins := []apmc.Instance{instance("a", baseURL, key, list), instance("b", baseURL, other, otherList)}

	start := time.Now()
	if errs := upsertAll(t, c, ins, 8); len(errs) > 0 {
		t.Fatalf("UpsertMember errors = %v, want none", errs)
	}
	// 4 calls per key, 2 at a time, 50 ms each: two rounds, not four.
	if took := time.Since(start); took > 175*time.Millisecond {
		t.Errorf("8 calls over two keys with 2 connections each took %v, want about 100 ms (keys must not share a cap)", took)
	}
	if st := srv.Stats(); st.PeakInFlight != 2 {
		t.Errorf("PeakInFlight = %d, want 2 (per account)", st.PeakInFlight)
	}
}

func TestMailchimpConnectionWaitEndsWithContext(t *testing.T) {
	_, baseURL, key, list := simulator(t, 300*time.Millisecond)
	c := &connector.Connector{MaxMailchimpConnections: 1, Timeout: 10 * time.Second}
	mc, err := c.Mailchimp(instance("a", baseURL, key, list))
	if err != nil {
		t.Fatalf("Mailchimp() error = %v", err)
	}
	go func() {
		_, _ = mc.UpsertMember(context.Background(), list, apmc.Member{Email: "first@example.com", MergeFields: apmc.Values{"FNAME": "A", "LNAME": "B"}}, "subscribed")
	}()
	time.Sleep(50 * time.Millisecond) // the first call holds the only connection
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = mc.UpsertMember(ctx, list, apmc.Member{Email: "second@example.com", MergeFields: apmc.Values{"FNAME": "A", "LNAME": "B"}}, "subscribed")
	if err == nil {
		t.Fatalf("UpsertMember() while the only connection is busy and ctx ends = nil error, want a context error")
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("UpsertMember() waited %v for a connection after its context ended, want about 50 ms", took)
	}
}

// TestMailchimpBudgetSlotOfAFailedRequest fails a request on its way to
// Mailchimp: one that may have reached it (a timeout) keeps its slot of the
// account's shared budget until the lease runs out, as Mailchimp may still
// be running it; one that never left (no connection) gives it back at once.
func TestMailchimpBudgetSlotOfAFailedRequest(t *testing.T) {
	env := awstest.Kumo(t)
	_, slowURL, key, list := simulator(t, time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	closedURL := "http://" + ln.Addr().String() + "/3.0"
	_ = ln.Close()
	tests := []struct {
		name     string
		baseURL  string
		wantHeld bool
	}{
		{name: "timed out", baseURL: slowURL, wantHeld: true},
		{name: "connection refused", baseURL: closedURL, wantHeld: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			tables := env.Tables(t, "failed")
			const timeout = 150 * time.Millisecond
			budget := func() *dynamo.MailchimpBudget {
				return dynamo.NewMailchimpBudget(env.DynamoDB, tables.Contacts, 1, connector.BudgetLease(timeout), connector.BudgetWait(timeout))
			}
			c := &connector.Connector{Timeout: timeout, Budget: budget()}
			in := instance("a", tt.baseURL, key, list)
			in.MailchimpAccountID = "acct-1"
			mc, err := c.Mailchimp(in)
			if err != nil {
				t.Fatalf("Mailchimp() error = %v", err)
			}
			if _, err := mc.UpsertMember(ctx, list, apmc.Member{Email: "ada@example.com", MergeFields: apmc.Values{"FNAME": "Ada", "LNAME": "Lovelace"}}, "subscribed"); err == nil {
				t.Fatalf("UpsertMember() = nil error, want the request to fail")
			}
			// Another function instance asks for the account's only slot.
			slot, _, err := budget().Acquire(ctx, "acct-1")
			if held := errors.Is(err, dynamo.ErrBudgetWait); held != tt.wantHeld {
				t.Errorf("Acquire() after the failed request = %v; slot held %v, want %v", err, held, tt.wantHeld)
			}
			if err == nil {
				slot.Release()
			}
		})
	}
}

// stubbornMailchimp answers every request after work, whether or not the
// client is still waiting, as Mailchimp does ("requests that time out for
// you may still run and hold a connection"), and counts the requests it is
// running at once.
type stubbornMailchimp struct {
	work          time.Duration
	mu            sync.Mutex
	running, peak int
}

func (s *stubbornMailchimp) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.running++
	s.peak = max(s.peak, s.running)
	s.mu.Unlock()
	time.Sleep(s.work) // not the request's context: the client hanging up does not stop it
	s.mu.Lock()
	s.running--
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"x","email_address":"ada@example.com","status":"subscribed"}`))
}

func (s *stubbornMailchimp) peakRunning() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// TestMailchimpBudgetTimedOutRequestsKeepTheirSlots: requests that timed out
// for the client keep their slots of the account's budget for as long as
// Mailchimp may still run them (120 s from their start), even when the
// slot's lease is shorter, so the requests that follow them never take the
// account past 10 running at Mailchimp.
func TestMailchimpBudgetTimedOutRequestsKeepTheirSlots(t *testing.T) {
	env := awstest.Kumo(t)
	tables := env.Tables(t, "stubborn")
	mc := &stubbornMailchimp{work: 2 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	hs := &http.Server{Handler: mc, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })

	const timeout = 150 * time.Millisecond
	// A lease far shorter than the server's work stands for the sync
	// function's (the API timeout + 5 s) against Mailchimp's 120 s.
	const lease = 400 * time.Millisecond
	budget := dynamo.NewMailchimpBudget(env.DynamoDB, tables.Contacts, connector.DefaultMaxMailchimpConnections, lease, connector.BudgetWait(timeout))
	c := &connector.Connector{Timeout: timeout, Budget: budget}
	in := instance("a", "http://"+ln.Addr().String()+"/3.0", "0123456789abcdef0123456789abcdef-us21", "list1")
	in.MailchimpAccountID = "acct-1"
	client, err := c.Mailchimp(in)
	if err != nil {
		t.Fatalf("Mailchimp() error = %v", err)
	}
	wave := func(name string) (timedOut, noSlot int) {
		var (
			wg sync.WaitGroup
			mu sync.Mutex
		)
		for i := range connector.DefaultMaxMailchimpConnections {
			wg.Go(func() {
				m := apmc.Member{Email: fmt.Sprintf("%s%d@example.com", name, i), MergeFields: apmc.Values{"FNAME": "Ada"}}
				_, err := client.UpsertMember(context.Background(), in.MailchimpListID, m, "subscribed")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, dynamo.ErrBudgetWait):
					noSlot++
				case err != nil:
					timedOut++
				}
			})
		}
		wg.Wait()
		return timedOut, noSlot
	}
	if timedOut, _ := wave("first"); timedOut != connector.DefaultMaxMailchimpConnections {
		t.Fatalf("first wave: %d requests timed out, want all %d (the server works for %s)", timedOut, connector.DefaultMaxMailchimpConnections, mc.work)
	}
	time.Sleep(lease + 200*time.Millisecond) // the first wave's leases have run out
	_, noSlot := wave("second")
	if peak := mc.peakRunning(); peak > connector.DefaultMaxMailchimpConnections {
		t.Errorf("requests running at Mailchimp at once = %d, want at most %d", peak, connector.DefaultMaxMailchimpConnections)
	}
	if noSlot != connector.DefaultMaxMailchimpConnections {
		t.Errorf("second wave: %d requests found no slot, want all %d (Mailchimp still runs the first wave)", noSlot, connector.DefaultMaxMailchimpConnections)
	}
}
