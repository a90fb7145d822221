package mailchimp

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
)

// interestCategory is one of an audience's groups: a titled set of
// interests a member can be in.
type interestCategory struct {
	id, title, typ string
	interests      []interest
}

// interest is one interest of a category.
type interest struct {
	id, name string
}

// marketingPermission is one of an audience's GDPR marketing permissions.
type marketingPermission struct {
	id, text string
}

// interestTypes are the category types Mailchimp has.
var interestTypes = []string{"checkboxes", "dropdown", "radio", "hidden"}

// AddInterestCategory creates an interest category (a group) in listID,
// as an account user does in Mailchimp's UI, and returns its id. typ is
// checkboxes, dropdown, radio or hidden.
func (s *Server) AddInterestCategory(listID, title, typ string) (string, error) {
	if title == "" || !slices.Contains(interestTypes, typ) {
		return "", fmt.Errorf("add interest category: a title and a type (%v) are required", interestTypes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lists[listID]
	if !ok {
		return "", fmt.Errorf("add interest category: audience %s: %w", listID, ErrNotFound)
	}
	c := &interestCategory{id: randomHex(5), title: title, typ: typ}
	l.categories = append(l.categories, c)
	return c.id, nil
}

// AddInterest creates an interest named name in a category and returns its id.
func (s *Server) AddInterest(listID, categoryID, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("add interest: a name is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lists[listID]
	if !ok {
		return "", fmt.Errorf("add interest: audience %s: %w", listID, ErrNotFound)
	}
	c := l.category(categoryID)
	if c == nil {
		return "", fmt.Errorf("add interest: category %s: %w", categoryID, ErrNotFound)
	}
	i := interest{id: randomHex(5), name: name}
	c.interests = append(c.interests, i)
	return i.id, nil
}

// AddMarketingPermission adds a GDPR marketing permission to listID (as
// enabling GDPR fields in the audience's settings does) and returns its id.
func (s *Server) AddMarketingPermission(listID, text string) (string, error) {
	if text == "" {
		return "", fmt.Errorf("add marketing permission: a text is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lists[listID]
	if !ok {
		return "", fmt.Errorf("add marketing permission: audience %s: %w", listID, ErrNotFound)
	}
	p := marketingPermission{id: randomHex(5), text: text}
	l.permissions = append(l.permissions, p)
	return p.id, nil
}

// category returns the category with that id; s.mu is held.
func (l *list) category(id string) *interestCategory {
	for _, c := range l.categories {
		if c.id == id {
			return c
		}
	}
	return nil
}

// interestCategoryOf returns the category holding interest id; s.mu is held.
func (l *list) interestCategoryOf(id string) *interestCategory {
	for _, c := range l.categories {
		for _, i := range c.interests {
			if i.id == id {
				return c
			}
		}
	}
	return nil
}

// applyTargets checks and applies the interests and marketing permissions
// of a write to m, as Mailchimp does: only those the write names change,
// an unknown id is refused, and a radio or dropdown category holds at most
// one interest. s.mu is held.
func (l *list) applyTargets(m *Member, in memberInput) *apiError {
	interests := maps.Clone(m.Interests)
	if interests == nil {
		interests = map[string]bool{}
	}
	for id, on := range in.Interests {
		if l.interestCategoryOf(id) == nil {
			return errInvalid(FieldError{Field: "interests", Message: fmt.Sprintf("Invalid interest ID: '%s'", id)})
		}
		interests[id] = on
	}
	for _, c := range l.categories {
		if c.typ != "radio" && c.typ != "dropdown" {
			continue
		}
		n := 0
		for _, i := range c.interests {
			if interests[i.id] {
				n++
			}
		}
		if n > 1 {
			return errInvalid(FieldError{Field: "interests", Message: fmt.Sprintf("The group %q takes one interest.", c.title)})
		}
	}
	perms := maps.Clone(m.MarketingPermissions)
	if perms == nil {
		perms = map[string]bool{}
	}
	for _, p := range in.MarketingPermissions {
		if !slices.ContainsFunc(l.permissions, func(x marketingPermission) bool { return x.id == p.ID }) {
			return errInvalid(FieldError{Field: "marketing_permissions", Message: fmt.Sprintf("Invalid marketing permission ID: '%s'", p.ID)})
		}
		perms[p.ID] = p.Enabled
	}
	m.Interests, m.MarketingPermissions = interests, perms
	return nil
}

// interestsView is a member's "interests": every interest of the audience,
// true for those the member is in. s.mu is held.
func (l *list) interestsView(m *Member) map[string]bool {
	out := map[string]bool{}
	for _, c := range l.categories {
		for _, i := range c.interests {
			out[i.id] = m.Interests[i.id]
		}
	}
	return out
}

// permissionsView is a member's "marketing_permissions": every permission
// of the audience with the member's answer. s.mu is held.
func (l *list) permissionsView(m *Member) []map[string]any {
	out := make([]map[string]any, 0, len(l.permissions))
	for _, p := range l.permissions {
		out = append(out, map[string]any{"marketing_permission_id": p.id, "text": p.text, "enabled": m.MarketingPermissions[p.id]})
	}
	return out
}

// getInterestCategories serves GET /lists/{list_id}/interest-categories.
func (s *Server) getInterestCategories(w http.ResponseWriter, r *http.Request) {
	count, offset, perr := page(r)
	if perr != nil {
		writeProblem(w, perr)
		return
	}
	s.mu.Lock()
	l, aerr := s.ownList(apiKeyFrom(r), r.PathValue("list_id"))
	views := []map[string]any{}
	total := 0
	if aerr == nil {
		total = len(l.categories)
		for i, c := range l.categories {
			if i < offset || len(views) >= count {
				continue
			}
			views = append(views, map[string]any{"list_id": l.id, "id": c.id, "title": c.title, "display_order": i, "type": c.typ, "_links": []any{}})
		}
	}
	s.mu.Unlock()
	if aerr != nil {
		writeProblem(w, aerr)
		return
	}
	writeJSON(w, map[string]any{"list_id": l.id, "categories": views, "total_items": total, "_links": []any{}})
}

// getInterests serves GET /lists/{list_id}/interest-categories/{category_id}/interests.
func (s *Server) getInterests(w http.ResponseWriter, r *http.Request) {
	count, offset, perr := page(r)
	if perr != nil {
		writeProblem(w, perr)
		return
	}
	s.mu.Lock()
	l, aerr := s.ownList(apiKeyFrom(r), r.PathValue("list_id"))
	views := []map[string]any{}
	total := 0
	if aerr == nil {
		c := l.category(r.PathValue("category_id"))
		if c == nil {
			aerr = errNotFound()
		} else {
			total = len(c.interests)
			for i, in := range c.interests {
				if i < offset || len(views) >= count {
					continue
				}
				views = append(views, map[string]any{"category_id": c.id, "list_id": l.id, "id": in.id, "name": in.name, "subscriber_count": "0", "display_order": i, "_links": []any{}})
			}
		}
	}
	s.mu.Unlock()
	if aerr != nil {
		writeProblem(w, aerr)
		return
	}
	writeJSON(w, map[string]any{"interests": views, "list_id": r.PathValue("list_id"), "category_id": r.PathValue("category_id"), "total_items": total, "_links": []any{}})
}

// targetsEqual reports whether two states of a member hold the same
// interests and marketing permissions (an absent one is false).
func targetsEqual(a, b *Member) bool {
	same := func(x, y map[string]bool) bool {
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		for k, v := range y {
			if x[k] != v {
				return false
			}
		}
		return true
	}
	return same(a.Interests, b.Interests) && same(a.MarketingPermissions, b.MarketingPermissions)
}
