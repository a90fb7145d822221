package accessplanit

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// stampLayout is how the platform writes its own time stamps (UTC, no zone).
const stampLayout = "2006-01-02T15:04:05.000"

// dateLayout is how the platform writes date properties such as DOB.
const dateLayout = "2006-01-02T15:04:05"

// kind is how a User property is read and written.
type kind int

const (
	kindText     kind = iota
	kindDate          // a date-time, written without zone
	kindCompany       // MainCompanyID: must name an existing Company
	kindBool          // a JSON boolean
	kindReadOnly      // set by the platform; ignored in writes
)

// userFields are the properties of a User, in the order they are answered.
var userFields = []struct {
	name string
	kind kind
}{
	{"ID", kindReadOnly}, {"Title", kindText}, {"Forenames", kindText}, {"MiddleNames", kindText},
	{"Surname", kindText}, {"Email", kindText}, {"Phone", kindText}, {"Mobile", kindText},
	{"JobTitle", kindText}, {"DOB", kindDate}, {"MainCompanyID", kindCompany},
	{"MainCompanyName", kindReadOnly}, {"UserCompaniesIDs", kindReadOnly}, {"Status", kindText},
	{"MarketingOptIn", kindBool}, {"ExternalID", kindText}, {"UniqueID", kindReadOnly},
	{"DateCreated", kindReadOnly}, {"DateUpdated", kindReadOnly}, {"CreatedByID", kindReadOnly},
	{"UpdatedByID", kindReadOnly}, {"UpdatedByName", kindReadOnly}, {"Address", kindText},
	{"Town", kindText}, {"County", kindText}, {"Postcode", kindText}, {"Country", kindText},
	{"Tags", kindText},
	{"LatestCourseDateBooked", kindReadOnly}, {"LatestCourseDateAttended", kindReadOnly}, {"LastBooking", kindReadOnly},
}

// fieldKind finds a property by name, ignoring case as the platform's
// model binding does; custom fields "CF_*" are text.
func fieldKind(name string) (string, kind, bool) {
	for _, f := range userFields {
		if strings.EqualFold(f.name, name) {
			return f.name, f.kind, true
		}
	}
	if n, ok := customFieldName(name); ok {
		return n, kindText, true
	}
	return "", 0, false
}

func customFieldName(name string) (string, bool) {
	if len(name) > 3 && strings.EqualFold(name[:3], "CF_") {
		return "CF_" + name[3:], true
	}
	return "", false
}

// maxLengths are the platform's limits, in characters.
var maxLengths = map[string]int{"Forenames": 50, "Surname": 40, "Email": 80}

// user is one stored User. Text properties are stored as strings ("" when
// empty); DOB as a formatted date or ""; the rest in typed fields.
type user struct {
	id          int
	text        map[string]string
	companyID   int
	optIn       bool
	dateCreated time.Time
	dateUpdated time.Time
	createdBy   string
	updatedBy   string
}

func (u *user) clone() *user {
	c := *u
	c.text = make(map[string]string, len(u.text))
	for k, v := range u.text {
		c.text[k] = v
	}
	return &c
}

// apply sets the given properties on u, returning the problems found.
// companyExists says whether a Company ID is known.
func (u *user) apply(in map[string]any, companyExists func(int) bool) []string {
	var problems []string
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		v := in[key]
		name, k, ok := fieldKind(key)
		if !ok {
			problems = append(problems, fmt.Sprintf("The property '%s' does not exist on type 'User'.", key))
			continue
		}
		switch k {
		case kindReadOnly:
			// ASSUMPTION: like ASP.NET model binding, read-only properties
			// sent back in a write are ignored, not rejected.
		case kindText:
			s, ok := scalarText(v)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: expected a text value.", name))
				continue
			}
			u.text[name] = s
		case kindDate:
			s, ok := scalarText(v)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: expected a date.", name))
				continue
			}
			if strings.TrimSpace(s) == "" {
				u.text[name] = ""
				continue
			}
			t, ok := parseDate(s)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: '%s' is not a valid date.", name, s))
				continue
			}
			u.text[name] = t.Format(dateLayout)
		case kindCompany:
			s, _ := scalarText(v)
			id, err := strconv.Atoi(strings.TrimSpace(s))
			switch {
			case v == nil || strings.TrimSpace(s) == "":
				u.companyID = 0
			case err != nil:
				problems = append(problems, fmt.Sprintf("%s: '%s' is not a valid ID.", name, s))
			case !companyExists(id):
				problems = append(problems, fmt.Sprintf("%s: Company %d does not exist.", name, id))
			default:
				u.companyID = id
			}
		case kindBool:
			switch b := v.(type) {
			case bool:
				u.optIn = b
			case string:
				parsed, err := strconv.ParseBool(b)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: '%s' is not a valid boolean.", name, b))
					continue
				}
				u.optIn = parsed
			case nil:
				u.optIn = false
			default:
				problems = append(problems, fmt.Sprintf("%s: expected a boolean.", name))
			}
		}
	}
	return problems
}

// validate checks the rules every stored User obeys; prior are the
// problems already found with the properties sent.
func (u *user) validate(prior []string) []string {
	var problems []string
	for _, name := range []string{"Forenames", "Surname"} {
		if strings.TrimSpace(u.text[name]) == "" {
			problems = append(problems, fmt.Sprintf("%s is required.", name))
		}
	}
	for _, name := range []string{"Forenames", "Surname", "Email"} {
		if n := utf8.RuneCountInString(u.text[name]); n > maxLengths[name] {
			problems = append(problems, fmt.Sprintf("%s must be %d characters or fewer (it has %d).", name, maxLengths[name], n))
		}
	}
	if u.companyID == 0 && !companyNamed(prior) {
		problems = append(problems, "MainCompanyID is required.")
	}
	return problems
}

// scalarText renders a decoded JSON scalar as text; null is "".
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// json renders u as the platform does.
//
// ASSUMPTION: the platform answers empty properties as null (so a property
// changes JSON type with its content), IDs as numbers and stamps in UTC
// without a zone, with milliseconds.
func (u *user) json(companies map[int]string, customFields []string) map[string]any {
	out := make(map[string]any, len(userFields)+len(customFields))
	for _, f := range userFields {
		if f.kind == kindText || f.kind == kindDate {
			out[f.name] = nullable(u.text[f.name])
		}
	}
	out["ID"] = u.id
	out["MainCompanyID"] = nullableInt(u.companyID)
	out["MainCompanyName"] = nullable(companies[u.companyID])
	out["UserCompaniesIDs"] = []int{}
	if u.companyID != 0 {
		out["UserCompaniesIDs"] = []int{u.companyID}
	}
	out["MarketingOptIn"] = u.optIn
	out["UniqueID"] = fmt.Sprintf("00000000-0000-4000-8000-%012d", u.id)
	out["DateCreated"] = u.dateCreated.UTC().Format(stampLayout)
	out["DateUpdated"] = u.dateUpdated.UTC().Format(stampLayout)
	out["CreatedByID"] = idValue(u.createdBy)
	out["UpdatedByID"] = idValue(u.updatedBy)
	out["UpdatedByName"] = nil
	for _, cf := range customFields {
		out[cf] = nullable(u.text[cf])
	}
	for k, v := range u.text {
		if strings.HasPrefix(k, "CF_") {
			out[k] = nullable(v)
		}
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// idValue answers a numeric ID as a number, anything else as text.
func idValue(s string) any {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return nullable(s)
}

func itoa(n int) string { return strconv.Itoa(n) }

// companyNamed reports whether a problem already names the company given.
func companyNamed(problems []string) bool {
	for _, p := range problems {
		if strings.HasPrefix(p, "MainCompanyID: ") {
			return true
		}
	}
	return false
}
