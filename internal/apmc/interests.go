package apmc

import (
	"fmt"
	"slices"
	"strings"
)

// A mapping's MergeTag names its Mailchimp target. Besides a merge tag it
// can be one of the audience's groups (an interest category, by title) or
// one of its GDPR marketing permissions (by id); both take values from
// accessplanit to Mailchimp only. The target is also the mapping's key in
// Values, so groups and permissions are diffed, echo-checked and cleared
// like merge fields.
const (
	GroupPrefix      = "group:"
	PermissionPrefix = "permission:"
)

// InterestGroup is the Mailchimp interest category a group mapping targets,
// as `apmc instance configure` read it from the audience: the engine needs
// no Mailchimp call to turn names into interest ids.
type InterestGroup struct {
	CategoryID string `json:"category_id"`
	// Type is Mailchimp's: checkboxes (several interests may be selected),
	// radio, dropdown or hidden.
	Type string `json:"type"`
	// Interests are the category's interests: name → interest id.
	Interests map[string]string `json:"interests"`
}

// multiple reports whether a contact may hold several of the group's interests.
func (g InterestGroup) multiple() bool { return g.Type == "checkboxes" || g.Type == "hidden" }

// IsGroup reports whether the mapping targets an interest category.
func (m FieldMapping) IsGroup() bool { return strings.HasPrefix(m.MergeTag, GroupPrefix) }

// IsPermission reports whether the mapping targets a marketing permission.
func (m FieldMapping) IsPermission() bool { return strings.HasPrefix(m.MergeTag, PermissionPrefix) }

// GroupTitle is the interest category title a group mapping targets.
func (m FieldMapping) GroupTitle() string { return strings.TrimPrefix(m.MergeTag, GroupPrefix) }

// PermissionID is the marketing permission id a permission mapping targets.
func (m FieldMapping) PermissionID() string { return strings.TrimPrefix(m.MergeTag, PermissionPrefix) }

// isTarget reports whether the mapping targets a group or a permission
// rather than a merge field.
func (m FieldMapping) isTarget() bool { return m.IsGroup() || m.IsPermission() }

// targetProblems says what is wrong with a group or permission mapping
// before the audience is asked (ResolveGroup and the permission check at
// configure time ask it).
func targetProblems(m FieldMapping) []string {
	var problems []string
	switch {
	case m.IsGroup() && strings.TrimSpace(m.GroupTitle()) == "":
		problems = append(problems, fmt.Sprintf("%s: name the interest category after %s", m.MergeTag, GroupPrefix))
	case m.IsPermission() && strings.TrimSpace(m.PermissionID()) == "":
		problems = append(problems, fmt.Sprintf("%s: name the marketing permission id after %s", m.MergeTag, PermissionPrefix))
	}
	if !fieldPattern.MatchString(m.Field) {
		problems = append(problems, fmt.Sprintf("field %q for %s is not an accessplanit property name", m.Field, m.MergeTag))
	}
	if m.Direction == DirectionToAccessplanit || m.Direction == DirectionBoth {
		problems = append(problems, fmt.Sprintf("%s: groups and marketing permissions flow to Mailchimp only; remove the mapping's direction", m.MergeTag))
	}
	if m.Type != "" && m.Type != TypeText {
		problems = append(problems, fmt.Sprintf("%s: a group or marketing permission mapping takes no type", m.MergeTag))
	}
	return problems
}

// InterestCategory is an audience's interest category with its interests,
// as Mailchimp lists them.
type InterestCategory struct {
	ID    string
	Title string
	Type  string
	// Interests are name → interest id.
	Interests map[string]string
}

// ResolveGroup fills a group mapping's InterestGroup from the audience's
// categories, matching the title without regard to case; it refuses a
// category the audience does not have.
func ResolveGroup(m FieldMapping, categories []InterestCategory) (FieldMapping, error) {
	title := strings.TrimSpace(m.GroupTitle())
	i := slices.IndexFunc(categories, func(c InterestCategory) bool { return strings.EqualFold(c.Title, title) })
	if i < 0 {
		titles := make([]string, 0, len(categories))
		for _, c := range categories {
			titles = append(titles, c.Title)
		}
		have := "none"
		if len(titles) > 0 {
			have = strings.Join(titles, ", ")
		}
		return m, Invalidf("%s: the audience has no interest category %q (it has %s)", m.MergeTag, title, have)
	}
	c := categories[i]
	m.MergeTag = GroupPrefix + c.Title
	m.Group = &InterestGroup{CategoryID: c.ID, Type: c.Type, Interests: c.Interests}
	return m, nil
}

// groupValue turns an accessplanit value into the group's canonical value:
// the names of the interests it selects, as Mailchimp spells them, sorted
// and joined with ", ". A value that names no interest of the category is
// kept as it is, with a warning: the write then leaves the category as
// Mailchimp holds it (groupInterests), and the rest of the contact still
// syncs, until the interest exists (and the instance is configured again)
// or the value is corrected.
func groupValue(m FieldMapping, raw string) (string, string, error) {
	if m.Group == nil {
		return "", "", Permanentf("%s: the interest category was not read from Mailchimp; run apmc instance configure", m.MergeTag)
	}
	names, unmatched := interestNames(*m.Group, raw)
	if unmatched != "" {
		return raw, fmt.Sprintf("%s left as it is in Mailchimp: %s %q names no interest of the Mailchimp group %s (it has %s)", m.MergeTag, m.Field, unmatched, m.GroupTitle(), strings.Join(sortedKeys(m.Group.Interests), ", ")), nil
	}
	return strings.Join(names, ", "), "", nil
}

// interestNames reads a value as the names of the category's interests it
// selects, sorted and without repeats, or returns the part of it that
// names none. A one-choice category (radio, dropdown) takes the whole
// value as one name, so an interest such as "Health, Safety" can be
// chosen; a checkbox category takes a comma-separated list, in which
// neighbouring parts that together name an interest are read as that one.
func interestNames(g InterestGroup, value string) ([]string, string) {
	if !g.multiple() {
		if strings.TrimSpace(value) == "" {
			return nil, ""
		}
		name, ok := interestName(g, strings.TrimSpace(value))
		if !ok {
			return nil, strings.TrimSpace(value)
		}
		return []string{name}, ""
	}
	var names []string
	parts := strings.Split(value, ",")
	for i := 0; i < len(parts); {
		if strings.TrimSpace(parts[i]) == "" {
			i++
			continue
		}
		name, n := longestInterest(g, parts[i:])
		if n == 0 {
			return nil, strings.TrimSpace(parts[i])
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		i += n
	}
	slices.Sort(names)
	return names, ""
}

// longestInterest finds the interest named by the most leading parts
// joined back with their commas, and how many parts it took (0: none).
func longestInterest(g InterestGroup, parts []string) (string, int) {
	for n := len(parts); n > 0; n-- {
		if name, ok := interestName(g, strings.TrimSpace(strings.Join(parts[:n], ","))); ok {
			return name, n
		}
	}
	return "", 0
}

// interestName finds the interest called name, exactly or else without
// regard to case.
func interestName(g InterestGroup, name string) (string, bool) {
	if _, ok := g.Interests[name]; ok {
		return name, true
	}
	for n := range g.Interests {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// groupInterests is what a write sends for a group value: every interest of
// the category, true for those the value selects and false for the others,
// so the category ends up as accessplanit holds it and no other category
// is touched. A value that names no interest of the category sends none
// of them: the category is left as Mailchimp holds it.
func groupInterests(g InterestGroup, value string) map[string]bool {
	names, unmatched := interestNames(g, value)
	if unmatched != "" {
		return nil
	}
	out := make(map[string]bool, len(g.Interests))
	for name, id := range g.Interests {
		out[id] = slices.Contains(names, name)
	}
	return out
}

// memberGroupValue is a member's value of a group: the names of the
// category's interests the member holds, canonical as groupValue makes them.
func memberGroupValue(g InterestGroup, interests map[string]bool) string {
	var names []string
	for name, id := range g.Interests {
		if interests[id] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// targetValue is a group or permission mapping's value from an accessplanit
// value ("" for none), with a warning when the value is not synced.
func targetValue(m FieldMapping, raw string) (string, string, error) {
	if m.IsPermission() {
		return permissionValue(raw), "", nil
	}
	if raw == "" {
		return "", "", nil
	}
	return groupValue(m, raw)
}
