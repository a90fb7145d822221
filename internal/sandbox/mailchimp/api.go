package mailchimp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// maxInFlight is Mailchimp's limit of simultaneous connections per user.
const maxInFlight = 10

// keyContext carries the authenticated API key to the handlers.
type keyContext struct{}

// apiKeyFrom returns the API key serveAPI authenticated.
func apiKeyFrom(r *http.Request) string {
	k, _ := r.Context().Value(keyContext{}).(string)
	return k
}

// serveAPI runs one Marketing API request through what stands in front of
// Mailchimp's handlers, in the order a client meets it: authentication, the
// connection limit, latency and injected faults, then the route.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests[r.Method]++
	s.mu.Unlock()

	key, ok := credentials(r)
	if !ok || !s.knownKey(key) {
		writeProblem(w, errUnauthorized())
		return
	}
	if !s.acquire(key) {
		writeProblem(w, errTooManyRequests())
		return
	}
	defer s.release(key)

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if !sleep(r.Context(), latency) {
		return // the client went away
	}
	if f := s.takeFault(r, batchMembers(r)); f != nil {
		if done := s.applyFault(w, r, f); done {
			return
		}
	}
	s.api.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyContext{}, key)))
}

// credentials returns the API key of r: the password of HTTP basic auth (any
// user name) or a bearer token.
func credentials(r *http.Request) (string, bool) {
	if _, pass, ok := r.BasicAuth(); ok {
		return pass, pass != ""
	}
	h := r.Header.Get("Authorization")
	if scheme, token, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(token)
		return token, token != ""
	}
	return "", false
}

func (s *Server) knownKey(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.accounts[key]
	return ok
}

// acquire takes one of key's connection slots; false means all are taken.
func (s *Server) acquire(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[key]
	if a.inFlight >= maxInFlight {
		s.stats.TooManyRequests++
		return false
	}
	a.inFlight++
	if a.inFlight > s.stats.PeakInFlight {
		s.stats.PeakInFlight = a.inFlight
	}
	return true
}

func (s *Server) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[key].inFlight--
}

// sleep waits d or until ctx ends; it reports whether the whole wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// apiRoutes maps the operations of the contract subset to their handlers.
func (s *Server) apiRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/", methods{}) // anything else: 404 problem
	mux.Handle("/3.0/{$}", methods{http.MethodGet: s.getRoot})
	mux.Handle("/3.0/ping", methods{http.MethodGet: s.getPing})
	mux.Handle("/3.0/lists", methods{http.MethodGet: s.getLists})
	mux.Handle("/3.0/lists/{list_id}", methods{http.MethodGet: s.getList, http.MethodPost: s.postBatchSubscribe})
	mux.Handle("/3.0/lists/{list_id}/members", methods{http.MethodGet: s.getMembers})
	mux.Handle("/3.0/lists/{list_id}/members/{subscriber_hash}", methods{
		http.MethodGet:   s.getMember,
		http.MethodPut:   s.putMember,
		http.MethodPatch: s.patchMember,
	})
	mux.Handle("/3.0/lists/{list_id}/members/{subscriber_hash}/tags", methods{http.MethodGet: s.getMemberTags, http.MethodPost: s.postMemberTags})
	mux.Handle("/3.0/lists/{list_id}/merge-fields", methods{http.MethodGet: s.getMergeFields})
	mux.Handle("/3.0/lists/{list_id}/interest-categories", methods{http.MethodGet: s.getInterestCategories})
	mux.Handle("/3.0/lists/{list_id}/interest-categories/{category_id}/interests", methods{http.MethodGet: s.getInterests})
	mux.Handle("/3.0/lists/{list_id}/webhooks", methods{http.MethodGet: s.getWebhooks, http.MethodPost: s.postWebhook})
	return mux
}

// methods dispatches by HTTP method and answers like Mailchimp when a path
// is unknown (404) or does not take the method (405), always as problem+json.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(m) == 0 {
		writeProblem(w, errNotFound())
		return
	}
	h, ok := m[r.Method]
	if !ok {
		allow := make([]string, 0, len(m))
		for method := range m {
			allow = append(allow, method)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, errMethodNotAllowed())
		return
	}
	h(w, r)
}

// getRoot answers the API root with the account's details; the simulator
// knows only its id, which each key's account gets from the key.
func (s *Server) getRoot(w http.ResponseWriter, r *http.Request) {
	sum := sha256.Sum256([]byte(apiKeyFrom(r)))
	writeJSON(w, map[string]string{"account_id": hex.EncodeToString(sum[:8])})
}

func (s *Server) getPing(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]string{"health_status": "Everything's Chimpy!"})
}
