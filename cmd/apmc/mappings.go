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
// may come in either order; each is recognised by its value.
func parseMapping(s string) (apmc.FieldMapping, error) {
	tag, rest, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || tag == "" || rest == "" {
		return apmc.FieldMapping{}, fmt.Errorf("mapping %q: want TAG=Field[:type][:direction]", s)
	}
	parts := strings.Split(rest, ":")
	m := apmc.FieldMapping{MergeTag: strings.ToUpper(strings.TrimSpace(tag)), Field: strings.TrimSpace(parts[0])}
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
		tag = strings.ToUpper(strings.TrimSpace(tag))
		switch tag {
		case apmc.TagEmail, apmc.TagFirstName, apmc.TagLastName:
			return nil, fmt.Errorf("%s is mandatory and cannot be unmapped", tag)
		}
		i := slices.IndexFunc(out, func(m apmc.FieldMapping) bool { return m.MergeTag == tag })
		if i < 0 {
			return nil, fmt.Errorf("cannot unmap %s: it is not mapped", tag)
		}
		out = slices.Delete(out, i, i+1)
	}
	for _, m := range add {
		if i := slices.IndexFunc(out, func(x apmc.FieldMapping) bool { return x.MergeTag == m.MergeTag }); i >= 0 {
			out[i] = m
			continue
		}
		out = append(out, m)
	}
	return out, nil
}
