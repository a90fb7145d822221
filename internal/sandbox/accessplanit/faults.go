package accessplanit

import (
	"net/http"
	"time"
)

// Fault makes the next Count API requests fail: answered with Status, or,
// with Drop, by closing the connection without an answer, or, with Hang,
// held that long before being served normally (a client with a shorter
// timeout gives up while the write still happens, as with a slow platform).
type Fault struct {
	Status int           `json:"status,omitempty"`
	Drop   bool          `json:"drop,omitempty"`
	Hang   time.Duration `json:"hang,omitempty"`
	Count  int           `json:"count"`
}

// InjectFaults queues faults; each applies to its Count requests in turn.
func (s *Server) InjectFaults(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range faults {
		if f.Count <= 0 {
			f.Count = 1
		}
		if !f.Drop && f.Hang <= 0 && f.Status == 0 {
			f.Status = http.StatusInternalServerError
		}
		s.faults = append(s.faults, f)
	}
}

// ClearFaults drops the faults not yet used.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetLatency delays every API request by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// delay waits the configured latency; false if the client gave up.
func (s *Server) delay(r *http.Request) bool {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// fault answers the request with the next injected fault, if any.
func (s *Server) fault(w http.ResponseWriter) bool {
	s.mu.Lock()
	if len(s.faults) == 0 {
		s.mu.Unlock()
		return false
	}
	f := s.faults[0]
	s.faults[0].Count--
	if s.faults[0].Count <= 0 {
		s.faults = s.faults[1:]
	}
	s.stats.Faults++
	s.mu.Unlock()

	if f.Hang > 0 {
		time.Sleep(f.Hang)
		return false
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		// No connection to drop (HTTP/2): the nearest is a gateway error.
		f.Status = http.StatusBadGateway
	}
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, f.Status, errorBody{Message: http.StatusText(f.Status)})
	return true
}
