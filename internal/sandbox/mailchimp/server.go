package mailchimp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// apiPrefix is where the Marketing API lives; a client's base URL ends in it.
const apiPrefix = "/3.0"

// controlPrefix is where the simulator's own control API lives.
const controlPrefix = "/_sandbox/"

// Options configures a Server. Every field is optional.
type Options struct {
	// Logger receives the simulator's own diagnostics; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient sends webhook validation GETs and deliveries; nil means a
	// client with Mailchimp's 10 s delivery timeout.
	HTTPClient *http.Client
	// WebhookRetryDelay is the delay before the first retry of a failed
	// delivery; it doubles with each retry. Zero means 50 ms. Mailchimp
	// retries for about 75 minutes; the simulator keeps it short.
	WebhookRetryDelay time.Duration
	// WebhookAttempts is how many times one delivery is tried in all. Zero
	// means 4.
	WebhookAttempts int
	// BatchLatency and BatchLatencyPerMember are what a batch subscribe
	// costs on top of the latency of every request: a base plus a cost per
	// member sent. See SetBatchLatency.
	BatchLatency, BatchLatencyPerMember time.Duration
}

// Server simulates the Mailchimp Marketing API. It is an http.Handler; the
// zero value is not usable, call New.
type Server struct {
	log          *slog.Logger
	now          func() time.Time
	client       *http.Client
	retryDelay   time.Duration
	attempts     int
	api, control *http.ServeMux
	ctx          context.Context
	cancel       context.CancelFunc
	workers      sync.WaitGroup
	mu           sync.Mutex // guards everything below
	accounts     map[string]*account
	lists        map[string]*list
	listOrder    []string
	latency      time.Duration
	batchBase    time.Duration // see SetBatchLatency
	batchMember  time.Duration
	faults       []*faultRule
	stats        Stats
	nextWebID    int
	closed       bool
}

// account is one Mailchimp user, reached by its API key.
type account struct {
	inFlight int
}

// New returns a Server with no accounts and no audiences.
func New(opts Options) *Server {
	s := &Server{
		log:         opts.Logger,
		now:         opts.Now,
		client:      opts.HTTPClient,
		retryDelay:  opts.WebhookRetryDelay,
		attempts:    opts.WebhookAttempts,
		batchBase:   opts.BatchLatency,
		batchMember: opts.BatchLatencyPerMember,
		accounts:    map[string]*account{},
		lists:       map[string]*list{},
		nextWebID:   100001,
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.retryDelay <= 0 {
		s.retryDelay = 50 * time.Millisecond
	}
	if s.attempts <= 0 {
		s.attempts = 4
	}
	s.stats.Requests = map[string]int{}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.api = s.apiRoutes()
	s.control = s.controlRoutes()
	return s
}

// Close stops webhook deliveries and waits for the background work to end.
// The Server still answers requests afterwards, but delivers no webhooks.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, l := range s.lists {
		l.events.close()
	}
	s.mu.Unlock()
	s.cancel()
	s.workers.Wait()
}

// ServeHTTP serves the Marketing API under /3.0 and the control API under
// /_sandbox/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == apiPrefix || strings.HasPrefix(r.URL.Path, apiPrefix+"/"):
		s.serveAPI(w, r)
	case strings.HasPrefix(r.URL.Path, controlPrefix):
		s.control.ServeHTTP(w, r)
	default:
		writeProblem(w, errNotFound())
	}
}

// AddAccount makes apiKey a valid key of its own Mailchimp account. Keys look
// like "<32 hex>-us21"; the simulator accepts any non-empty string.
func (s *Server) AddAccount(apiKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[apiKey]; !ok {
		s.accounts[apiKey] = &account{}
	}
}

// SetLatency adds d to every API request, spent while the request holds one
// of its account's connection slots, so that latency makes the concurrency
// limit bite as it does against the real API.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetBatchLatency makes each batch subscribe take base plus perMember for
// every member it carries, on top of SetLatency's latency and, like it,
// while holding a connection slot: a large batch is one request, but not a
// free one.
func (s *Server) SetBatchLatency(base, perMember time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batchBase, s.batchMember = base, perMember
}

// batchLatency is what a batch subscribe of n members costs.
func (s *Server) batchLatency(n int) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.batchBase + time.Duration(n)*s.batchMember
}
