package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// mergeTypes are the mapping types a -map flag may name.
var mergeTypes = []apmc.MergeType{apmc.TypeText, apmc.TypePhone, apmc.TypeNumber, apmc.TypeDate, apmc.TypeBirthday, apmc.TypeURL}

// parseMapping reads TAG=Field[:type][:direction], such as
// BIRTHDAY=DOB:birthday:accessplanit_to_mailchimp. The type and direction
// may come in either order; each is recognised by its value. TAG may also
// be group:<interest category title> or permission:<marketing permission
// id>, such as group:Departments=CF_Department: those flow to Mailchimp
// only and take no type.
func parseMapping(s string) (apmc.FieldMapping, error) {
	tag, rest, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || tag == "" || rest == "" {
		return apmc.FieldMapping{}, fmt.Errorf("mapping %q: want TAG=Field[:type][:direction], group:Category=Field or permission:ID=Field", s)
	}
	parts := strings.Split(rest, ":")
	m := apmc.FieldMapping{MergeTag: mappingTarget(tag), Field: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		switch {
		case slices.Contains(mergeTypes, apmc.MergeType(p)) && m.Type == "":
			m.Type = apmc.MergeType(p)
		case isDirection(p) && m.Direction == "":
			m.Direction = apmc.Direction(p)
		default:
			return apmc.FieldMapping{}, fmt.Errorf("mapping %q: %q is neither a type (text, phone, number, date, birthday, url) nor a direction (%s, %s, %s)",
				s, p, apmc.DirectionToMailchimp, apmc.DirectionToAccessplanit, apmc.DirectionBoth)
		}
	}
	if m.Direction == apmc.DirectionBoth {
		m.Direction = ""
	}
	return m, nil
}

// mappingTarget is a mapping's Mailchimp target as typed: a merge tag
// (upper-cased), or a group or permission (its name kept as written).
func mappingTarget(s string) string {
	s = strings.TrimSpace(s)
	for _, prefix := range []string{apmc.GroupPrefix, apmc.PermissionPrefix} {
		if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
			return prefix + strings.TrimSpace(s[len(prefix):])
		}
	}
	return strings.ToUpper(s)
}

func isDirection(s string) bool {
	switch apmc.Direction(s) {
	case apmc.DirectionToMailchimp, apmc.DirectionToAccessplanit, apmc.DirectionBoth:
		return true
	}
	return false
}

// applyMappings returns base with each of add replacing the mapping of the
// same merge tag (or appended), and the merge tags in remove dropped.
func applyMappings(base []apmc.FieldMapping, add []apmc.FieldMapping, remove []string) ([]apmc.FieldMapping, error) {
	out := slices.Clone(base)
	for _, tag := range remove {
		tag = mappingTarget(tag)
		switch tag {
		case apmc.TagEmail, apmc.TagFirstName, apmc.TagLastName:
			return nil, fmt.Errorf("%s is mandatory and cannot be unmapped", tag)
		}
		i := slices.IndexFunc(out, func(m apmc.FieldMapping) bool { return strings.EqualFold(m.MergeTag, tag) })
		if i < 0 {
			return nil, fmt.Errorf("cannot unmap %s: it is not mapped", tag)
		}
		out = slices.Delete(out, i, i+1)
	}
	for _, m := range add {
		if i := slices.IndexFunc(out, func(x apmc.FieldMapping) bool { return strings.EqualFold(x.MergeTag, m.MergeTag) }); i >= 0 {
			out[i] = m
			continue
		}
		out = append(out, m)
	}
	return out, nil
}
