package mailchimp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// FaultKind names a way a request can go wrong.
type FaultKind string

// The faults a rule can inject: the failures the contract calls transient.
const (
	// FaultStatus answers Status (default 500) with a problem+json body.
	FaultStatus FaultKind = "status"
	// FaultHTML502 answers 502 with an HTML body, as Mailchimp's CDN does
	// when the API behind it times out.
	FaultHTML502 FaultKind = "html_502"
	// FaultHang holds the request for Hang before serving it normally, so a
	// client with a shorter timeout gives up while the write still happens.
	FaultHang FaultKind = "hang"
	// FaultDrop closes the connection without answering.
	FaultDrop FaultKind = "drop"
)

// FaultRule makes the next Count API requests that match it fail. A rule
// applies after authentication and the connection limit, so a faulted
// request holds its slot as a real slow or failing request does.
type FaultRule struct {
	Kind FaultKind `json:"kind"`
	// Method, when set, limits the rule to one HTTP method.
	Method string `json:"method,omitempty"`
	// PathPrefix, when set, limits the rule to paths starting with it,
	// e.g. "/3.0/lists/abc123/members".
	PathPrefix string `json:"path_prefix,omitempty"`
	// Member, when set (an email address), limits the rule to requests
	// about that member: those on its own path (/lists/{id}/members/{hash})
	// and batch subscribes (POST /lists/{id}) that carry it, which then fail
	// as a whole.
	Member string `json:"member,omitempty"`
	// Count is how many matching requests fail; zero or less means one.
	Count int `json:"count,omitempty"`
	// Status, Title and Detail shape a FaultStatus answer.
	Status int    `json:"status,omitempty"`
	Title  string `json:"title,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Hang is how long a FaultHang request is held.
	Hang time.Duration `json:"hang,omitempty"`
}

// faultRule is a FaultRule with its remaining count.
type faultRule struct {
	FaultRule
	left int
}

// InjectFaults adds rules; a request meets the first rule that matches it.
func (s *Server) InjectFaults(rules ...FaultRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rules {
		left := r.Count
		if left <= 0 {
			left = 1
		}
		s.faults = append(s.faults, &faultRule{FaultRule: r, left: left})
	}
}

// ClearFaults removes every rule not yet used up.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the rule r meets, if any, and uses up one of its count.
// batch holds the members' addresses when r is a batch subscribe.
func (s *Server) takeFault(r *http.Request, batch []string) *FaultRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if f.PathPrefix != "" && !strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			continue
		}
		if f.Member != "" && !strings.HasSuffix(r.URL.Path, "/members/"+SubscriberHash(f.Member)) &&
			!slices.ContainsFunc(batch, func(e string) bool { return strings.EqualFold(strings.TrimSpace(e), f.Member) }) {
			continue
		}
		f.left--
		if f.left <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		s.stats.Faults++
		rule := f.FaultRule
		return &rule
	}
	return nil
}

// batchMembers returns the addresses a batch subscribe (POST /lists/{id})
// carries, leaving its body to be read again; nil for any other request.
func batchMembers(r *http.Request) []string {
	rest, ok := strings.CutPrefix(r.URL.Path, apiPrefix+"/lists/")
	if r.Method != http.MethodPost || !ok || rest == "" || strings.Contains(rest, "/") || r.Body == nil {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	var in struct {
		Members []struct {
			EmailAddress string `json:"email_address"`
		} `json:"members"`
	}
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	out := make([]string, 0, len(in.Members))
	for _, m := range in.Members {
		out = append(out, m.EmailAddress)
	}
	return out
}

// htmlGatewayTimeout is the kind of page a CDN answers when the API behind
// it does not.
const htmlGatewayTimeout = `<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
`

// applyFault acts out f; it reports whether the request is finished.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *FaultRule) bool {
	switch f.Kind {
	case FaultHTML502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(htmlGatewayTimeout))
		return true
	case FaultHang:
		// Wait on the server's lifetime, not the request's: like the real
		// API, the work goes on after the client has given up.
		sleep(s.ctx, f.Hang)
		return false
	case FaultDrop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			cannotDrop(w)
			return true
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			cannotDrop(w)
			return true
		}
		_ = conn.Close()
		return true
	default:
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		title, detail := f.Title, f.Detail
		if title == "" {
			title = http.StatusText(status)
		}
		if detail == "" {
			detail = "An injected fault of the Mailchimp sandbox."
		}
		writeProblem(w, &apiError{status: status, title: title, detail: detail})
		return true
	}
}

// cannotDrop answers when the connection cannot be dropped (HTTP/2).
func cannotDrop(w http.ResponseWriter) {
	writeProblem(w, &apiError{status: http.StatusInternalServerError, title: "Internal Server Error", detail: "The connection could not be dropped."})
}
