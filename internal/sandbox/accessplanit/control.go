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

// serveControl serves the control API:
//
//	GET  /_sandbox/users             every User
//	POST /_sandbox/users             create a User as the UI user (webhook sent)
//	PUT  /_sandbox/users/{id}        edit a User as the UI user (webhook sent)
//	DELETE /_sandbox/users/{id}      delete a User as the UI user (webhook sent)
//	POST /_sandbox/companies         {"name": …} → {"id": …}
//	POST /_sandbox/keys              {"key": …, "owner": …}
//	POST /_sandbox/webhooks          {"url": …}
//	GET  /_sandbox/stats             the counters
//	POST /_sandbox/faults            {"status": 503, "count": 2} or {"drop": true, "count": 1}
//	POST /_sandbox/latency           {"latency": "250ms"}
//
// It has no authentication: the simulator is for local use only.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, controlPrefix), "/")
	what, id, _ := strings.Cut(rest, "/")
	switch {
	case what == "users" && id == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"results": s.Users()})
	case what == "users" && id == "" && r.Method == http.MethodPost:
		var in map[string]any
		if !decodeControl(w, r, &in) {
			return
		}
		newID, err := s.CreateUserInUI(in)
		if err != nil {
			controlError(w, err)
			return
		}
		u, _ := s.User(newID)
		writeJSON(w, http.StatusCreated, u)
	case what == "users" && id != "" && r.Method == http.MethodGet:
		u, ok := s.User(id)
		if !ok {
			controlError(w, &NotFoundError{ID: id})
			return
		}
		writeJSON(w, http.StatusOK, u)
	case what == "users" && id != "" && (r.Method == http.MethodPut || r.Method == http.MethodPatch):
		var in map[string]any
		if !decodeControl(w, r, &in) {
			return
		}
		if err := s.EditUser(id, in); err != nil {
			controlError(w, err)
			return
		}
		u, _ := s.User(id)
		writeJSON(w, http.StatusOK, u)
	case what == "users" && id != "" && r.Method == http.MethodDelete:
		if err := s.DeleteUserInUI(id); err != nil {
			controlError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case what == "companies" && r.Method == http.MethodPost:
		var in struct {
			Name string `json:"name"`
		}
		if !decodeControl(w, r, &in) {
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": s.AddCompany(in.Name)})
	case what == "keys" && r.Method == http.MethodPost:
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
	case what == "webhooks" && r.Method == http.MethodPost:
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
	case what == "stats" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Stats())
	case what == "faults" && r.Method == http.MethodPost:
		var f Fault
		if !decodeControl(w, r, &f) {
			return
		}
		s.InjectFaults(f)
		w.WriteHeader(http.StatusNoContent)
	case what == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case what == "latency" && r.Method == http.MethodPost:
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
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such control endpoint"})
	}
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be a JSON object: " + err.Error()})
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
