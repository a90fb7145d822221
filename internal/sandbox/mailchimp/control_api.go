package mailchimp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// controlRoutes serves the simulator's own JSON API under /_sandbox/. It is
// not part of Mailchimp and needs no API key: it is for the local stack and
// demos, on a loopback address.
//
//	GET    /_sandbox/stats                                   the counters
//	POST   /_sandbox/stats/reset                             zero the counters
//	POST   /_sandbox/latency                                 {"latency": "250ms", "batch_base": "1s", "batch_per_member": "2ms"}
//	POST   /_sandbox/faults                                  {"kind": "status", "status": 503, "count": 2}
//	DELETE /_sandbox/faults                                  clear the faults not yet served
//	POST   /_sandbox/accounts                                {"api_key": …}
//	POST   /_sandbox/lists                                   {"api_key": …, "name": …, "merge_fields": […]} → {"id": …}
//	GET    /_sandbox/lists/{list_id}/members                 every member
//	POST   /_sandbox/lists/{list_id}/subscribe               subscribe in the UI (webhook sent)
//	POST   /_sandbox/lists/{list_id}/import                  members that existed before: created or updated, no webhook
//	POST   /_sandbox/lists/{list_id}/members/{email}/{action} act on a member in the UI: edit,
//	                                                         unsubscribe, change-email, clean, compliance, forget
//	POST   /_sandbox/lists/{list_id}/interest-categories     {"title": …, "type": "checkboxes"} → {"id": …}
//	POST   /_sandbox/lists/{list_id}/interest-categories/{category_id}/interests  {"name": …} → {"id": …}
//	POST   /_sandbox/lists/{list_id}/marketing-permissions   {"text": …} → {"id": …}
//	POST   /_sandbox/lists/{list_id}/members/{email}/tags     {"add": ["VIP"], "remove": […]}: tags set by hand in the UI (no webhook) → {"tags": […]}
func (s *Server) controlRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc(controlPrefix, func(w http.ResponseWriter, _ *http.Request) {
		controlJSON(w, http.StatusNotFound, map[string]string{"error": "no such control endpoint"})
	})
	mux.HandleFunc("GET /_sandbox/stats", func(w http.ResponseWriter, _ *http.Request) {
		controlJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /_sandbox/stats/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sandbox/latency", s.controlLatency)
	mux.HandleFunc("POST /_sandbox/faults", s.controlFaults)
	mux.HandleFunc("DELETE /_sandbox/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sandbox/accounts", s.controlAccount)
	mux.HandleFunc("POST /_sandbox/lists", s.controlList)
	mux.HandleFunc("GET /_sandbox/lists/{list_id}/members", s.controlMembers)
	mux.HandleFunc("POST /_sandbox/lists/{list_id}/subscribe", s.controlSubscribe)
	mux.HandleFunc("POST /_sandbox/lists/{list_id}/import", s.controlImport)
	mux.HandleFunc("POST /_sandbox/lists/{list_id}/members/{email}/{action}", s.controlMemberAction)
	mux.HandleFunc("POST /_sandbox/lists/{list_id}/interest-categories", s.controlInterestCategory)
	mux.HandleFunc("POST /_sandbox/lists/{list_id}/interest-categories/{category_id}/interests", s.controlInterest)
	mux.HandleFunc("POST /_sandbox/lists/{list_id}/marketing-permissions", s.controlMarketingPermission)
	mux.HandleFunc("POST /_sandbox/lists/{list_id}/members/{email}/tags", s.controlTags)
	return mux
}

// controlJSON answers with v as JSON.
func controlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// controlError answers err as {"error": "..."}: 404 for a missing audience
// or member, 400 otherwise.
func controlError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrNotFound) {
		status = http.StatusNotFound
	}
	controlJSON(w, status, map[string]string{"error": err.Error()})
}

// decodeControl reads a JSON body; an empty body leaves v as it is.
func decodeControl(r *http.Request, v any) error {
	err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) {
		return errors.New("body is not valid JSON")
	}
	return nil
}

func (s *Server) controlLatency(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Latency        string `json:"latency"`          // a Go duration, e.g. "250ms"
		BatchBase      string `json:"batch_base"`       // optional: see SetBatchLatency
		BatchPerMember string `json:"batch_per_member"` // optional: see SetBatchLatency
	}
	if err := decodeControl(r, &in); err != nil {
		controlError(w, err)
		return
	}
	var d [3]time.Duration
	for i, v := range []string{in.Latency, in.BatchBase, in.BatchPerMember} {
		if v == "" && i > 0 {
			continue
		}
		var err error
		if d[i], err = time.ParseDuration(v); err != nil || d[i] < 0 {
			controlError(w, errors.New("latency, batch_base and batch_per_member must be non-negative durations such as 250ms"))
			return
		}
	}
	s.SetLatency(d[0])
	if in.BatchBase != "" || in.BatchPerMember != "" {
		s.SetBatchLatency(d[1], d[2])
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlFaults(w http.ResponseWriter, r *http.Request) {
	var in struct {
		FaultRule
		Hang string `json:"hang"` // a Go duration, e.g. "30s"
	}
	if err := decodeControl(r, &in); err != nil {
		controlError(w, err)
		return
	}
	rule := in.FaultRule
	if in.Hang != "" {
		d, err := time.ParseDuration(in.Hang)
		if err != nil {
			controlError(w, errors.New("hang must be a duration such as 30s"))
			return
		}
		rule.Hang = d
	}
	switch rule.Kind {
	case FaultStatus, FaultHTML502, FaultHang, FaultDrop:
	default:
		controlError(w, errors.New("kind must be status, html_502, hang or drop"))
		return
	}
	s.InjectFaults(rule)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlAccount(w http.ResponseWriter, r *http.Request) {
	var in struct {
		APIKey string `json:"api_key"`
	}
	if err := decodeControl(r, &in); err != nil || in.APIKey == "" {
		controlError(w, errors.New("api_key is required"))
		return
	}
	s.AddAccount(in.APIKey)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlList(w http.ResponseWriter, r *http.Request) {
	var in struct {
		APIKey      string       `json:"api_key"`
		Name        string       `json:"name"`
		MergeFields []MergeField `json:"merge_fields"`
	}
	if err := decodeControl(r, &in); err != nil || in.APIKey == "" || in.Name == "" {
		controlError(w, errors.New("api_key and name are required"))
		return
	}
	id := s.AddList(in.APIKey, in.Name, in.MergeFields...)
	controlJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (s *Server) controlMembers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	l, ok := s.lists[r.PathValue("list_id")]
	views := []map[string]any{}
	if ok {
		for _, m := range l.members {
			views = append(views, l.memberView(m))
		}
	}
	s.mu.Unlock()
	if !ok {
		controlError(w, ErrNotFound)
		return
	}
	controlJSON(w, http.StatusOK, map[string]any{"members": views})
}

func (s *Server) controlSubscribe(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email  string         `json:"email"`
		Merges map[string]any `json:"merges"`
	}
	if err := decodeControl(r, &in); err != nil {
		controlError(w, err)
		return
	}
	if err := s.SubscribeInUI(r.PathValue("list_id"), in.Email, in.Merges); err != nil {
		controlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// controlMemberAction acts on one member as a person in Mailchimp would:
// edit, unsubscribe, change-email, clean, compliance or forget.
func (s *Server) controlMemberAction(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Merges   map[string]any `json:"merges"`
		Source   string         `json:"source"`
		Action   string         `json:"action"`
		NewEmail string         `json:"new_email"`
		Reason   string         `json:"reason"`
		On       *bool          `json:"on"`
	}
	if err := decodeControl(r, &in); err != nil {
		controlError(w, err)
		return
	}
	listID, email := r.PathValue("list_id"), r.PathValue("email")
	var err error
	switch r.PathValue("action") {
	case "edit":
		if in.Source == "" {
			in.Source = "user"
		}
		err = s.EditMemberInUI(listID, email, in.Merges, in.Source)
	case "unsubscribe":
		if in.Action == "" {
			in.Action = "unsub"
		}
		err = s.UnsubscribeInUI(listID, email, in.Action)
	case "change-email":
		err = s.ChangeEmailInUI(listID, email, in.NewEmail)
	case "clean":
		if in.Reason == "" {
			in.Reason = "hard"
		}
		err = s.Clean(listID, email, in.Reason)
	case "compliance":
		err = s.SetComplianceState(listID, email, in.On == nil || *in.On)
	case "forget":
		err = s.Forget(listID, email)
	default:
		err = errors.New("action must be edit, unsubscribe, change-email, clean, compliance or forget")
	}
	if err != nil {
		controlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlInterestCategory(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title string `json:"title"`
		Type  string `json:"type"`
	}
	if err := decodeControl(r, &in); err != nil {
		controlError(w, err)
		return
	}
	if in.Type == "" {
		in.Type = "checkboxes"
	}
	id, err := s.AddInterestCategory(r.PathValue("list_id"), in.Title, in.Type)
	if err != nil {
		controlError(w, err)
		return
	}
	controlJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (s *Server) controlInterest(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeControl(r, &in); err != nil {
		controlError(w, err)
		return
	}
	id, err := s.AddInterest(r.PathValue("list_id"), r.PathValue("category_id"), in.Name)
	if err != nil {
		controlError(w, err)
		return
	}
	controlJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (s *Server) controlMarketingPermission(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text string `json:"text"`
	}
	if err := decodeControl(r, &in); err != nil {
		controlError(w, err)
		return
	}
	id, err := s.AddMarketingPermission(r.PathValue("list_id"), in.Text)
	if err != nil {
		controlError(w, err)
		return
	}
	controlJSON(w, http.StatusCreated, map[string]string{"id": id})
}
