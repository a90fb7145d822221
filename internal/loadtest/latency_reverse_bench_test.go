package loadtest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/loadtest"
	"github.com/apmc-sync/apmc/internal/local"
	"github.com/apmc-sync/apmc/internal/mailchimp"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// BenchmarkWebhookToAccessplanitWrite measures the latency from posting a
// Mailchimp subscribe webhook (signed when the stack's instance has a
// signing secret) to the User being created in accessplanit, one delivery
// at a time, on the local stack with the simulators at zero latency. The
// audience holds the member before its webhook is posted (the sync reads it
// back). It reports p50 and p99 in milliseconds.
func BenchmarkWebhookToAccessplanitWrite(b *testing.B) {
	e := startStack(b, local.Config{RetryBase: 200 * time.Millisecond})
	secret := e.stack.Info.Sandbox.Mailchimp.SigningSecret
	ap := e.stack.Accessplanit
	client := &http.Client{Timeout: 10 * time.Second}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		email := fmt.Sprintf("reverse%d@example.com", i)
		now := time.Now()
		body := []byte(url.Values{
			"type": {"subscribe"}, "fired_at": {now.UTC().Format("2006-01-02 15:04:05")},
			"data[id]": {fmt.Sprintf("%010x", i)}, "data[email]": {email}, "data[email_type]": {"html"},
			"data[merges][EMAIL]": {email}, "data[merges][FNAME]": {"Reverse"},
			"data[merges][LNAME]": {fmt.Sprintf("Tester %d", i)}, "data[merges][PHONE]": {"+44 20 7946 0000"},
		}.Encode())
		i++
		if err := e.stack.Mailchimp.Import(e.stack.Info.Sandbox.Mailchimp.ListID, []sbmc.ImportedMember{{EmailAddress: email,
			MergeFields: map[string]any{"FNAME": "Reverse", "LNAME": fmt.Sprintf("Tester %d", i-1), "PHONE": "+44 20 7946 0000"}}}); err != nil {
			b.Fatalf("Import() error = %v", err)
		}
		req, err := http.NewRequest(http.MethodPost, e.stack.Info.Webhooks.Mailchimp, bytes.NewReader(body))
		if err != nil {
			b.Fatalf("request: %v", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if secret != "" {
			req.Header.Set(mailchimp.SignatureHeader, mailchimp.Sign(secret, body, now))
		}
		known := len(ap.UserIDs())
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatalf("POST delivery: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("POST delivery: status %d, want 200", resp.StatusCode)
		}
		for !createdUser(ap.UserIDs(), known, ap.User, email) {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("no User %s in accessplanit 10 s after its webhook", email)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(float64(loadtest.Percentile(lat, 50))/1e6, "p50-ms")
	b.ReportMetric(float64(loadtest.Percentile(lat, 99))/1e6, "p99-ms")
}

// createdUser reports whether one of the Users after the first known has
// the email.
func createdUser(ids []string, known int, user func(string) (map[string]any, bool), email string) bool {
	for _, id := range ids[min(known, len(ids)):] {
		if u, ok := user(id); ok && u["Email"] == email {
			return true
		}
	}
	return false
}
