package accessplanit

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"sync"
	"time"
)

// delivery is one webhook to send to one URL.
type delivery struct {
	url    string
	method string
	body   []byte
}

// hooks sends webhooks from one background worker, in the order the
// changes were made, retrying each a few times with growing delays.
type hooks struct {
	attempts int
	backoff  time.Duration
	client   *http.Client
	record   func(attempts int, delivered bool)

	mu      sync.Mutex
	targets []string
	queue   []delivery
	busy    bool
	wake    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

func newHooks(opts Options, record func(int, bool)) *hooks {
	ctx, cancel := context.WithCancel(context.Background())
	return &hooks{
		attempts: opts.WebhookAttempts,
		backoff:  opts.WebhookBackoff,
		client:   opts.WebhookClient,
		record:   record,
		wake:     make(chan struct{}, 1),
		ctx:      ctx,
		cancel:   cancel,
	}
}

func (h *hooks) add(url string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.targets = append(h.targets, url)
	if !h.started && h.ctx.Err() == nil {
		h.started = true
		h.wg.Add(1)
		go h.run()
	}
}

func (h *hooks) urls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.targets)
}

// enqueue queues one change for every URL known now.
func (h *hooks) enqueue(method string, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return
	}
	for _, u := range h.targets {
		h.queue = append(h.queue, delivery{url: u, method: method, body: body})
	}
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// idle reports whether nothing is queued or being sent.
func (h *hooks) idle() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.queue) == 0 && !h.busy
}

func (h *hooks) close() {
	h.cancel()
	h.wg.Wait()
}

func (h *hooks) run() {
	defer h.wg.Done()
	for {
		h.mu.Lock()
		if len(h.queue) == 0 {
			h.busy = false
			h.mu.Unlock()
			select {
			case <-h.wake:
				continue
			case <-h.ctx.Done():
				return
			}
		}
		d := h.queue[0]
		h.queue = h.queue[1:]
		h.busy = true
		h.mu.Unlock()

		attempts, ok := h.send(d)
		h.record(attempts, ok)
	}
}

// send tries one delivery until it is accepted or the attempts run out.
func (h *hooks) send(d delivery) (int, bool) {
	wait := h.backoff
	for attempt := 1; ; attempt++ {
		if h.post(d) {
			return attempt, true
		}
		if attempt >= h.attempts {
			return attempt, false
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
			return attempt, false
		}
		wait *= 2
	}
}

func (h *hooks) post(d delivery) bool {
	req, err := http.NewRequestWithContext(h.ctx, d.method, d.url, bytes.NewReader(d.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := h.client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode <= 299
}

// WaitWebhooks waits until every queued webhook has been sent or given up.
func (s *Server) WaitWebhooks(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !s.hooks.idle() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
