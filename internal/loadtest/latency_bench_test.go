package loadtest_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/loadtest"
	"github.com/apmc-sync/apmc/internal/local"
)

// BenchmarkWebhookToMailchimpWrite measures the latency from posting an
// accessplanit webhook to the contact being written in Mailchimp, one
// delivery at a time, on the local stack with the simulator at zero
// latency. It reports p50 and p99 in milliseconds.
func BenchmarkWebhookToMailchimpWrite(b *testing.B) {
	e := startStack(b, local.Config{RetryBase: 200 * time.Millisecond})
	list := e.stack.Info.Sandbox.Mailchimp.ListID
	client := &http.Client{Timeout: 10 * time.Second}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		req, err := e.deliveryRequest(i)
		if err != nil {
			b.Fatalf("request: %v", err)
		}
		email := loadtest.UserEmail(i)
		i++
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatalf("POST delivery: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("POST delivery: status %d, want 202", resp.StatusCode)
		}
		for {
			if _, ok := e.stack.Mailchimp.Member(list, email); ok {
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("contact %s not in Mailchimp 10 s after its webhook", email)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(float64(loadtest.Percentile(lat, 50))/1e6, "p50-ms")
	b.ReportMetric(float64(loadtest.Percentile(lat, 99))/1e6, "p99-ms")
}
