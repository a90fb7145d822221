package console

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Failed sign-ins are limited per client: after signInFailures failures
// within signInWindow, the client's sign-ins are refused until the oldest of
// them is a window old. The limit is per process (per function instance in
// AWS), which still caps guessing at a few tokens a minute per instance.
const (
	signInFailures = 5
	signInWindow   = time.Minute
	// maxClients bounds the memory the throttle holds; clients beyond it
	// share one bucket, so many addresses cannot guess without limit either.
	maxClients = 10000
)

// overflowClient is the bucket clients share once maxClients are tracked.
const overflowClient = "*"

// throttle counts failed sign-ins per client.
type throttle struct {
	now func() time.Time

	mu       sync.Mutex
	failures map[string][]time.Time // client → times of its recent failures, oldest first
}

func newThrottle(now func() time.Time) *throttle {
	if now == nil {
		now = time.Now
	}
	return &throttle{now: now, failures: map[string][]time.Time{}}
}

// wait reports how long client must wait before trying again; 0 means it
// may try now.
func (t *throttle) wait(client string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	key := t.bucket(client, now)
	recent := t.recent(key, now)
	if len(recent) < signInFailures {
		return 0
	}
	return recent[len(recent)-signInFailures].Add(signInWindow).Sub(now)
}

// fail records a failed sign-in by client.
func (t *throttle) fail(client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	key := t.bucket(client, now)
	recent := append(t.recent(key, now), now)
	if len(recent) > signInFailures {
		recent = recent[len(recent)-signInFailures:]
	}
	t.failures[key] = recent
}

// recent returns key's failures within the window, forgetting older ones.
func (t *throttle) recent(key string, now time.Time) []time.Time {
	list := t.failures[key]
	i := 0
	for i < len(list) && !now.Before(list[i].Add(signInWindow)) {
		i++
	}
	if i == len(list) {
		delete(t.failures, key)
		return nil
	}
	list = list[i:]
	t.failures[key] = list
	return list
}

// bucket returns the key client's failures are counted under: its own
// while there is room for it, else the shared overflow bucket.
func (t *throttle) bucket(client string, now time.Time) string {
	if _, ok := t.failures[client]; ok || len(t.failures) < maxClients {
		return client
	}
	for key := range t.failures {
		t.recent(key, now) // drops clients with no failure in the window
	}
	if len(t.failures) < maxClients {
		return client
	}
	return overflowClient
}

// clientOf names the client a request comes from: its address as API
// Gateway (RequestContext.HTTP.SourceIP) or the local listener saw it.
// X-Forwarded-For is not trusted: anyone can set it. An IPv6 client is its
// /64, since one host usually holds a whole /64.
func clientOf(r *http.Request) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		if p, err := addr.Prefix(64); err == nil {
			return p.String()
		}
	}
	return addr.String()
}
