package mailchimp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a delivery's signature.
const SignatureHeader = "X-Mailchimp-Signature"

// Sign returns the X-Mailchimp-Signature value for body sent at unix time t
// with secret: "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret string, t int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	ts := strconv.FormatInt(t, 10)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// deliverLoop sends one audience's events, one at a time and in order,
// until the queue is closed.
func (s *Server) deliverLoop(listID string, q *eventQueue) {
	defer s.workers.Done()
	for {
		ev, ok := q.pop()
		if !ok {
			return
		}
		for _, h := range ev.targets {
			s.deliver(listID, h, ev)
		}
		q.done()
	}
}

// deliver posts ev to h, retrying a failure with a doubling delay a bounded
// number of times, and counts the outcome.
func (s *Server) deliver(listID string, h *webhook, ev event) {
	delay := s.retryDelay
	for attempt := 1; attempt <= s.attempts; attempt++ {
		err := s.post(h, ev)
		if err == nil {
			s.mu.Lock()
			s.stats.WebhooksDelivered++
			s.mu.Unlock()
			return
		}
		s.log.Warn("webhook delivery failed", "list_id", listID, "webhook_id", h.id, "type", ev.typ, "attempt", attempt, "error", err)
		if attempt == s.attempts || !sleep(s.ctx, delay) {
			break
		}
		s.mu.Lock()
		s.stats.WebhookRetries++
		s.mu.Unlock()
		delay *= 2
	}
	s.mu.Lock()
	s.stats.WebhooksFailed++
	s.mu.Unlock()
}

// post sends one signed delivery; any answer but 2xx is a failure.
func (s *Server) post(h *webhook, ev event) error {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, h.url, strings.NewReader(ev.body))
	if err != nil {
		return fmt.Errorf("build delivery: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "MailChimp")
	req.Header.Set(SignatureHeader, Sign(h.secret, s.now().Unix(), []byte(ev.body)))
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("post delivery: %w", stripURL(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post delivery: status %d", resp.StatusCode)
	}
	return nil
}

// WaitWebhooks waits until every queued webhook delivery has been sent (or
// given up) and reports whether that happened within timeout.
func (s *Server) WaitWebhooks(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		idle := true
		for _, l := range s.lists {
			if !l.events.idle() {
				idle = false
			}
		}
		s.mu.Unlock()
		if idle {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
