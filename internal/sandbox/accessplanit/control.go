package accessplanit

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// controlPrefix is where the control API lives, apart from the emulated API.
const controlPrefix = "/_sandbox/"

// controlRoutes serves the control API. It is not part of the platform and
// has no authentication: the simulator is for local use only.
//
//	GET    /_sandbox/users              every User
//	POST   /_sandbox/users              create a User in the UI (webhook sent)
//	POST   /_sandbox/users/import       [User, …] that existed before: stored, no webhook → {"ids": […]}
//	GET    /_sandbox/users/{id}         one User
//	POST   /_sandbox/users/{id}/edit    edit a User in the UI (webhook sent)
//	POST   /_sandbox/users/{id}/delete  delete a User in the UI (webhook sent)
//	POST   /_sandbox/companies          {"name": …} → {"id": …}
//	POST   /_sandbox/keys               {"key": …, "owner": …}
//	POST   /_sandbox/webhooks           {"url": …}
//	GET    /_sandbox/stats              the counters
//	POST   /_sandbox/faults             {"status": 503, "count": 2} or {"drop": true, "count": 1}
//	DELETE /_sandbox/faults             clear the faults not yet served
//	POST   /_sandbox/latency            {"latency": "250ms"}
//	POST   /_sandbox/bookings           {"user_id", "course", "start_date", "status"}: a delegate booked, changed or cancelled (webhook sent) → {"id": "<UserID>~<CourseDateID>"}
func (s *Server) controlRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc(controlPrefix, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such control endpoint"})
	})
	mux.HandleFunc("GET /_sandbox/users", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"results": s.Users()})
	})
	mux.HandleFunc("POST /_sandbox/users", s.controlCreateUser)
	mux.HandleFunc("POST /_sandbox/users/import", s.controlImport)
	mux.HandleFunc("GET /_sandbox/users/{id}", s.controlUser)
	mux.HandleFunc("POST /_sandbox/users/{id}/edit", s.controlEditUser)
	mux.HandleFunc("POST /_sandbox/users/{id}/delete", s.controlDeleteUser)
	mux.HandleFunc("POST /_sandbox/companies", s.controlCompany)
	mux.HandleFunc("POST /_sandbox/keys", s.controlKey)
	mux.HandleFunc("POST /_sandbox/webhooks", s.controlWebhook)
	mux.HandleFunc("GET /_sandbox/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /_sandbox/faults", s.controlFaults)
	mux.HandleFunc("DELETE /_sandbox/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sandbox/latency", s.controlLatency)
	mux.HandleFunc("POST /_sandbox/bookings", s.controlBooking)
	return mux
}

func (s *Server) controlCreateUser(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	if !decodeControl(w, r, &in) {
		return
	}
	id, err := s.CreateUserInUI(in)
	if err != nil {
		controlError(w, err)
		return
	}
	u, _ := s.User(id)
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) controlUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	u, ok := s.User(id)
	if !ok {
		controlError(w, &NotFoundError{ID: id})
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) controlEditUser(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	if !decodeControl(w, r, &in) {
		return
	}
	id := r.PathValue("id")
	if err := s.EditUserInUI(id, in); err != nil {
		controlError(w, err)
		return
	}
	u, _ := s.User(id)
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) controlDeleteUser(w http.ResponseWriter, r *http.Request) {
	if err := s.DeleteUserInUI(r.PathValue("id")); err != nil {
		controlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlCompany(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if !decodeControl(w, r, &in) {
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": s.AddCompany(in.Name)})
}

func (s *Server) controlKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Key   string `json:"key"`
		Owner string `json:"owner"`
	}
	if !decodeControl(w, r, &in) {
		return
	}
	if in.Key == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "key is required"})
		return
	}
	s.AddAPIKey(in.Key, in.Owner)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlWebhook(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL string `json:"url"`
	}
	if !decodeControl(w, r, &in) {
		return
	}
	if !strings.HasPrefix(in.URL, "http://") && !strings.HasPrefix(in.URL, "https://") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "url must be an http or https URL"})
		return
	}
	s.AddWebhook(in.URL)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlFaults(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if !decodeControl(w, r, &f) {
		return
	}
	s.InjectFaults(f)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlLatency(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Latency string `json:"latency"`
	}
	if !decodeControl(w, r, &in) {
		return
	}
	d, err := time.ParseDuration(in.Latency)
	if err != nil || d < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "latency must be a duration such as 250ms"})
		return
	}
	s.SetLatency(d)
	w.WriteHeader(http.StatusNoContent)
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON: " + err.Error()})
		return false
	}
	return true
}

func controlError(w http.ResponseWriter, err error) {
	var nf *NotFoundError
	var ve *ValidationError
	switch {
	case errors.As(err, &nf):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid user", "problems": ve.Problems})
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	}
}
