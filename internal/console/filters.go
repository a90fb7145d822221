package console

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// filters are the execution filters as the instance page's form holds them.
// parseFilters turns them into the typed query, which validates itself as
// the API's and the CLI's do, so every front end accepts the same filters.
type filters struct {
	Status       string
	Flow         string
	From, To     string // as a datetime-local input shows them (UTC)
	OriginalOnly bool
	ChangedOnly  bool
	Contact      string
	Cursor       string
}

// pageSize is the number of executions per page.
const pageSize = 50

// localLayouts are what a datetime-local input sends; the console reads
// them as UTC.
var localLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05"}

// parseFilters reads the filters from a form and returns them with the
// execution query they stand for.
func parseFilters(v url.Values) (filters, apmc.ExecutionQuery, error) {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	f := filters{Status: get("status"), Flow: get("flow"), Contact: get("contact"), Cursor: get("cursor")}
	q := apmc.ExecutionQuery{Status: apmc.Status(f.Status), Flow: apmc.Flow(f.Flow), Contact: apmc.NormaliseEmail(f.Contact), Cursor: f.Cursor, Limit: pageSize}
	var problems []string
	for _, p := range []struct {
		name string
		dst  *string
		at   *time.Time
	}{{"from", &f.From, &q.From}, {"to", &f.To, &q.To}} {
		s := get(p.name)
		if s == "" {
			continue
		}
		t, ok := parseTime(s)
		if !ok {
			problems = append(problems, p.name+" must be a date and time such as 2026-11-26T09:00 (UTC) or an RFC 3339 time")
			*p.dst = s
			continue
		}
		*p.dst = t.UTC().Format("2006-01-02T15:04:05")
		*p.at = t.UTC().Truncate(time.Second)
	}
	for _, p := range []struct {
		name      string
		dst, into *bool
	}{{"original_only", &f.OriginalOnly, &q.OriginalOnly}, {"changed_only", &f.ChangedOnly, &q.ChangedOnly}} {
		switch s := get(p.name); s {
		case "", "off":
		case "on":
			*p.dst = true
		default:
			b, err := strconv.ParseBool(s)
			if err != nil {
				problems = append(problems, p.name+" must be true or false")
			}
			*p.dst = b
		}
		*p.into = *p.dst
	}
	if err := q.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return f, apmc.ExecutionQuery{}, apmc.Invalidf("%s", strings.Join(problems, "; "))
	}
	return f, q, nil
}

// parseTime reads an RFC 3339 time or a datetime-local value (UTC).
func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// values returns the filters as form values, without the cursor.
func (f filters) values() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"status": f.Status, "flow": f.Flow, "from": f.From, "to": f.To, "contact": f.Contact} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if f.OriginalOnly {
		v.Set("original_only", "on")
	}
	if f.ChangedOnly {
		v.Set("changed_only", "on")
	}
	return v
}

// url returns the instance page showing these filters from cursor on.
func (f filters) url(instanceID, cursor string) string {
	v := f.values()
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if len(v) == 0 {
		return instanceURL(instanceID)
	}
	return instanceURL(instanceID) + "?" + v.Encode()
}

// Hidden lists the filters as name/value pairs for hidden form fields.
func (f filters) Hidden() []field {
	v := f.values()
	var out []field
	for _, k := range slices.Sorted(maps.Keys(v)) {
		out = append(out, field{Name: k, Value: v.Get(k)})
	}
	return out
}

// field is one hidden form field.
type field struct{ Name, Value string }
