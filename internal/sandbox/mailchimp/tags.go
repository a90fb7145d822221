package mailchimp

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Member tags, as the Marketing API keeps them: a member answer carries up
// to 50 tags ({id, name}) and tags_count; GET …/members/{hash}/tags pages
// every tag ({id, name, date_added}); POST …/tags sets tags active or
// inactive and answers 204. Tag names compare without regard to case.
// Changing tags fires no webhook: Mailchimp's webhook events (subscribe,
// unsubscribe, profile, upemail, cleaned, campaign) have none for tags.
//
// INFERRED (the published contract documents no 404 for either call): a
// member the audience does not hold — never added, or permanently deleted
// (Forget) — has no tags to read or write, and both calls answer 404
// "Resource Not Found", as for an audience that does not exist; an archived
// member is still a member, and its tags are read and written as any.

// maxTagsInMember is how many tags a member answer carries.
const maxTagsInMember = 50

// maxTagName is the longest tag name accepted, in bytes.
const maxTagName = 100

// tagID is a tag's id: stable for a name. INFERRED: Mailchimp numbers tags
// per audience; a digest of the lower-cased name stands in for that here.
func tagID(name string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(name)))
	return int(h.Sum32() & 0x7fffffff)
}

// memberTagsView renders up to limit of m's tags as a member answer does.
func memberTagsView(m *Member, limit int) []map[string]any {
	out := []map[string]any{}
	for _, t := range m.Tags {
		if len(out) == limit {
			break
		}
		out = append(out, map[string]any{"id": tagID(t), "name": t})
	}
	return out
}

// tagIndex is the position of the tag named name in m's tags, or -1.
func tagIndex(m *Member, name string) int {
	return slices.IndexFunc(m.Tags, func(t string) bool { return strings.EqualFold(t, name) })
}

// addTags adds, at the time at, the named tags that m does not carry yet.
// INFERRED: a tag m carries already keeps its date_added (the published
// contract does not say; the service relies on it, see the mailchimp
// client's UpdateTags).
func addTags(m *Member, names []string, at time.Time) {
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n != "" && tagIndex(m, n) < 0 {
			m.Tags = append(m.Tags, n)
			if m.TagsAdded == nil {
				m.TagsAdded = map[string]time.Time{}
			}
			m.TagsAdded[strings.ToLower(n)] = at.UTC()
		}
	}
}

// removeTag takes the tag named name off m, forgetting its date_added.
func removeTag(m *Member, name string) {
	if i := tagIndex(m, name); i >= 0 {
		delete(m.TagsAdded, strings.ToLower(m.Tags[i]))
		m.Tags = slices.Delete(m.Tags, i, i+1)
	}
}

// tagAdded is the date_added of m's tag t: when it was added, or when the
// member last changed for a tag whose time was not kept.
func tagAdded(m *Member, t string) time.Time {
	if at, ok := m.TagsAdded[strings.ToLower(t)]; ok {
		return at
	}
	return m.LastChanged
}

// tagsInput is the body of POST …/members/{hash}/tags.
type tagsInput struct {
	Tags []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"tags"`
	IsSyncing bool `json:"is_syncing"`
}

func (s *Server) postMemberTags(w http.ResponseWriter, r *http.Request) {
	var in tagsInput
	if aerr := decodeJSON(r, &in); aerr != nil {
		writeProblem(w, aerr)
		return
	}
	if in.Tags == nil {
		writeProblem(w, errInvalid(FieldError{Field: "tags", Message: "This value should not be blank."}))
		return
	}
	for _, t := range in.Tags {
		if strings.TrimSpace(t.Name) == "" || len(t.Name) > maxTagName {
			writeProblem(w, errInvalid(FieldError{Field: "tags.name", Message: fmt.Sprintf("A tag name must be 1 to %d characters.", maxTagName)}))
			return
		}
		if t.Status != "active" && t.Status != "inactive" {
			writeProblem(w, errInvalid(FieldError{Field: "tags.status", Message: fmt.Sprintf("The value %q is not a valid status: active or inactive.", t.Status)}))
			return
		}
	}
	var now time.Time
	s.mu.Lock()
	l, aerr := s.ownList(apiKeyFrom(r), r.PathValue("list_id"))
	if aerr == nil {
		m, ok := l.members[pathHash(r)]
		if !ok {
			aerr = errNotFound()
		} else {
			now = s.now()
			for _, t := range in.Tags {
				if t.Status == "active" {
					addTags(m, []string{t.Name}, now)
				} else {
					removeTag(m, t.Name)
				}
			}
			s.stats.TagWrites++
		}
	}
	s.mu.Unlock()
	if aerr != nil {
		writeProblem(w, aerr)
		return
	}
	// The answer's Date is the simulator's clock, the one date_added uses.
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getMemberTags(w http.ResponseWriter, r *http.Request) {
	count, offset := 10, 0
	if v, err := strconv.Atoi(r.URL.Query().Get("count")); err == nil && v > 0 {
		count = min(v, 1000)
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("offset")); err == nil && v >= 0 {
		offset = v
	}
	s.mu.Lock()
	l, aerr := s.ownList(apiKeyFrom(r), r.PathValue("list_id"))
	var tags []map[string]any
	total := 0
	if aerr == nil {
		if m, ok := l.members[pathHash(r)]; ok {
			total = len(m.Tags)
			for _, t := range m.Tags[min(offset, total):min(offset+count, total)] {
				tags = append(tags, map[string]any{"id": tagID(t), "name": t, "date_added": tagAdded(m, t).UTC().Format("2006-01-02T15:04:05+00:00")})
			}
		} else {
			aerr = errNotFound()
		}
	}
	s.mu.Unlock()
	if aerr != nil {
		writeProblem(w, aerr)
		return
	}
	if tags == nil {
		tags = []map[string]any{}
	}
	writeJSON(w, map[string]any{"tags": tags, "total_items": total, "_links": []any{}})
}

// TagInUI adds (or, with remove, takes off) a tag on a member as a person in
// Mailchimp's UI does. Like every tag change it fires no webhook.
func (s *Server) TagInUI(listID, email, tag string, remove bool) error {
	tag = strings.TrimSpace(tag)
	if tag == "" || len(tag) > maxTagName {
		return fmt.Errorf("tag member: a tag name must be 1 to %d characters", maxTagName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, m, err := s.memberFor(listID, email)
	if err != nil {
		return fmt.Errorf("tag member: %w", err)
	}
	if !remove {
		addTags(m, []string{tag}, s.now())
	} else {
		removeTag(m, tag)
	}
	return nil
}

// controlTags serves POST /_sandbox/lists/{list_id}/members/{email}/tags:
// {"add": ["VIP"], "remove": ["Old"]} as a person in the UI.
func (s *Server) controlTags(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Add    []string `json:"add"`
		Remove []string `json:"remove"`
	}
	if err := decodeControl(r, &in); err != nil {
		controlError(w, err)
		return
	}
	listID, email := r.PathValue("list_id"), r.PathValue("email")
	for _, names := range []struct {
		list   []string
		remove bool
	}{{in.Add, false}, {in.Remove, true}} {
		for _, t := range names.list {
			if err := s.TagInUI(listID, email, t, names.remove); err != nil {
				controlError(w, err)
				return
			}
		}
	}
	m, _ := s.Member(listID, email)
	controlJSON(w, http.StatusOK, map[string]any{"tags": m.Tags})
}
