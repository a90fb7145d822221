package accessplanit

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultPrefix is the path the emulated API is served under.
const DefaultPrefix = "/accessplan/api/v2/"

// DefaultUIUserID is the platform user that edits made "in the UI" are
// recorded against.
const DefaultUIUserID = "1"

// Options configures a Server.
type Options struct {
	// Prefix is the path of the API (default DefaultPrefix).
	Prefix string
	// CustomFields are the User module's custom fields, named "CF_<Name>".
	CustomFields []string
	// UIUserID is the user recorded for edits made through EditUserInUI and the
	// control API (default DefaultUIUserID).
	UIUserID string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// WebhookAttempts is how many times a delivery is tried (default 4).
	WebhookAttempts int
	// WebhookBackoff is the delay before the first retry; it doubles for
	// each further one (default 20ms).
	WebhookBackoff time.Duration
	// WebhookClient sends webhooks (default a client with a 5 s timeout).
	WebhookClient *http.Client
	// DefaultPageSize is how many items a list answers when the request
	// sends no $top (default 0: every item). The platform's default page is
	// not published; a small one shows a client that does not ask for its
	// page size being cut short.
	DefaultPageSize int
}

// Server is a simulated accessplanit platform. It is an http.Handler.
type Server struct {
	opts Options

	mu    sync.Mutex
	keys  map[string]*apiKey
	users map[int]*user
	// gen counts changes of users and companies; rendered holds the users'
	// answers as of renderedGen.
	gen, renderedGen int
	rendered         []map[string]any
	companies        map[int]string
	customFields     []string
	nextUserID       int
	nextCompanyID    int
	lastStamp        time.Time
	stats            Stats
	latency          time.Duration
	faults           []Fault

	training     *training // Course, CourseDate, UserCourseDate (bookings.go)
	hooks        *hooks
	api, control *http.ServeMux
}

type apiKey struct {
	owner    string
	disabled bool
}

// New returns a simulator with no keys, users or companies.
func New(opts Options) *Server {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(opts.Prefix, "/") {
		opts.Prefix = "/" + opts.Prefix
	}
	if !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	if opts.UIUserID == "" {
		opts.UIUserID = DefaultUIUserID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WebhookAttempts <= 0 {
		opts.WebhookAttempts = 4
	}
	if opts.WebhookBackoff <= 0 {
		opts.WebhookBackoff = 20 * time.Millisecond
	}
	if opts.WebhookClient == nil {
		opts.WebhookClient = &http.Client{Timeout: 5 * time.Second}
	}
	s := &Server{
		opts:          opts,
		keys:          map[string]*apiKey{},
		users:         map[int]*user{},
		companies:     map[int]string{},
		nextUserID:    1001,
		nextCompanyID: 1,
		stats:         newStats(),
	}
	for _, f := range opts.CustomFields {
		if name, ok := customFieldName(f); ok {
			s.customFields = append(s.customFields, name)
		}
	}
	s.hooks = newHooks(opts, s.recordDelivery)
	s.api = s.apiRoutes()
	s.control = s.controlRoutes()
	return s
}

// Prefix returns the path the API is served under, ending with a slash.
func (s *Server) Prefix() string { return s.opts.Prefix }

// Close stops sending webhooks; deliveries not yet made are dropped.
func (s *Server) Close() { s.hooks.close() }

// AddAPIKey lets requests with "Authorization: Bearer key" in, recording
// their writes against the platform user ownerUserID.
func (s *Server) AddAPIKey(key, ownerUserID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = &apiKey{owner: ownerUserID}
}

// DisableAPIKey makes the key fail as an administrator's disabling would.
func (s *Server) DisableAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[key]; ok {
		k.disabled = true
	}
}

// AddCompany adds a Company (an Account) and returns its ID.
func (s *Server) AddCompany(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextCompanyID
	s.nextCompanyID++
	s.companies[id] = name
	s.changed()
	return itoa(id)
}

// ServeHTTP serves the emulated API under the prefix and the control API
// under /_sandbox/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, controlPrefix):
		s.control.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, s.opts.Prefix):
		s.serveAPI(w, r)
	default:
		writeJSON(w, http.StatusNotFound, errorBody{Message: "No HTTP resource was found that matches the request URI."})
	}
}

// WebhookURLs returns the URLs webhooks are sent to.
func (s *Server) WebhookURLs() []string { return s.hooks.urls() }

// AddWebhook makes the platform send every create, update and delete of a
// User to url.
func (s *Server) AddWebhook(url string) { s.hooks.add(url) }
