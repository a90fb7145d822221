package loadtest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/loadtest"
	"github.com/apmc-sync/apmc/internal/local"
)

// loadRate is the webhook rate the stack must take.
const loadRate = 500

// load is the outcome of one load run.
type load struct {
	res     loadtest.Result
	written int           // Mailchimp member writes, one per accepted delivery
	drain   time.Duration // from the last answer until every change was written
}

// runLoad posts loadRate whole-User deliveries per second for d, for
// distinct contacts, and waits until every accepted one was written to
// Mailchimp (the simulator at zero latency).
func runLoad(tb testing.TB, d time.Duration) load {
	tb.Helper()
	e := startStack(tb, local.Config{Workers: 4, Parallel: 10, RetryBase: 200 * time.Millisecond})
	total := int(d.Seconds() * loadRate)
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	res, err := loadtest.Run(ctx, loadtest.Plan{Total: total, Rate: loadRate, MaxInFlight: 64,
		Request: e.deliveryRequest})
	if err != nil {
		tb.Fatalf("Run() error = %v", err)
	}
	ended := time.Now()
	accepted := res.Count(202, 202)
	// Every accepted delivery becomes a write; allow the consumer to drain.
	limit := 3*d + 60*time.Second
	mc := e.stack.Mailchimp
	for mc.Stats().MembersWritten < accepted && time.Since(ended) < limit {
		time.Sleep(100 * time.Millisecond)
	}
	l := load{res: res, written: mc.Stats().MembersWritten, drain: time.Since(ended)}
	if l.written < accepted {
		tb.Errorf("Mailchimp member writes = %d %v after the load, want %d (one per accepted delivery)", l.written, limit, accepted)
	}
	return l
}

// TestLoad holds the stack to 500 webhooks/s with no 5xx and no lost
// change: 5 s (2,500 deliveries) in `make test`, the full 30 s (15,000)
// with APMC_LOAD_FULL=1.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	d := 5 * time.Second
	if os.Getenv("APMC_LOAD_FULL") == "1" {
		d = 30 * time.Second
	}
	l := runLoad(t, d)
	r := l.res
	t.Logf("%.0f deliveries/s: %d deliveries in %v (max schedule lag %v): statuses %v, transport errors %d; ack p50 %v p99 %v; all %d written %v after the last answer",
		float64(r.Sent)/r.Elapsed.Seconds(), r.Sent, r.Elapsed.Round(time.Millisecond), r.MaxLag.Round(time.Millisecond), r.Statuses, r.TransportErrors,
		loadtest.Percentile(r.Latencies, 50).Round(10*time.Microsecond), loadtest.Percentile(r.Latencies, 99).Round(10*time.Microsecond), l.written, l.drain.Round(100*time.Millisecond))
	want := int(d.Seconds() * loadRate)
	if r.Sent != want {
		t.Errorf("deliveries sent = %d, want %d", r.Sent, want)
	}
	if n := r.Count(500, 599); n != 0 || r.TransportErrors != 0 {
		t.Errorf("5xx answers = %d, transport errors = %d, want none", n, r.TransportErrors)
	}
	if n := r.Count(202, 202); n != want {
		t.Errorf("deliveries accepted = %d, want %d (statuses %v)", n, want, r.Statuses)
	}
	// Mailchimp gives up on a webhook after 10 s; ingest must answer well
	// inside that even under load. Whether the generator kept the 500/s pace
	// (MaxLag) depends on what else the machine runs: it is logged, and
	// BENCHMARKS.md records it.
	if p99 := loadtest.Percentile(r.Latencies, 99); p99 > 5*time.Second {
		t.Errorf("acknowledgement p99 = %v, want under 5 s (Mailchimp's limit is 10 s)", p99)
	}
}

// BenchmarkLoad500PerSecond30s is the full load run: 15,000 deliveries at
// 500/s, reporting acknowledgement p50/p99 and the drain time.
func BenchmarkLoad500PerSecond30s(b *testing.B) {
	var l load
	for b.Loop() {
		l = runLoad(b, 30*time.Second)
	}
	b.ReportMetric(float64(loadtest.Percentile(l.res.Latencies, 50))/1e6, "ack-p50-ms")
	b.ReportMetric(float64(loadtest.Percentile(l.res.Latencies, 99))/1e6, "ack-p99-ms")
	b.ReportMetric(float64(l.res.Count(500, 599)+l.res.TransportErrors), "5xx+errors")
	b.ReportMetric(float64(l.res.Count(202, 202)-l.written), "lost")
	b.ReportMetric(l.drain.Seconds(), "drain-s")
	b.ReportMetric(float64(l.res.Sent)/l.res.Elapsed.Seconds(), "sent/s")
	b.ReportMetric(float64(l.res.MaxLag)/1e6, "max-lag-ms")
}
