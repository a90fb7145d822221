package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// chooseList returns the audience to use: want, which must exist, or the
// account's only audience.
func chooseList(lists []mailchimp.List, want string) (string, error) {
	if want != "" {
		for _, l := range lists {
			if l.ID == want {
				return want, nil
			}
		}
		return "", fmt.Errorf("the Mailchimp account has no audience %s; it has: %s", want, describeLists(lists))
	}
	switch len(lists) {
	case 0:
		return "", fmt.Errorf("the Mailchimp account has no audience; create one in Mailchimp first")
	case 1:
		return lists[0].ID, nil
	}
	return "", fmt.Errorf("the Mailchimp account has %d audiences; choose one with -list: %s", len(lists), describeLists(lists))
}

func describeLists(lists []mailchimp.List) string {
	parts := make([]string, 0, len(lists))
	for _, l := range lists {
		parts = append(parts, fmt.Sprintf("%s (%q, %d contacts)", l.ID, l.Name, l.MemberCount))
	}
	return strings.Join(parts, ", ")
}

// chooseCompany returns the default Account: want, which must exist, or
// the platform's only one; none at all is fine when nothing flows to
// accessplanit (needed false).
func chooseCompany(companies []accessplanit.Company, want string, needed bool) (string, error) {
	if want != "" {
		for _, c := range companies {
			if c.ID == want {
				return want, nil
			}
		}
		return "", fmt.Errorf("accessplanit has no Account (Company) %s; it has: %s", want, describeCompanies(companies))
	}
	if !needed {
		return "", nil
	}
	if len(companies) == 1 {
		return companies[0].ID, nil
	}
	return "", fmt.Errorf("contacts created from Mailchimp need a default Account; choose one with -default-company: %s", describeCompanies(companies))
}

func describeCompanies(companies []accessplanit.Company) string {
	if len(companies) == 0 {
		return "none"
	}
	const shown = 20
	parts := make([]string, 0, shown)
	for i, c := range companies {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(companies)-shown))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%q)", c.ID, c.Name))
	}
	return strings.Join(parts, ", ")
}

// checkMappings validates mappings for direction d with the domain's
// rules (apmc.ValidateMappings, apmc.ResolveFields, apmc.CheckMergeField)
// against the audience's merge fields and accessplanit's custom fields. It
// returns the mappings with custom field names spelled as the platform
// spells them. customFields is called only when a mapping names a custom
// field.
func checkMappings(ms []apmc.FieldMapping, d apmc.Direction, mergeFields []mailchimp.MergeField, customFields func() ([]accessplanit.CustomField, error)) ([]apmc.FieldMapping, error) {
	if err := apmc.ValidateMappings(ms, d); err != nil {
		return nil, err
	}
	var custom []apmc.UserField
	if slices.ContainsFunc(ms, func(m apmc.FieldMapping) bool { return apmc.IsCustomField(m.Field) }) {
		list, err := customFields()
		if err != nil {
			return nil, fmt.Errorf("read accessplanit's custom fields: %w", err)
		}
		for _, c := range list {
			custom = append(custom, c.UserField())
		}
	}
	byTag := map[string]mailchimp.MergeField{}
	for _, f := range mergeFields {
		byTag[f.Tag] = f
	}
	var problems []string
	for _, m := range ms {
		if m.MergeTag == apmc.TagEmail || m.IsGroup() || m.IsPermission() {
			continue // groups and permissions are checkTargets' to check
		}
		f, ok := byTag[m.MergeTag]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: the audience has no such merge field (it has %s)", m.MergeTag, tagList(mergeFields)))
		} else if p := apmc.CheckMergeField(m, f.Type); p != "" {
			problems = append(problems, p)
		}
	}
	out, fieldProblems := apmc.ResolveFields(ms, d, custom)
	problems = append(problems, fieldProblems...)
	mapped := map[string]bool{}
	for _, m := range ms {
		mapped[m.MergeTag] = true
	}
	for _, f := range mergeFields {
		if f.Required && !mapped[f.Tag] && d.Allows(apmc.FlowToMailchimp) {
			problems = append(problems, fmt.Sprintf("%s: the audience requires this merge field; map it", f.Tag))
		}
	}
	if len(problems) > 0 {
		return nil, apmc.Invalidf("invalid field mappings: %s", strings.Join(problems, "; "))
	}
	return out, nil
}

func tagList(fs []mailchimp.MergeField) string {
	tags := make([]string, 0, len(fs))
	for _, f := range fs {
		tags = append(tags, f.Tag)
	}
	if len(tags) == 0 {
		return "none"
	}
	return strings.Join(tags, ", ")
}
