package mailchimp

import (
	"net/http"
	"strings"
	"time"
)

// readStatuses are the statuses GET /lists/{list_id}/members filters on.
var readStatuses = []string{"subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"}

// getMembers serves GET /lists/{list_id}/members: a page of the audience
// with count (default 10, at most 1000), offset, status, since_last_changed
// and fields/exclude_fields. total_items counts every member the filters
// match, regardless of paging.
//
// INFERRED: Mailchimp documents no default order. The simulator answers
// members in the order they signed up (ties by subscriber hash), so that
// pages taken one after another neither repeat nor skip a member while the
// audience is unchanged.
func (s *Server) getMembers(w http.ResponseWriter, r *http.Request) {
	count, offset, aerr := page(r)
	if aerr != nil {
		writeProblem(w, aerr)
		return
	}
	q := r.URL.Query()
	status := q.Get("status")
	if status != "" && !contains(readStatuses, status) {
		writeProblem(w, errInvalid(FieldError{Field: "status", Message: "The value \"" + status + "\" is not a valid status."}))
		return
	}
	var since time.Time
	if v := q.Get("since_last_changed"); v != "" {
		t, ok := parseISO8601(v)
		if !ok {
			writeProblem(w, errInvalid(FieldError{Field: "since_last_changed", Message: "The value is not a valid ISO 8601 date and time."}))
			return
		}
		since = t
	}
	s.mu.Lock()
	l, aerr := s.ownList(apiKeyFrom(r), r.PathValue("list_id"))
	if aerr != nil {
		s.mu.Unlock()
		writeProblem(w, aerr)
		return
	}
	matched := make([]*Member, 0, len(l.members))
	for _, m := range l.inOrder() {
		if status != "" && m.Status != status {
			continue
		}
		// Mailchimp: "whose information changed after" the time given.
		if !since.IsZero() && !m.LastChanged.After(since) {
			continue
		}
		matched = append(matched, m)
	}
	views := []any{}
	for i := offset; i < len(matched) && len(views) < count; i++ {
		views = append(views, l.memberView(matched[i]))
	}
	s.mu.Unlock()
	answer := map[string]any{
		"members":     views,
		"list_id":     l.id,
		"total_items": len(matched),
		"_links":      []any{},
	}
	writeJSON(w, projectFields(answer, splitFields(q.Get("fields")), splitFields(q.Get("exclude_fields"))))
}

// parseISO8601 reads the date-times Mailchimp accepts in query filters:
// RFC 3339 with a zone, or without one (taken as UTC), or a bare date.
func parseISO8601(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// splitFields reads a comma-separated list of dot-notation paths.
func splitFields(s string) [][]string {
	var out [][]string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.Split(p, "."))
		}
	}
	return out
}

// projectFields applies fields (keep only these paths) and then
// exclude_fields (drop these paths) to an answer. A path runs through
// objects and, as Mailchimp's "members.email_address" does, through every
// object of an array.
func projectFields(v map[string]any, keep, drop [][]string) map[string]any {
	if len(keep) > 0 {
		v = keepPaths(v, keep).(map[string]any)
	}
	for _, p := range drop {
		dropPath(v, p)
	}
	return v
}

// keepPaths returns the parts of v that the paths name; a path that ends at
// a value keeps it whole.
func keepPaths(v any, paths [][]string) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = keepPaths(e, paths)
		}
		return out
	case map[string]any:
		children := map[string][][]string{}
		whole := map[string]bool{}
		for _, p := range paths {
			if len(p) == 1 {
				whole[p[0]] = true
			} else {
				children[p[0]] = append(children[p[0]], p[1:])
			}
		}
		out := map[string]any{}
		for k, e := range x {
			switch {
			case whole[k]:
				out[k] = e
			case children[k] != nil:
				out[k] = keepPaths(e, children[k])
			}
		}
		return out
	default:
		return v
	}
}

// dropPath removes the value path names from v, in place.
func dropPath(v any, path []string) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			dropPath(e, path)
		}
	case map[string]any:
		if len(path) == 1 {
			delete(x, path[0])
			return
		}
		dropPath(x[path[0]], path[1:])
	}
}
