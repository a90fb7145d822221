package mailchimp

import "maps"

// Stats are counters for tests and benchmarks, since the Server was made or
// last reset.
type Stats struct {
	// Requests counts Marketing API requests by HTTP method, including
	// those refused.
	Requests map[string]int `json:"requests"`
	// MemberWrites counts PUT and PATCH on members and batch subscribes
	// that passed authentication, the connection limit and faults.
	MemberWrites int `json:"member_writes"`
	// TagWrites counts POST …/members/{hash}/tags that changed tags.
	TagWrites int `json:"tag_writes"`
	// MembersWritten counts the members written: one per PUT or PATCH that
	// wrote a member, one per member a batch subscribe created or updated.
	MembersWritten int `json:"members_written"`
	// TooManyRequests counts requests refused by the connection limit.
	TooManyRequests int `json:"too_many_requests"`
	// PeakInFlight is the most requests one account had in flight at once.
	PeakInFlight int `json:"peak_in_flight"`
	// Faults counts requests that met an injected fault.
	Faults int `json:"faults"`
	// WebhooksDelivered counts deliveries answered 2xx.
	WebhooksDelivered int `json:"webhooks_delivered"`
	// WebhookRetries counts failed attempts that were tried again.
	WebhookRetries int `json:"webhook_retries"`
	// WebhooksFailed counts deliveries given up after every attempt failed.
	WebhooksFailed int `json:"webhooks_failed"`
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = maps.Clone(s.stats.Requests)
	return st
}

// ResetStats sets every counter to zero.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{Requests: map[string]int{}}
}
