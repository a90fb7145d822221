package accessplanit

import (
	"encoding/json"
	"maps"
	"net/http"
	"sort"
	"strconv"
)

// createUser validates and stores a new User made by by (the API key's
// owner, or the UI user), sending a webhook when notify is set.
func (s *Server) createUser(in map[string]any, by string, notify bool) (map[string]any, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &user{text: map[string]string{"Status": "Active"}}
	problems := u.apply(in, s.companyExists)
	problems = append(problems, u.validate(problems)...)
	if len(problems) > 0 {
		return nil, dedupe(problems)
	}
	u.id = s.nextUserID
	s.nextUserID++
	u.dateCreated = s.stamp()
	u.dateUpdated = u.dateCreated
	u.createdBy, u.updatedBy = by, by
	s.users[u.id] = u
	s.changed()
	s.stats.Writes++
	out := u.json(s.companies, s.customFields)
	if notify {
		s.notify(http.MethodPost, out)
	}
	return out, nil
}

// updateUser sets the given properties of User id.
func (s *Server) updateUser(id int, in map[string]any, by string, notify bool) (map[string]any, []string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[id]
	if !ok {
		return nil, nil, false
	}
	u := old.clone()
	problems := u.apply(in, s.companyExists)
	problems = append(problems, u.validate(problems)...)
	if len(problems) > 0 {
		return nil, dedupe(problems), true
	}
	u.dateUpdated = s.stamp()
	u.updatedBy = by
	s.users[id] = u
	s.changed()
	s.stats.Writes++
	out := u.json(s.companies, s.customFields)
	if notify {
		s.notify(http.MethodPut, out)
	}
	return out, nil, true
}

// deleteUser deletes as the platform does: the first delete marks the User
// Deleted, a second removes it.
func (s *Server) deleteUser(id int, by string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return false
	}
	s.changed()
	if u.text["Status"] == "Deleted" {
		delete(s.users, id)
	} else {
		u.text["Status"] = "Deleted"
		u.dateUpdated = s.stamp()
		u.updatedBy = by
	}
	s.stats.Writes++
	s.notify(http.MethodDelete, u.json(s.companies, s.customFields))
	return true
}

// notify queues a webhook; called with s.mu held, so webhooks keep the
// order of the changes.
func (s *Server) notify(method string, u map[string]any) {
	body, err := json.Marshal(u)
	if err != nil {
		return
	}
	s.hooks.enqueue(method, body)
}

func (s *Server) companyExists(id int) bool {
	_, ok := s.companies[id]
	return ok
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	out := list[:0]
	for _, p := range list {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// AddUser stores a User as if it had always been there: validated like a
// create, recorded against the UI user, with no webhook. It returns the ID.
func (s *Server) AddUser(fields map[string]any) (string, error) {
	u, problems := s.createUser(normaliseInput(fields), s.opts.UIUserID, false)
	if problems != nil {
		return "", &ValidationError{Problems: problems}
	}
	return itoa(u["ID"].(int)), nil
}

// CreateUserInUI creates a User as an administrator in the platform's UI
// would: recorded against the UI user, and sent to the webhooks.
func (s *Server) CreateUserInUI(fields map[string]any) (string, error) {
	u, problems := s.createUser(normaliseInput(fields), s.opts.UIUserID, true)
	if problems != nil {
		return "", &ValidationError{Problems: problems}
	}
	return itoa(u["ID"].(int)), nil
}

// EditUserInUI changes a User as an administrator in the platform's UI would:
// UpdatedByID becomes the UI user (not an API key's owner), and the change
// is sent to the webhooks.
func (s *Server) EditUserInUI(id string, fields map[string]any) error {
	n, err := strconv.Atoi(id)
	if err != nil {
		return &NotFoundError{ID: id}
	}
	_, problems, found := s.updateUser(n, normaliseInput(fields), s.opts.UIUserID, true)
	if !found {
		return &NotFoundError{ID: id}
	}
	if problems != nil {
		return &ValidationError{Problems: problems}
	}
	return nil
}

// DeleteUserInUI deletes a User as an administrator in the UI would.
func (s *Server) DeleteUserInUI(id string) error {
	n, err := strconv.Atoi(id)
	if err != nil || !s.deleteUser(n, s.opts.UIUserID) {
		return &NotFoundError{ID: id}
	}
	return nil
}

// normaliseInput turns Go values into what the JSON decoder would give.
func normaliseInput(fields map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		switch x := v.(type) {
		case int:
			out[k] = json.Number(strconv.Itoa(x))
		case int64:
			out[k] = json.Number(strconv.FormatInt(x, 10))
		case float64:
			out[k] = json.Number(strconv.FormatFloat(x, 'f', -1, 64))
		default:
			out[k] = v
		}
	}
	return out
}

// Users returns every User as the API answers it, in ID order.
func (s *Server) Users() []map[string]any {
	items := s.userItems()
	for i, it := range items {
		items[i] = maps.Clone(it) // the caller's to change
	}
	return items
}

// User returns the User with that ID as the API answers it.
func (s *Server) User(id string) (map[string]any, bool) {
	n, err := strconv.Atoi(id)
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[n]
	if !ok {
		return nil, false
	}
	return u.json(s.companies, s.customFields), true
}

// UserIDs returns the IDs of every User, in order.
func (s *Server) UserIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.users))
	for id := range s.users {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = itoa(id)
	}
	return out
}
