package loadtest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/ingest"
	"github.com/apmc-sync/apmc/internal/loadtest"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// drainEvery is how many deliveries a benchmark queues between drains.
const drainEvery = 1000

// BenchmarkIngestAccessplanitWebhook measures one accessplanit delivery
// carrying the whole User through the real endpoint: authenticate the path
// token, parse the User, and send the change to the FIFO queue on kumo.
func BenchmarkIngestAccessplanitWebhook(b *testing.B) {
	p := newParts(b)
	h := ingest.NewAccessplanit(ingest.Deps{Webhooks: p.webhooks, Queue: p.producer})
	path := "/webhooks/accessplanit/" + p.instance.ID + "/" + p.instance.Secrets.AccessplanitToken
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(loadtest.UserDelivery(i, time.Now())))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status = %d (%s), want 202", w.Code, w.Body)
		}
		if i++; i%drainEvery == 0 {
			b.StopTimer()
			p.drain(context.Background())
			b.StartTimer()
		}
	}
}

// BenchmarkIngestMailchimpWebhook measures one signed Mailchimp profile
// delivery through the real endpoint: authenticate, verify the signature,
// parse the form, and send the change to the FIFO queue on kumo.
func BenchmarkIngestMailchimpWebhook(b *testing.B) {
	p := newParts(b)
	h := ingest.NewMailchimp(ingest.Deps{Webhooks: p.webhooks, Queue: p.producer})
	path := "/webhooks/mailchimp/" + p.instance.ID + "/" + p.instance.Secrets.MailchimpToken
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := time.Now()
		form := url.Values{
			"type": {"profile"}, "fired_at": {now.UTC().Format("2006-01-02 15:04:05")},
			"data[id]": {fmt.Sprintf("%010x", i)}, "data[list_id]": {p.instance.MailchimpListID},
			"data[email]": {loadtest.UserEmail(i)}, "data[email_type]": {"html"},
			"data[merges][EMAIL]": {loadtest.UserEmail(i)}, "data[merges][FNAME]": {"Load"},
			"data[merges][LNAME]": {fmt.Sprintf("Tester %d", i)}, "data[merges][PHONE]": {"+44 20 7946 0000"},
			"data[ip_opt]": {"10.0.0.1"}, "data[web_id]": {fmt.Sprint(100000 + i)},
		}
		body := []byte(form.Encode())
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set(mailchimp.SignatureHeader, mailchimp.Sign(p.instance.Secrets.MailchimpSigningSecret, body, now))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status = %d (%s), want 200", w.Code, w.Body)
		}
		if i++; i%drainEvery == 0 {
			b.StopTimer()
			p.drain(context.Background())
			b.StartTimer()
		}
	}
}
