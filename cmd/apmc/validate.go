package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// dateFields hold a date-time, never an MM/DD text.
var dateFields = []string{"DOB", "DateCreated", "DateUpdated"}

// textless are standard fields that hold ids or flags, never a birthday.
var textless = []string{"ID", "MainCompanyID", "UserCompaniesIDs", "MarketingOptIn", "Status", "CreatedByID", "UpdatedByID"}

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

// checkMappings validates mappings for direction d against the audience's
// merge fields and accessplanit's User fields, beyond what the domain's
// ValidateMappings checks. It returns the mappings with custom field names
// spelled as the platform spells them. customFields is called only when a
// mapping names a custom field.
func checkMappings(ms []apmc.FieldMapping, d apmc.Direction, mergeFields []mailchimp.MergeField, customFields func() ([]accessplanit.CustomField, error)) ([]apmc.FieldMapping, error) {
	if err := apmc.ValidateMappings(ms, d); err != nil {
		return nil, err
	}
	byTag := map[string]mailchimp.MergeField{}
	for _, f := range mergeFields {
		byTag[f.Tag] = f
	}
	var custom []accessplanit.CustomField
	var problems []string
	out := slices.Clone(ms)
	for i, m := range out {
		if m.MergeTag == apmc.TagEmail {
			continue
		}
		typ := m.Type
		if typ == "" {
			typ = apmc.TypeText
		}
		f, ok := byTag[m.MergeTag]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: the audience has no such merge field (it has %s)", m.MergeTag, tagList(mergeFields)))
		} else if p := typeProblem(f, typ); p != "" {
			problems = append(problems, p)
		}
		toAP := (m.Direction == "" || m.Direction.Allows(apmc.FlowToAccessplanit)) && d.Allows(apmc.FlowToAccessplanit)
		customType := ""
		switch {
		case slices.Contains(accessplanit.UserFields, m.Field):
		case strings.HasPrefix(strings.ToUpper(m.Field), "CF_"):
			if custom == nil {
				list, err := customFields()
				if err != nil {
					return nil, fmt.Errorf("read accessplanit's custom fields: %w", err)
				}
				custom = append(list, accessplanit.CustomField{}) // non-nil: read once
			}
			j := slices.IndexFunc(custom, func(c accessplanit.CustomField) bool { return c.Name != "" && strings.EqualFold(c.Name, m.Field) })
			if j < 0 {
				problems = append(problems, fmt.Sprintf("%s: accessplanit has no User custom field %s", m.MergeTag, m.Field))
				continue
			}
			out[i].Field, customType = custom[j].Name, strings.ToLower(custom[j].Type)
		default:
			problems = append(problems, fmt.Sprintf("%s: accessplanit Users have no field %s (custom fields are named CF_<Name>)", m.MergeTag, m.Field))
			continue
		}
		if typ == apmc.TypeBirthday {
			switch {
			case slices.Contains(textless, m.Field):
				problems = append(problems, fmt.Sprintf("%s: a birthday cannot come from %s; use a text field holding MM/DD, or DOB", m.MergeTag, m.Field))
			case (slices.Contains(dateFields, m.Field) || strings.Contains(customType, "date")) && toAP:
				problems = append(problems, fmt.Sprintf("%s: a Mailchimp birthday holds only MM/DD, so it cannot fill the date field %s; set the mapping's direction to %s", m.MergeTag, m.Field, apmc.DirectionToMailchimp))
			}
		}
	}
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

// typeProblem says why a mapping of type typ cannot fill merge field f.
func typeProblem(f mailchimp.MergeField, typ apmc.MergeType) string {
	var ok []apmc.MergeType
	switch f.Type {
	case "birthday":
		ok = []apmc.MergeType{apmc.TypeBirthday}
	case "date":
		ok = []apmc.MergeType{apmc.TypeDate}
	case "number":
		ok = []apmc.MergeType{apmc.TypeNumber}
	case "phone":
		ok = []apmc.MergeType{apmc.TypePhone, apmc.TypeText}
	case "url", "imageurl":
		ok = []apmc.MergeType{apmc.TypeURL, apmc.TypeText}
	case "address":
		return fmt.Sprintf("%s: address merge fields are not supported", f.Tag)
	default: // text, zip, dropdown, radio
		ok = []apmc.MergeType{apmc.TypeText, apmc.TypePhone, apmc.TypeNumber, apmc.TypeURL}
	}
	if slices.Contains(ok, typ) {
		return ""
	}
	return fmt.Sprintf("%s: the merge field's type is %s, so the mapping's type must be %s, not %s", f.Tag, f.Type, ok[0], typ)
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
