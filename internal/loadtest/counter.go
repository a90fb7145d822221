package loadtest

import (
	"net/http"
	"strings"
	"sync"
)

// Services as CountingTransport names them: the prefix of the X-Amz-Target
// header the AWS SDK sends with every JSON-protocol request.
const (
	ServiceDynamoDB = "DynamoDB"
	ServiceSQS      = "AmazonSQS"
	ServiceKMS      = "TrentService"
)

// CountingTransport counts AWS requests by service and operation before
// passing them on to Base (http.DefaultTransport when nil).
type CountingTransport struct {
	Base http.RoundTripper

	mu     sync.Mutex
	counts map[string]int // "DynamoDB_20120810.GetItem" → n
}

// RoundTrip counts r and sends it.
func (t *CountingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	target := r.Header.Get("X-Amz-Target")
	if target == "" {
		target = "unknown"
	}
	t.mu.Lock()
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	t.counts[target]++
	t.mu.Unlock()
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// Count returns how many requests went to service (one of the Service
// constants) since the last Reset.
func (t *CountingTransport) Count(service string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for target, c := range t.counts {
		if strings.HasPrefix(target, service) {
			n += c
		}
	}
	return n
}

// Operations returns the counts by operation ("GetItem": n) for service.
func (t *CountingTransport) Operations(service string) map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]int{}
	for target, c := range t.counts {
		if strings.HasPrefix(target, service) {
			_, op, _ := strings.Cut(target, ".")
			out[op] += c
		}
	}
	return out
}

// Reset sets every count to zero.
func (t *CountingTransport) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts = nil
}

// Client returns an HTTP client using t, with enough idle connections
// for a busy local stack.
func (t *CountingTransport) Client() *http.Client {
	if t.Base == nil {
		t.Base = &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	}
	return &http.Client{Transport: t}
}
