package apmc

import (
	"fmt"
	"slices"
	"strings"
)

// FieldKind is what an accessplanit User property holds.
type FieldKind string

// The kinds of User properties.
const (
	KindText   FieldKind = "text"    // free text
	KindDate   FieldKind = "date"    // a date-time
	KindID     FieldKind = "id"      // a numeric ID
	KindIDList FieldKind = "id_list" // several IDs
	KindFlag   FieldKind = "flag"    // true or false
	KindCode   FieldKind = "code"    // one of the platform's own values
)

// UserField is one accessplanit User property.
type UserField struct {
	Name string // canonical spelling
	Kind FieldKind
	// ReadOnly properties are set by the platform: they can be sent to
	// Mailchimp but never written back.
	ReadOnly bool
}

// UserFields are the standard User properties: the one table of what the
// service knows of them, read by the mapping rules, the accessplanit client
// (spelling and encoding) and the CLI's checks. Custom fields ("CF_<Name>")
// come on top; the platform lists them.
//
// ASSUMPTION: the names are those of the platform's public demo client's
// model; the kinds and read-only flags follow from them.
var UserFields = []UserField{
	{Name: "ID", Kind: KindID, ReadOnly: true},
	{Name: "Title", Kind: KindText},
	{Name: FieldForenames, Kind: KindText},
	{Name: "MiddleNames", Kind: KindText},
	{Name: FieldSurname, Kind: KindText},
	{Name: FieldEmail, Kind: KindText},
	{Name: "Phone", Kind: KindText},
	{Name: "Mobile", Kind: KindText},
	{Name: "JobTitle", Kind: KindText},
	{Name: FieldDOB, Kind: KindDate},
	{Name: "MainCompanyID", Kind: KindID},
	{Name: "MainCompanyName", Kind: KindText, ReadOnly: true},
	{Name: "UserCompaniesIDs", Kind: KindIDList, ReadOnly: true},
	{Name: "Status", Kind: KindCode},
	{Name: "MarketingOptIn", Kind: KindFlag},
	{Name: "ExternalID", Kind: KindText},
	{Name: "UniqueID", Kind: KindText, ReadOnly: true},
	{Name: "DateCreated", Kind: KindDate, ReadOnly: true},
	{Name: "DateUpdated", Kind: KindDate, ReadOnly: true},
	{Name: "CreatedByID", Kind: KindID, ReadOnly: true},
	{Name: "UpdatedByID", Kind: KindID, ReadOnly: true},
	{Name: "UpdatedByName", Kind: KindText, ReadOnly: true},
	{Name: "Address", Kind: KindText},
	{Name: "Town", Kind: KindText},
	{Name: "County", Kind: KindText},
	{Name: "Postcode", Kind: KindText},
	{Name: "Country", Kind: KindText},
	{Name: FieldTags, Kind: KindText}, // the accessplanit client splits it into User.Tags
	{Name: FieldLatestCourseDateBooked, Kind: KindDate, ReadOnly: true},
	{Name: FieldLatestCourseDateAttended, Kind: KindDate, ReadOnly: true},
	{Name: FieldLastBooking, Kind: KindDate, ReadOnly: true},
}

// StandardUserField returns the standard User property named name, in its
// canonical spelling.
func StandardUserField(name string) (UserField, bool) {
	f, ok := userFieldsByName[name]
	return f, ok
}

// userFieldsByName indexes UserFields: the mapping reads it for every
// mapped value.
var userFieldsByName = func() map[string]UserField {
	m := make(map[string]UserField, len(UserFields))
	for _, f := range UserFields {
		m[f.Name] = f
	}
	return m
}()

// IsCustomField reports whether name names a custom field: "CF_<Name>",
// the prefix in any case.
func IsCustomField(name string) bool {
	return len(name) > 3 && strings.EqualFold(name[:3], "CF_")
}

// readOnlyField reports whether the standard property name is read-only.
func readOnlyField(name string) bool {
	f, ok := StandardUserField(name)
	return ok && f.ReadOnly
}

// birthdayProblem says why mapping m of type birthday cannot use field f
// for an instance syncing in direction d ("" when it can): a birthday is
// Mailchimp's MM/DD, so it comes from a date or a text, and having no year
// it cannot fill a date.
func birthdayProblem(m FieldMapping, f UserField, d Direction) string {
	if m.typ() != TypeBirthday {
		return ""
	}
	switch {
	case f.Kind != KindText && f.Kind != KindDate:
		return fmt.Sprintf("%s: a birthday cannot come from %s; use a text field holding MM/DD, or DOB", m.MergeTag, f.Name)
	case f.Kind == KindDate && m.allows(FlowToAccessplanit) && d.Allows(FlowToAccessplanit):
		return fmt.Sprintf("%s: a Mailchimp birthday holds only MM/DD, so it cannot fill the date field %s; map it to a text field (for example a CF_ custom field), or set the mapping's direction to %s", m.MergeTag, f.Name, DirectionToMailchimp)
	}
	return ""
}

// ResolveFields checks that each mapping names a User property the
// platform has: a standard one, or one of custom (the platform's custom
// fields, matched without regard to case), and that a birthday can use a
// custom field. It returns the mappings with custom field names spelled
// as the platform spells them, and the problems found, each naming its
// merge tag. ValidateMappings has checked the standard fields' rules.
func ResolveFields(ms []FieldMapping, d Direction, custom []UserField) ([]FieldMapping, []string) {
	out := slices.Clone(ms)
	var problems []string
	for i, m := range out {
		if _, ok := StandardUserField(m.Field); ok {
			continue
		}
		if !IsCustomField(m.Field) {
			problems = append(problems, fmt.Sprintf("%s: accessplanit Users have no field %s (custom fields are named CF_<Name>)", m.MergeTag, m.Field))
			continue
		}
		j := slices.IndexFunc(custom, func(c UserField) bool { return strings.EqualFold(c.Name, m.Field) })
		if j < 0 {
			problems = append(problems, fmt.Sprintf("%s: accessplanit has no User custom field %s", m.MergeTag, m.Field))
			continue
		}
		out[i].Field = custom[j].Name
		if p := birthdayProblem(out[i], custom[j], d); p != "" {
			problems = append(problems, p)
		}
	}
	return out, problems
}

// CheckMergeField says why mapping m cannot fill a Mailchimp merge field of
// type mergeFieldType, as the audience declares it ("" when it can).
func CheckMergeField(m FieldMapping, mergeFieldType string) string {
	var ok []MergeType
	switch mergeFieldType {
	case "birthday":
		ok = []MergeType{TypeBirthday}
	case "date":
		ok = []MergeType{TypeDate}
	case "number":
		ok = []MergeType{TypeNumber}
	case "phone":
		ok = []MergeType{TypePhone, TypeText}
	case "url", "imageurl":
		ok = []MergeType{TypeURL, TypeText}
	case "address":
		return fmt.Sprintf("%s: address merge fields are not supported", m.MergeTag)
	default: // text, zip, dropdown, radio
		ok = []MergeType{TypeText, TypePhone, TypeNumber, TypeURL}
	}
	if slices.Contains(ok, m.typ()) {
		return ""
	}
	return fmt.Sprintf("%s: the merge field's type is %s, so the mapping's type must be %s, not %s", m.MergeTag, mergeFieldType, ok[0], m.typ())
}
