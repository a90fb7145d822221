package mailchimp

import (
	"fmt"
	"net/http"
	"strings"
)

// maxBatchMembers is how many members one batch subscribe may carry.
const maxBatchMembers = 500

// pathHash reads the member key of the path: a subscriber hash, or an email
// address, which Mailchimp also accepts.
func pathHash(r *http.Request) string {
	h := r.PathValue("subscriber_hash")
	if strings.Contains(h, "@") {
		return SubscriberHash(h)
	}
	return strings.ToLower(h)
}

// memberByKey finds the member a path names: by subscriber hash or email
// address, or by contact_id, which Mailchimp also takes there (a member
// keeps its contact_id when its address changes).
func (l *list) memberByKey(key string) (*Member, bool) {
	h := key
	if strings.Contains(h, "@") {
		h = SubscriberHash(h)
	}
	if m, ok := l.members[strings.ToLower(h)]; ok {
		return m, true
	}
	for _, m := range l.members {
		if m.ContactID != "" && m.ContactID == key {
			return m, true
		}
	}
	return nil, false
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	l, aerr := s.ownList(apiKeyFrom(r), r.PathValue("list_id"))
	var v map[string]any
	if aerr == nil {
		if m, ok := l.memberByKey(r.PathValue("subscriber_hash")); ok {
			v = l.memberView(m)
		} else {
			aerr = errNotFound()
		}
	}
	s.mu.Unlock()
	if aerr != nil {
		writeProblem(w, aerr)
		return
	}
	writeJSON(w, v)
}

func (s *Server) putMember(w http.ResponseWriter, r *http.Request) {
	s.writeMemberRequest(w, r, modePut)
}
func (s *Server) patchMember(w http.ResponseWriter, r *http.Request) {
	s.writeMemberRequest(w, r, modePatch)
}

// writeMemberRequest serves PUT (upsert) and PATCH (update) on a member.
func (s *Server) writeMemberRequest(w http.ResponseWriter, r *http.Request, mode writeMode) {
	s.mu.Lock()
	s.stats.MemberWrites++
	s.mu.Unlock()
	var in memberInput
	if aerr := decodeJSON(r, &in); aerr != nil {
		writeProblem(w, aerr)
		return
	}
	skip := r.URL.Query().Get("skip_merge_validation") == "true"
	s.mu.Lock()
	l, aerr := s.ownList(apiKeyFrom(r), r.PathValue("list_id"))
	var v map[string]any
	if aerr == nil {
		var m *Member
		m, _, aerr = s.writeMember(l, pathHash(r), in, mode, skip)
		if aerr == nil {
			v = l.memberView(m)
			s.stats.MembersWritten++
		}
	}
	s.mu.Unlock()
	if aerr != nil {
		writeProblem(w, aerr)
		return
	}
	writeJSON(w, v)
}

// batchInput is the body of POST /lists/{list_id}.
type batchInput struct {
	Members        []memberInput `json:"members"`
	UpdateExisting bool          `json:"update_existing"`
}

// batchError is one entry of a batch subscribe's "errors".
type batchError struct {
	EmailAddress string `json:"email_address"`
	Error        string `json:"error"`
	ErrorCode    string `json:"error_code"`
	Field        string `json:"field,omitempty"`
	FieldMessage string `json:"field_message,omitempty"`
}

// postBatchSubscribe adds or updates up to 500 members in one call; a member
// that fails is reported in "errors" and does not fail the others.
func (s *Server) postBatchSubscribe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.MemberWrites++
	s.mu.Unlock()
	var in batchInput
	if aerr := decodeJSON(r, &in); aerr != nil {
		writeProblem(w, aerr)
		return
	}
	if len(in.Members) > maxBatchMembers {
		writeProblem(w, errInvalid(FieldError{Field: "members", Message: fmt.Sprintf("This value should contain %d elements or less.", maxBatchMembers)}))
		return
	}
	if !sleep(r.Context(), s.batchLatency(len(in.Members))) {
		return // the client went away
	}
	skip := r.URL.Query().Get("skip_merge_validation") == "true"
	s.mu.Lock()
	l, aerr := s.ownList(apiKeyFrom(r), r.PathValue("list_id"))
	if aerr != nil {
		s.mu.Unlock()
		writeProblem(w, aerr)
		return
	}
	created, updated := []map[string]any{}, []map[string]any{}
	errs := []batchError{}
	for _, mi := range in.Members {
		email := ""
		if mi.EmailAddress != nil {
			email = strings.TrimSpace(*mi.EmailAddress)
		}
		hash := SubscriberHash(email)
		if _, exists := l.members[hash]; exists && !in.UpdateExisting {
			errs = append(errs, batchError{
				EmailAddress: email,
				Error:        fmt.Sprintf("%s is already a list member, do you want to update? please provide update_existing:true in the request body", email),
				ErrorCode:    "ERROR_CONTACT_EXISTS",
			})
			continue
		}
		m, isNew, merr := s.writeMember(l, hash, mi, modeBatch, skip)
		if merr == nil {
			addTags(m, mi.Tags, s.now())
		}
		switch {
		case merr != nil:
			be := batchError{EmailAddress: email, Error: merr.detail, ErrorCode: "ERROR_GENERIC"}
			if len(merr.fields) > 0 {
				be.Field, be.FieldMessage = merr.fields[0].Field, merr.fields[0].Message
			}
			errs = append(errs, be)
		case isNew:
			created = append(created, l.memberView(m))
		default:
			updated = append(updated, l.memberView(m))
		}
	}
	s.stats.MembersWritten += len(created) + len(updated)
	s.mu.Unlock()
	writeJSON(w, map[string]any{
		"new_members":     created,
		"updated_members": updated,
		"errors":          errs,
		"total_created":   len(created),
		"total_updated":   len(updated),
		"error_count":     len(errs),
		"_links":          []any{},
	})
}
