package accessplanit

import "maps"

// Stats counts what the simulator has seen and done.
type Stats struct {
	// Requests counts API requests by method and module, as "GET User".
	Requests map[string]int `json:"requests"`
	// Writes counts the creates, updates and deletes stored (API and UI).
	Writes int `json:"writes"`
	// Faults counts requests answered by an injected fault.
	Faults int `json:"faults"`
	// WebhookAttempts counts webhook sends, retries included.
	WebhookAttempts int `json:"webhook_attempts"`
	// WebhooksDelivered counts deliveries a receiver accepted (2xx).
	WebhooksDelivered int `json:"webhooks_delivered"`
	// WebhooksFailed counts deliveries given up after every attempt.
	WebhooksFailed int `json:"webhooks_failed"`
}

func newStats() Stats { return Stats{Requests: map[string]int{}} }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = maps.Clone(s.stats.Requests)
	return st
}

func (s *Server) count(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests[key]++
}

// recordDelivery counts one finished delivery.
func (s *Server) recordDelivery(attempts int, delivered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.WebhookAttempts += attempts
	if delivered {
		s.stats.WebhooksDelivered++
	} else {
		s.stats.WebhooksFailed++
	}
}
