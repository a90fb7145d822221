package accessplanit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
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

// modules are the modules the platform serves, spelt as its paths spell them.
var modules = []string{"User", "Company", "CustomFieldMetadata", "Course", "CourseDate", "UserCourseDate"}

// ownerContext carries the owner of the request's API key to the handlers.
type ownerContext struct{}

// ownerFrom returns the owner serveAPI authenticated.
func ownerFrom(r *http.Request) string {
	owner, _ := r.Context().Value(ownerContext{}).(string)
	return owner
}

// serveAPI runs one API v2 request through what stands in front of the
// platform's handlers, in the order a client meets it: latency, injected
// faults, authentication, then the route.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	module, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, s.opts.Prefix), "/")
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
	r = r.WithContext(context.WithValue(r.Context(), ownerContext{}, owner))
	r.URL = s.spellModule(r.URL, module)
	s.api.ServeHTTP(w, r)
}

// spellModule returns u with its module spelt as the routes spell it. The
// platform matches module names whatever their case ("user" is "User");
// ServeMux patterns cannot, so this is the one step of routing done by hand.
func (s *Server) spellModule(u *url.URL, module string) *url.URL {
	for _, m := range modules {
		if m != module && strings.EqualFold(m, module) {
			spelt := *u
			spelt.Path = s.opts.Prefix + m + strings.TrimPrefix(u.Path, s.opts.Prefix+module)
			spelt.RawPath = ""
			return &spelt
		}
	}
	return u
}

// apiRoutes maps the modules' paths to their handlers. A path takes the
// methods listed for it; anything else under the prefix answers 404.
func (s *Server) apiRoutes() *http.ServeMux {
	p := s.opts.Prefix
	mux := http.NewServeMux()
	mux.HandleFunc(p, s.noResource)
	mux.Handle(p+"User", methods{http.MethodGet: s.getUsers, http.MethodPost: s.postUser})
	mux.Handle(p+"User/{id}", methods{
		http.MethodGet:    s.getUser,
		http.MethodPut:    s.putUser,
		http.MethodPatch:  s.putUser,
		http.MethodDelete: s.deleteUserByAPI,
	})
	mux.Handle(p+"Company", methods{http.MethodGet: s.getCompanies})
	mux.Handle(p+"Company/{id}", methods{http.MethodGet: s.getCompany})
	mux.Handle(p+"CustomFieldMetadata", methods{http.MethodGet: s.getCustomFields})
	mux.Handle(p+"CustomFieldMetadata/{id}", methods{}) // the list only: 405 for every method
	mux.Handle(p+"Course", methods{http.MethodGet: s.getCourses})
	mux.Handle(p+"CourseDate", methods{http.MethodGet: s.getCourseDates})
	mux.Handle(p+"UserCourseDate", methods{http.MethodGet: s.getDelegates})
	return mux
}

// methods dispatches by HTTP method and answers like the platform (405, in
// its error shape) when a path does not take the method; the Mailchimp
// simulator routes its API the same way, with Mailchimp's error shape.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := m[r.Method]
	if !ok {
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Message: fmt.Sprintf("The requested resource does not support http method '%s'.", r.Method)})
		return
	}
	h(w, r)
}

// noResource answers a path no route takes: an unknown module, or a known
// module's path with more segments than it has.
func (s *Server) noResource(w http.ResponseWriter, r *http.Request) {
	module, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, s.opts.Prefix), "/")
	for _, m := range modules {
		if m == module {
			writeJSON(w, http.StatusNotFound, errorBody{Message: "No HTTP resource was found that matches the request URI."})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, errorBody{Message: fmt.Sprintf("No module named '%s'.", module)})
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

func (s *Server) getUsers(w http.ResponseWriter, r *http.Request) {
	items := s.userItems
	// A read of Users by ID (the sync's batch read) renders only those, so
	// a large platform answers it as fast as a small one.
	if lq, err := parseListQuery(r.URL.Query(), userField); err == nil {
		if ids, ok := lq.onlyIDs(); ok {
			items = func() []map[string]any { return s.usersByID(ids) }
		}
	}
	s.serveList(w, r, items, userField)
}

// usersByID answers the Users with those IDs that exist, in ID order.
func (s *Server) usersByID(ids []int) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	slices.Sort(ids)
	out := make([]map[string]any, 0, len(ids))
	for _, id := range slices.Compact(ids) {
		if u, ok := s.users[id]; ok {
			item := u.json(s.companies, s.customFields)
			s.addBookingDates(item, id)
			out = append(out, item)
		}
	}
	return out
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	serveItem(w, r.PathValue("id"), s.userItems)
}

func (s *Server) postUser(w http.ResponseWriter, r *http.Request) {
	in, ok := readFields(w, r)
	if !ok {
		return
	}
	u, problems := s.createUser(in, ownerFrom(r), true)
	if problems != nil {
		badRequest(w, "The request is invalid.", problems...)
		return
	}
	w.Header().Set("Location", s.opts.Prefix+"User/"+itoa(u["ID"].(int)))
	writeJSON(w, http.StatusCreated, u)
}

// putUser serves PUT and PATCH alike: both change only the properties sent.
func (s *Server) putUser(w http.ResponseWriter, r *http.Request) {
	in, ok := readFields(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	n, err := strconv.Atoi(id)
	if err != nil {
		writeJSON(w, http.StatusNotFound, errorBody{Message: fmt.Sprintf("User %s not found.", id)})
		return
	}
	u, problems, found := s.updateUser(n, in, ownerFrom(r), true)
	switch {
	case !found:
		writeJSON(w, http.StatusNotFound, errorBody{Message: fmt.Sprintf("User %d not found.", n)})
	case problems != nil:
		badRequest(w, "The request is invalid.", problems...)
	default:
		writeJSON(w, http.StatusOK, u)
	}
}

func (s *Server) deleteUserByAPI(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	n, err := strconv.Atoi(id)
	if err != nil || !s.deleteUser(n, ownerFrom(r)) {
		writeJSON(w, http.StatusNotFound, errorBody{Message: fmt.Sprintf("User %s not found.", id)})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getCompanies(w http.ResponseWriter, r *http.Request) {
	s.serveList(w, r, s.companyItems, companyField)
}

func (s *Server) getCompany(w http.ResponseWriter, r *http.Request) {
	serveItem(w, r.PathValue("id"), s.companyItems)
}

func (s *Server) getCustomFields(w http.ResponseWriter, r *http.Request) {
	s.serveList(w, r, s.customFieldItems, customFieldMetadataField)
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

// serveList answers a list, narrowed and shaped by the request's OData
// query; without $top, one default page of it (Options.DefaultPageSize).
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, items func() []map[string]any, field func(string) (string, bool)) {
	lq, err := parseListQuery(r.URL.Query(), field)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	if lq.top < 0 && s.opts.DefaultPageSize > 0 {
		lq.top = s.opts.DefaultPageSize
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": lq.apply(items())})
}

// serveItem answers the one item with that ID.
func serveItem(w http.ResponseWriter, id string, items func() []map[string]any) {
	for _, item := range items() {
		if valueText(item["ID"]) == id {
			writeJSON(w, http.StatusOK, item)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, errorBody{Message: fmt.Sprintf("No item with ID %s.", id)})
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

// userItems answers every User, in ID order. The answers are rendered once
// per change of the users or companies and shared: a list page of a large
// platform then costs no more than filtering and paging (callers copy
// what they change).
func (s *Server) userItems() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rendered != nil && s.renderedGen == s.gen {
		return slices.Clone(s.rendered)
	}
	ids := make([]int, 0, len(s.users))
	for id := range s.users {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		item := s.users[id].json(s.companies, s.customFields)
		s.addBookingDates(item, id)
		out = append(out, item)
	}
	s.rendered, s.renderedGen = out, s.gen
	return slices.Clone(out)
}

// changed marks the users' rendered answers stale; s.mu is held.
func (s *Server) changed() { s.gen++ }

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
