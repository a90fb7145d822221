package accessplanit

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ImportUsers stores Users that existed before the integration was switched
// on, as the platform's own import would: any User properties, validated as
// a create, recorded against the UI user, and no webhook. DateUpdated (and
// DateCreated) are kept as given, zoneless stamps as UTC; a missing one is
// now. A missing MainCompanyID is the default Account, the first Company the
// platform was set up with. Nothing is stored when one User is refused. It
// returns the new IDs in order.
//
// Imports are not counted in Stats.Writes, which counts what the API and
// the UI changed.
func (s *Server) ImportUsers(users []map[string]any) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defaultCompany := 0
	if len(s.companies) > 0 {
		defaultCompany = slices.Min(mapKeys(s.companies))
	}
	staged := make([]*user, 0, len(users))
	for i, in := range users {
		in = normaliseInput(in)
		stamps := map[string]time.Time{}
		for k, v := range in {
			name, _, _ := fieldKind(k)
			if name != "DateCreated" && name != "DateUpdated" {
				continue
			}
			delete(in, k)
			text, _ := scalarText(v)
			if strings.TrimSpace(text) == "" {
				continue
			}
			t, ok := parseDate(text)
			if !ok {
				return nil, &ValidationError{Problems: []string{fmt.Sprintf("user %d: %s: '%s' is not a valid date.", i, name, text)}}
			}
			stamps[name] = t.UTC()
		}
		if _, given := lookupFold(in, "MainCompanyID"); !given && defaultCompany != 0 {
			in["MainCompanyID"] = itoa(defaultCompany)
		}
		u := &user{text: map[string]string{"Status": "Active"}}
		problems := u.apply(in, s.companyExists)
		problems = append(problems, u.validate(problems)...)
		if len(problems) > 0 {
			for j, p := range problems {
				problems[j] = fmt.Sprintf("user %d: %s", i, p)
			}
			return nil, &ValidationError{Problems: dedupe(problems)}
		}
		now := s.opts.Now().UTC().Truncate(time.Millisecond)
		u.dateUpdated = cmp.Or(stamps["DateUpdated"], now)
		u.dateCreated = cmp.Or(stamps["DateCreated"], u.dateUpdated)
		u.createdBy, u.updatedBy = s.opts.UIUserID, s.opts.UIUserID
		staged = append(staged, u)
	}
	ids := make([]string, len(staged))
	for i, u := range staged {
		u.id = s.nextUserID
		s.nextUserID++
		s.users[u.id] = u
		s.changed()
		ids[i] = itoa(u.id)
	}
	return ids, nil
}

func mapKeys(m map[int]string) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// lookupFold finds a property of in by name, ignoring case.
func lookupFold(in map[string]any, name string) (any, bool) {
	for k, v := range in {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// controlImport is POST /_sandbox/users/import: a JSON array of Users,
// stored silently; it answers {"ids": [...]}.
func (s *Server) controlImport(w http.ResponseWriter, r *http.Request) {
	var in []map[string]any
	if !decodeControl(w, r, &in) {
		return
	}
	ids, err := s.ImportUsers(in)
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ids": ids})
}
