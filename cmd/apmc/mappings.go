package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apmc-sync/apmc/internal/sync"
)

// mergeTypes are the mapping types a -map flag may name.
var mergeTypes = []sync.MergeType{sync.TypeText, sync.TypePhone, sync.TypeNumber, sync.TypeDate, sync.TypeBirthday, sync.TypeURL}

// parseMapping reads TAG=Field[:type][:direction], such as
// BIRTHDAY=DOB:birthday:accessplanit_to_mailchimp. The type and direction
// may come in either order; each is recognised by its value.
func parseMapping(s string) (sync.FieldMapping, error) {
	tag, rest, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || tag == "" || rest == "" {
		return sync.FieldMapping{}, fmt.Errorf("mapping %q: want TAG=Field[:type][:direction]", s)
	}
	parts := strings.Split(rest, ":")
	m := sync.FieldMapping{MergeTag: strings.ToUpper(strings.TrimSpace(tag)), Field: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		switch {
		case slices.Contains(mergeTypes, sync.MergeType(p)) && m.Type == "":
			m.Type = sync.MergeType(p)
		case isDirection(p) && m.Direction == "":
			m.Direction = sync.Direction(p)
		default:
			return sync.FieldMapping{}, fmt.Errorf("mapping %q: %q is neither a type (text, phone, number, date, birthday, url) nor a direction (%s, %s, %s)",
				s, p, sync.DirectionToMailchimp, sync.DirectionToAccessplanit, sync.DirectionBoth)
		}
	}
	if m.Direction == sync.DirectionBoth {
		m.Direction = ""
	}
	return m, nil
}

func isDirection(s string) bool {
	switch sync.Direction(s) {
	case sync.DirectionToMailchimp, sync.DirectionToAccessplanit, sync.DirectionBoth:
		return true
	}
	return false
}

// applyMappings returns base with each of add replacing the mapping of the
// same merge tag (or appended), and the merge tags in remove dropped.
func applyMappings(base []sync.FieldMapping, add []sync.FieldMapping, remove []string) ([]sync.FieldMapping, error) {
	out := slices.Clone(base)
	for _, tag := range remove {
		tag = strings.ToUpper(strings.TrimSpace(tag))
		switch tag {
		case sync.TagEmail, sync.TagFirstName, sync.TagLastName:
			return nil, fmt.Errorf("%s is mandatory and cannot be unmapped", tag)
		}
		i := slices.IndexFunc(out, func(m sync.FieldMapping) bool { return m.MergeTag == tag })
		if i < 0 {
			return nil, fmt.Errorf("cannot unmap %s: it is not mapped", tag)
		}
		out = slices.Delete(out, i, i+1)
	}
	for _, m := range add {
		if i := slices.IndexFunc(out, func(x sync.FieldMapping) bool { return x.MergeTag == m.MergeTag }); i >= 0 {
			out[i] = m
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// formatMapping is the -map form of a mapping.
func formatMapping(m sync.FieldMapping) string {
	s := m.MergeTag + "=" + m.Field
	if m.Type != "" {
		s += ":" + string(m.Type)
	}
	if m.Direction != "" {
		s += ":" + string(m.Direction)
	}
	return s
}
