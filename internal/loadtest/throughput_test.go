package loadtest_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/loadtest"
	"github.com/apmc-sync/apmc/internal/local"
)

// mailchimpLatency is the fixed API latency L of the measurement: with
// Mailchimp's 10 connections per user, no integration writes more than
// 10 / L = 100 changed contacts per second through single calls.
const mailchimpLatency = 100 * time.Millisecond

// physicalLimit is 10 / L in changes per second.
var physicalLimit = 10 / mailchimpLatency.Seconds()

// throughputConfig is the local stack tuned for the measurement: enough
// changes in flight to keep all 10 Mailchimp connections busy while others
// wait for DynamoDB and the queue.
func throughputConfig() local.Config {
	return local.Config{Workers: 8, Parallel: 10, RetryBase: 200 * time.Millisecond}
}

// throughput is one measurement of accessplanit → Mailchimp throughput.
type throughput struct {
	changes  int
	rate     float64       // changed contacts written per second, steady state
	window   time.Duration // the steady-state window (10 % to 90 % of the writes)
	tooMany  int           // 429s met
	accepted int           // deliveries answered 202
	written  int           // members written, once everything settled
	// Requests per change, the echo of each write included.
	mailchimp, accessplanit, dynamoDB, sqs float64
	dynamoOps                              map[string]int
}

func (t throughput) ratio() float64 { return t.rate / physicalLimit }

// measureThroughput feeds n whole-User deliveries for distinct contacts
// (numbered from first) as fast as the endpoint takes them, and measures
// the rate of Mailchimp member writes between 10 % and 90 % of them.
func measureThroughput(tb testing.TB, e *env, first, n int) throughput {
	tb.Helper()
	return measure(tb, e, n, func(i int) (*http.Request, error) { return e.deliveryRequest(first + i) }, nil)
}

// measure posts the n requests (2,000 a second, at most 16 in flight) and
// measures the rate of Mailchimp members written, in every audience,
// between 10 % and 90 % of n, with the simulator at L. during, when set, is
// started with the first request and stopped (by the function it returns)
// once n members are written, before the stack settles.
func measure(tb testing.TB, e *env, n int, request func(i int) (*http.Request, error), during func() (stop func())) throughput {
	tb.Helper()
	mc := e.stack.Mailchimp
	mc.SetLatency(mailchimpLatency)
	e.settle(tb, 500*time.Millisecond, 30*time.Second)
	mcReqs, apReqs := e.mailchimpRequests(), e.accessplanitRequests()
	base := mc.Stats()
	e.aws.Reset()

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*50*time.Millisecond+60*time.Second)
	defer cancel()
	var s sampler
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			w := mc.Stats().MembersWritten - base.MembersWritten
			s.add(time.Now(), w)
			if w >= n {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	stop := func() {}
	if during != nil {
		stop = during()
	}
	res, err := loadtest.Run(ctx, loadtest.Plan{Total: n, Rate: 2000, MaxInFlight: 16, Request: request})
	if err != nil {
		tb.Fatalf("Run() error = %v", err)
	}
	<-done
	stop()
	if got := res.Count(202, 202); got != n {
		tb.Fatalf("deliveries accepted = %d of %d (statuses %v, transport errors %d)", got, n, res.Statuses, res.TransportErrors)
	}
	lo, ok1 := s.crossing(n / 10)
	hi, ok2 := s.crossing(n * 9 / 10)
	if !ok1 || !ok2 || !hi.at.After(lo.at) {
		tb.Fatalf("Mailchimp member writes did not reach %d of %d in time", n*9/10, n)
	}
	e.settle(tb, time.Second, 60*time.Second)
	st := mc.Stats()
	per := func(x int) float64 { return float64(x) / float64(n) }
	return throughput{
		changes:      n,
		rate:         float64(hi.n-lo.n) / hi.at.Sub(lo.at).Seconds(),
		window:       hi.at.Sub(lo.at),
		tooMany:      st.TooManyRequests - base.TooManyRequests,
		accepted:     res.Count(202, 202),
		written:      st.MembersWritten - base.MembersWritten,
		mailchimp:    per(e.mailchimpRequests() - mcReqs),
		accessplanit: per(e.accessplanitRequests() - apReqs),
		dynamoDB:     per(e.aws.Count(loadtest.ServiceDynamoDB)),
		sqs:          per(e.aws.Count(loadtest.ServiceSQS)),
		dynamoOps:    e.aws.Operations(loadtest.ServiceDynamoDB),
	}
}

// TestThroughputNearPhysicalLimit holds the sync to ≥ 90 % of 10 / L with
// zero 429s, at most half a Mailchimp call per changed contact (the
// changes of a batch share batch subscribe calls), at most 4 DynamoDB
// requests per change and at most 0.2
// accessplanit requests per change: each User is read back from the
// platform, a whole batch of them in one request. It writes 600 contacts
// (about 7 s of steady state); APMC_THROUGHPUT_CHANGES overrides.
func TestThroughputNearPhysicalLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for about 10 s; skipped with -short")
	}
	n := 600
	if v := os.Getenv("APMC_THROUGHPUT_CHANGES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 {
			t.Fatalf("APMC_THROUGHPUT_CHANGES=%q: want a whole number of at least 10", v)
		}
	}
	e := startStack(t, throughputConfig())
	m := measureThroughput(t, e, 0, n)
	if m.ratio() < 0.9 && m.tooMany == 0 {
		// Other packages' tests share the CPU in `make test`; a second
		// measurement with fresh contacts tells a busy moment from a slow
		// sync. Both are logged.
		t.Logf("first measurement %.1f changes/s (%.1f %% of 10/L); measuring again", m.rate, 100*m.ratio())
		m = measureThroughput(t, e, n, n)
	}
	t.Logf("%d changes: %.1f changes/s over %v = %.1f %% of 10/L; 429s %d; per change: Mailchimp %.2f, accessplanit %.2f, DynamoDB %.2f %v, SQS %.2f",
		n, m.rate, m.window.Round(time.Millisecond), 100*m.ratio(), m.tooMany, m.mailchimp, m.accessplanit, m.dynamoDB, m.dynamoOps, m.sqs)
	if m.ratio() < 0.9 {
		t.Errorf("throughput = %.1f changes/s = %.1f %% of 10/L = %.0f/s, want ≥ 90 %%", m.rate, 100*m.ratio(), physicalLimit)
	}
	if m.tooMany != 0 {
		t.Errorf("Mailchimp 429s = %d, want 0", m.tooMany)
	}
	// No read before a write, and the writes of a batch's changes share
	// one batch subscribe call: a backlog is written in calls of several.
	if m.mailchimp <= 0 || m.mailchimp > 0.5 {
		t.Errorf("Mailchimp requests per changed contact = %.3f, want above 0 and at most 0.5 (batched)", m.mailchimp)
	}
	// The echo of each write included: a batch's contact states are read
	// and its executions written together, and the Mailchimp budget's
	// slots are reused between calls rather than taken and given back.
	if m.dynamoDB > 4 || m.dynamoDB == 0 {
		t.Errorf("DynamoDB requests per change = %.2f %v, want above 0 and at most 4", m.dynamoDB, m.dynamoOps)
	}
	if m.accessplanit > 0.2 || m.accessplanit == 0 {
		t.Errorf("accessplanit requests per change = %.3f, want above 0 (every User is read back) and at most 0.2 (batched)", m.accessplanit)
	}
}
