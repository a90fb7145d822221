package apmc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MergeType is how a mapped value is converted for Mailchimp. The names are
// Mailchimp's merge field types that the mapping knows how to fill.
type MergeType string

// Supported merge field types.
const (
	TypeText     MergeType = "text"
	TypePhone    MergeType = "phone"
	TypeNumber   MergeType = "number"
	TypeDate     MergeType = "date"     // YYYY-MM-DD
	TypeBirthday MergeType = "birthday" // MM/DD
	TypeURL      MergeType = "url"
)

// Mandatory merge tags and the accessplanit fields they must map to.
const (
	TagEmail     = "EMAIL"
	TagFirstName = "FNAME"
	TagLastName  = "LNAME"

	FieldEmail     = "Email"
	FieldForenames = "Forenames"
	FieldSurname   = "Surname"
	FieldDOB       = "DOB"
)

// maxTextBytes is Mailchimp's limit for a text merge field.
const maxTextBytes = 255

// FieldMapping links one Mailchimp merge tag with one accessplanit User
// property (any property, custom fields "CF_<Name>" included).
type FieldMapping struct {
	MergeTag string    `json:"merge_tag"`
	Field    string    `json:"field"`
	Type     MergeType `json:"type,omitempty"` // default text
	// Direction limits the mapping to one flow; empty means both.
	Direction Direction `json:"direction,omitempty"`
	// Group is the interest category of a group mapping (MergeTag
	// "group:<title>"), read from the audience when the instance is configured.
	Group *InterestGroup `json:"group,omitempty"`
}

func (m FieldMapping) typ() MergeType {
	if m.Type == "" {
		return TypeText
	}
	return m.Type
}

func (m FieldMapping) allows(f Flow) bool {
	if m.isTarget() {
		return f == FlowToMailchimp
	}
	return m.Direction == "" || m.Direction.Allows(f)
}

// DefaultMappings are the mandatory mappings every instance starts with.
func DefaultMappings() []FieldMapping {
	return []FieldMapping{
		{MergeTag: TagEmail, Field: FieldEmail},
		{MergeTag: TagFirstName, Field: FieldForenames},
		{MergeTag: TagLastName, Field: FieldSurname},
	}
}

// MappedFields are the accessplanit properties the mappings use, in the
// mappings' order, each once (two tags may map one property): what a
// reader asks accessplanit for.
func MappedFields(ms []FieldMapping) []string {
	var out []string
	for _, m := range ms {
		if !slices.Contains(out, m.Field) {
			out = append(out, m.Field)
		}
	}
	return out
}

var (
	mergeTagPattern = regexp.MustCompile(`^[A-Z0-9_]{1,10}$`)
	fieldPattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	birthdayPattern = regexp.MustCompile(`^(0[1-9]|1[0-2])/(0[1-9]|[12][0-9]|3[01])$`)
)

// ValidateMappings checks a mapping set for an instance syncing in direction
// d: tags, types, directions, the mandatory mappings, and what the standard
// User fields (UserFields) allow. Whether a field exists on the platform is
// for ResolveFields, which needs the platform's custom fields.
func ValidateMappings(ms []FieldMapping, d Direction) error {
	var problems []string
	seen := map[string]bool{}
	byTag := map[string]FieldMapping{}
	for _, m := range ms {
		if m.isTarget() {
			problems = append(problems, targetProblems(m)...)
			if seen[m.MergeTag] {
				problems = append(problems, fmt.Sprintf("%s is mapped twice", m.MergeTag))
			}
			seen[m.MergeTag] = true
			continue
		}
		if !mergeTagPattern.MatchString(m.MergeTag) {
			problems = append(problems, fmt.Sprintf("merge tag %q must be 1-10 upper-case letters, digits or _", m.MergeTag))
			continue
		}
		if !fieldPattern.MatchString(m.Field) {
			problems = append(problems, fmt.Sprintf("field %q for %s is not an accessplanit property name", m.Field, m.MergeTag))
			continue
		}
		if seen[m.MergeTag] {
			problems = append(problems, fmt.Sprintf("merge tag %s is mapped twice", m.MergeTag))
		}
		seen[m.MergeTag] = true
		byTag[m.MergeTag] = m
		switch m.typ() {
		case TypeText, TypePhone, TypeNumber, TypeDate, TypeBirthday, TypeURL:
		default:
			problems = append(problems, fmt.Sprintf("%s: type %q is not supported (text, phone, number, date, birthday, url)", m.MergeTag, m.Type))
		}
		switch m.Direction {
		case "", DirectionBoth, DirectionToMailchimp, DirectionToAccessplanit:
		default:
			problems = append(problems, fmt.Sprintf("%s: direction %q is not valid", m.MergeTag, m.Direction))
		}
		if f, ok := StandardUserField(m.Field); ok {
			if f.ReadOnly && m.allows(FlowToAccessplanit) && d.Allows(FlowToAccessplanit) {
				problems = append(problems, fmt.Sprintf("%s: accessplanit field %s is read-only; set the mapping's direction to %s", m.MergeTag, m.Field, DirectionToMailchimp))
			}
			if p := birthdayProblem(m, f, d); p != "" {
				problems = append(problems, p)
			}
		}
	}
	for tag, field := range map[string]string{TagEmail: FieldEmail, TagFirstName: FieldForenames, TagLastName: FieldSurname} {
		m, ok := byTag[tag]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s is mandatory and must be mapped", tag))
		case tag == TagEmail && m.Field != field:
			problems = append(problems, fmt.Sprintf("EMAIL must map to %s, not %s", field, m.Field))
		case m.Direction != "" && m.Direction != DirectionBoth:
			problems = append(problems, fmt.Sprintf("%s is mandatory in both directions; remove its direction", tag))
		}
	}
	if len(problems) > 0 {
		return Invalidf("invalid field mappings: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Values are mapped values keyed by merge tag (EMAIL included). An empty
// value means "no value": it clears the field when written, and compares
// equal to an absent one.
type Values map[string]string

// WithoutEmail returns the values but the email address (which Mailchimp
// keeps as the member's identity, not as a merge field).
func (v Values) WithoutEmail() Values {
	out := make(Values, len(v))
	for k, x := range v {
		if k != TagEmail {
			out[k] = x
		}
	}
	return out
}

// Set returns the values that are not empty.
func (v Values) Set() Values {
	out := make(Values, len(v))
	for k, x := range v {
		if x != "" {
			out[k] = x
		}
	}
	return out
}

// Fingerprint is a stable digest of the values that are set, used to
// recognise echoes.
func (v Values) Fingerprint() string {
	b, _ := json.Marshal(map[string]string(v.Set())) // map keys marshal sorted
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Equal reports whether both hold the same values, an empty value being
// the same as none.
func (v Values) Equal(o Values) bool {
	return len(v.Diff(o)) == 0
}

// Diff lists the merge tags whose values differ between v (new) and old, an
// empty value being the same as none.
func (v Values) Diff(old Values) []string {
	var tags []string
	for k, x := range v {
		if old[k] != x {
			tags = append(tags, k)
		}
	}
	for k, y := range old {
		if _, ok := v[k]; !ok && y != "" {
			tags = append(tags, k)
		}
	}
	slices.Sort(tags)
	return tags
}

// Cleared returns the merge tags mapped along flow, other than the mandatory
// ones, that before held a value and now hold none: the values to clear on
// the other side.
func (v Values) Cleared(ms []FieldMapping, f Flow, before Values) []FieldMapping {
	var out []FieldMapping
	for _, m := range ms {
		if !m.allows(f) || mandatoryTag(m.MergeTag) || (f == FlowToAccessplanit && readOnlyField(m.Field)) {
			continue
		}
		if v[m.MergeTag] == "" && before[m.MergeTag] != "" {
			out = append(out, m)
		}
	}
	return out
}

func mandatoryTag(tag string) bool {
	return tag == TagEmail || tag == TagFirstName || tag == TagLastName
}

// MapToMailchimp applies the mappings to an accessplanit User. It returns
// the merge values (EMAIL included, lower-cased), warnings about values that
// were left out, and a permanent error when a mandatory value is missing.
func MapToMailchimp(ms []FieldMapping, u User) (Values, []string, error) {
	out := Values{}
	var warnings, missing []string
	for _, m := range ms {
		if !m.allows(FlowToMailchimp) {
			continue
		}
		raw := strings.TrimSpace(u.Fields[m.Field])
		mandatory := m.MergeTag == TagEmail || m.MergeTag == TagFirstName || m.MergeTag == TagLastName
		if m.isTarget() {
			v, warn, err := targetValue(m, raw)
			if err != nil {
				return nil, warnings, fmt.Errorf("accessplanit user %s: %w", u.ID, err)
			}
			if warn != "" {
				warnings = append(warnings, warn)
			}
			if v != "" {
				out[m.MergeTag] = v
			}
			continue
		}
		if raw == "" {
			if mandatory {
				missing = append(missing, fmt.Sprintf("%s (from %s)", m.MergeTag, m.Field))
			}
			continue
		}
		if m.MergeTag == TagEmail {
			if !LooksLikeEmail(raw) {
				return nil, warnings, Permanentf("accessplanit user %s: %s %q is not an email address", u.ID, m.Field, raw)
			}
			out[TagEmail] = NormaliseEmail(raw)
			continue
		}
		v, warn := toMerge(m, raw)
		if warn != "" {
			warnings = append(warnings, warn)
		}
		if v == "" {
			if mandatory {
				missing = append(missing, fmt.Sprintf("%s (from %s)", m.MergeTag, m.Field))
			}
			continue
		}
		out[m.MergeTag] = v
	}
	if len(missing) > 0 {
		return nil, warnings, Permanentf("accessplanit user %s cannot be synced to Mailchimp: mandatory value missing: %s", u.ID, strings.Join(missing, ", "))
	}
	return out, warnings, nil
}

// toMerge converts one accessplanit value to its merge field form.
func toMerge(m FieldMapping, raw string) (string, string) {
	switch m.typ() {
	case TypeBirthday:
		if birthdayPattern.MatchString(raw) {
			return raw, ""
		}
		if t, ok := parseDate(raw); ok {
			return t.Format("01/02"), ""
		}
		return "", fmt.Sprintf("%s left out: %s %q is neither a date nor MM/DD", m.MergeTag, m.Field, raw)
	case TypeDate:
		if t, ok := parseDate(raw); ok {
			return t.Format("2006-01-02"), ""
		}
		return "", fmt.Sprintf("%s left out: %s %q is not a date", m.MergeTag, m.Field, raw)
	case TypeNumber:
		if _, err := strconv.ParseFloat(raw, 64); err != nil {
			return "", fmt.Sprintf("%s left out: %s %q is not a number", m.MergeTag, m.Field, raw)
		}
		return raw, ""
	default:
		if len(raw) > maxTextBytes {
			cut := maxTextBytes
			for cut > 0 && !utf8.RuneStart(raw[cut]) {
				cut--
			}
			return raw[:cut], fmt.Sprintf("%s truncated: %s is %d bytes, Mailchimp keeps at most %d", m.MergeTag, m.Field, len(raw), maxTextBytes)
		}
		return raw, ""
	}
}

// MapToAccessplanit applies the mappings to Mailchimp merge values (EMAIL
// included). It returns accessplanit User properties, warnings, and a
// permanent error when first or last name is missing.
func MapToAccessplanit(ms []FieldMapping, merges Values) (map[string]string, []string, error) {
	out := map[string]string{}
	var warnings, missing []string
	for _, m := range ms {
		if !m.allows(FlowToAccessplanit) || readOnlyField(m.Field) {
			continue
		}
		raw := strings.TrimSpace(merges[m.MergeTag])
		if raw == "" {
			if m.MergeTag == TagFirstName || m.MergeTag == TagLastName || m.MergeTag == TagEmail {
				missing = append(missing, m.MergeTag)
			}
			continue
		}
		switch {
		case m.MergeTag == TagEmail:
			raw = NormaliseEmail(raw)
		case m.typ() == TypeDate:
			t, ok := parseDate(raw)
			if !ok {
				warnings = append(warnings, fmt.Sprintf("%s left out: %q is not a date", m.Field, raw))
				continue
			}
			raw = t.Format("2006-01-02T15:04:05")
		case m.typ() == TypeBirthday && !birthdayPattern.MatchString(raw):
			warnings = append(warnings, fmt.Sprintf("%s left out: birthday %q is not MM/DD", m.Field, raw))
			continue
		}
		out[m.Field] = raw
	}
	if len(missing) > 0 {
		return nil, warnings, Permanentf("Mailchimp contact cannot be synced to accessplanit: mandatory value missing: %s", strings.Join(missing, ", "))
	}
	if long := tooLong(out); len(long) > 0 {
		return nil, warnings, Permanentf("Mailchimp contact cannot be synced to accessplanit: %s", strings.Join(long, "; "))
	}
	return out, warnings, nil
}

// accessplanitMaxLength are the platform's limits on User properties, in
// characters: it refuses a User that exceeds one, so a member holding such
// a value is refused before any write (a name cut short would be another
// person's name).
var accessplanitMaxLength = map[string]int{FieldForenames: 50, FieldSurname: 40, FieldEmail: 80}

// tooLong describes the properties longer than accessplanit holds, in the
// order of their names.
func tooLong(fields map[string]string) []string {
	var out []string
	for _, f := range slices.Sorted(maps.Keys(accessplanitMaxLength)) {
		limit := accessplanitMaxLength[f]
		if n := utf8.RuneCountInString(fields[f]); n > limit {
			out = append(out, fmt.Sprintf("%s is %d characters, accessplanit holds at most %d", f, n, limit))
		}
	}
	return out
}

// parseDate accepts the date and date-time forms both systems use.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", "01/02/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var emailPattern = regexp.MustCompile(`^[^\s@<>()\[\],;:"]+@[^\s@<>()\[\],;:"]+\.[^\s@<>()\[\],;:"]+$`)

// LooksLikeEmail is a cheap syntactic check; Mailchimp has the final say.
func LooksLikeEmail(s string) bool { return len(s) <= 254 && emailPattern.MatchString(s) }
