package accessplanit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// errorBody is the platform's error answer.
type errorBody struct {
	Message string   `json:"Message"`
	Errors  []string `json:"Errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, msg string, problems ...string) {
	writeJSON(w, http.StatusBadRequest, errorBody{Message: msg, Errors: problems})
}

// serveAPI serves the emulated API v2.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, s.opts.Prefix)
	module, id, _ := strings.Cut(rest, "/")
	s.count(r.Method + " " + module)

	if !s.delay(r) {
		return
	}
	if s.fault(w) {
		return
	}
	owner, ok := s.authenticate(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, errorBody{Message: "Authorization has been denied for this request."})
		return
	}
	switch {
	case strings.EqualFold(module, "User"):
		s.serveUser(w, r, id, owner)
	case strings.EqualFold(module, "Company") && r.Method == http.MethodGet:
		s.serveList(w, r, id, s.companyItems, companyField)
	case strings.EqualFold(module, "CustomFieldMetadata") && r.Method == http.MethodGet && id == "":
		s.serveList(w, r, "", s.customFieldItems, customFieldMetadataField)
	case strings.EqualFold(module, "Company"), strings.EqualFold(module, "CustomFieldMetadata"):
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Message: fmt.Sprintf("The requested resource does not support http method '%s'.", r.Method)})
	default:
		writeJSON(w, http.StatusNotFound, errorBody{Message: fmt.Sprintf("No module named '%s'.", module)})
	}
}

// authenticate returns the owner of the request's API key.
func (s *Server) authenticate(r *http.Request) (string, bool) {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[strings.TrimSpace(key)]
	if !ok || k.disabled {
		return "", false
	}
	return k.owner, true
}

func (s *Server) serveUser(w http.ResponseWriter, r *http.Request, id, owner string) {
	switch {
	case r.Method == http.MethodGet:
		s.serveList(w, r, id, s.userItems, userField)
	case r.Method == http.MethodPost && id == "":
		in, ok := readFields(w, r)
		if !ok {
			return
		}
		u, problems := s.createUser(in, owner, true)
		if problems != nil {
			badRequest(w, "The request is invalid.", problems...)
			return
		}
		w.Header().Set("Location", s.opts.Prefix+"User/"+itoa(u["ID"].(int)))
		writeJSON(w, http.StatusCreated, u)
	case (r.Method == http.MethodPut || r.Method == http.MethodPatch) && id != "":
		in, ok := readFields(w, r)
		if !ok {
			return
		}
		n, err := strconv.Atoi(id)
		if err != nil {
			writeJSON(w, http.StatusNotFound, errorBody{Message: fmt.Sprintf("User %s not found.", id)})
			return
		}
		u, problems, found := s.updateUser(n, in, owner, true)
		switch {
		case !found:
			writeJSON(w, http.StatusNotFound, errorBody{Message: fmt.Sprintf("User %d not found.", n)})
		case problems != nil:
			badRequest(w, "The request is invalid.", problems...)
		default:
			writeJSON(w, http.StatusOK, u)
		}
	case r.Method == http.MethodDelete && id != "":
		n, err := strconv.Atoi(id)
		if err != nil || !s.deleteUser(n, owner) {
			writeJSON(w, http.StatusNotFound, errorBody{Message: fmt.Sprintf("User %s not found.", id)})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Message: fmt.Sprintf("The requested resource does not support http method '%s'.", r.Method)})
	}
}

// readFields decodes a write's JSON object, keeping numbers exact.
func readFields(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		badRequest(w, "The request body could not be read.")
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil || in == nil {
		badRequest(w, "The request is invalid.", "The body must be a JSON object.")
		return nil, false
	}
	return in, true
}

// serveList answers a list (or, with an id, the one item with that ID).
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, id string, items func() []map[string]any, field func(string) (string, bool)) {
	if id != "" {
		for _, item := range items() {
			if valueText(item["ID"]) == id {
				writeJSON(w, http.StatusOK, item)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, errorBody{Message: fmt.Sprintf("No item with ID %s.", id)})
		return
	}
	lq, err := parseListQuery(r.URL.Query(), field)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": lq.apply(items())})
}

func userField(name string) (string, bool) {
	n, _, ok := fieldKind(name)
	return n, ok
}

func companyField(name string) (string, bool) {
	for _, f := range []string{"ID", "Name"} {
		if strings.EqualFold(f, name) {
			return f, true
		}
	}
	return "", false
}

func customFieldMetadataField(name string) (string, bool) {
	for _, f := range []string{"ID", "Module", "FieldName", "Label", "DataType"} {
		if strings.EqualFold(f, name) {
			return f, true
		}
	}
	return "", false
}

// userItems answers every User, in ID order.
func (s *Server) userItems() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.users))
	for id := range s.users {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.users[id].json(s.companies, s.customFields))
	}
	return out
}

func (s *Server) companyItems() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.companies))
	for id := range s.companies {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, map[string]any{"ID": id, "Name": nullable(s.companies[id])})
	}
	return out
}

// customFieldItems answers the User module's custom fields.
//
// ASSUMPTION: each CustomFieldMetadata item has ID, Module, FieldName (with
// its "CF_" prefix), Label and DataType; the client reads these names.
func (s *Server) customFieldItems() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, 0, len(s.customFields))
	for i, name := range s.customFields {
		out = append(out, map[string]any{"ID": i + 1, "Module": "User", "FieldName": name, "Label": strings.TrimPrefix(name, "CF_"), "DataType": "Text"})
	}
	return out
}

// stamp returns the time for a change: now, in milliseconds, and always
// after the previous stamp so that changes keep their order.
func (s *Server) stamp() time.Time {
	t := s.opts.Now().UTC().Truncate(time.Millisecond)
	if !t.After(s.lastStamp) {
		t = s.lastStamp.Add(time.Millisecond)
	}
	s.lastStamp = t
	return t
}
