package accessplanit

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// listQuery is a parsed set of OData query options.
type listQuery struct {
	// filter holds terms joined with "or" of terms joined with "and" (and
	// binds tighter, as in OData); empty matches everything.
	filter  [][]condition
	top     int // -1: no limit
	skip    int
	selects []string
	orderBy string
	desc    bool
}

// condition is one "Field op literal" term; op is eq, ne, gt, ge, lt or le.
type condition struct {
	field string
	op    string
	value string
	null  bool
	// date is set for a date-time literal, compared as a time with a date
	// property's value.
	date    bool
	dateVal time.Time
}

// dateFields are the User properties that hold date-times.
var dateFields = []string{"DOB", "DateCreated", "DateUpdated"}

// parseDateLiteral reads an OData date-time literal: ISO 8601 with or
// without a zone (none means UTC) and fractional seconds.
func parseDateLiteral(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseListQuery reads $filter, $top, $skip, $select and $orderby. fields
// resolves a property name (ignoring case) to its canonical spelling.
func parseListQuery(q url.Values, fields func(string) (string, bool)) (listQuery, error) {
	lq := listQuery{top: -1}
	for key := range q {
		switch strings.ToLower(key) {
		case "$filter", "$top", "$skip", "$select", "$orderby", "$count", "$format":
		default:
			if strings.HasPrefix(key, "$") {
				return lq, fmt.Errorf("The query parameter '%s' is not supported.", key)
			}
		}
	}
	var err error
	if f := q.Get("$filter"); f != "" {
		if lq.filter, err = parseFilter(f, fields); err != nil {
			return lq, err
		}
	}
	if s := q.Get("$top"); s != "" {
		if lq.top, err = strconv.Atoi(s); err != nil || lq.top < 0 {
			return lq, fmt.Errorf("Invalid value '%s' for $top query option.", s)
		}
	}
	if s := q.Get("$skip"); s != "" {
		if lq.skip, err = strconv.Atoi(s); err != nil || lq.skip < 0 {
			return lq, fmt.Errorf("Invalid value '%s' for $skip query option.", s)
		}
	}
	if s := q.Get("$select"); s != "" {
		for _, part := range strings.Split(s, ",") {
			name, ok := fields(strings.TrimSpace(part))
			if !ok {
				return lq, fmt.Errorf("Could not find a property named '%s' to $select.", strings.TrimSpace(part))
			}
			lq.selects = append(lq.selects, name)
		}
	}
	if s := strings.TrimSpace(q.Get("$orderby")); s != "" {
		parts := strings.Fields(s)
		if len(parts) > 2 || strings.Contains(s, ",") {
			return lq, fmt.Errorf("$orderby '%s' is not supported: order by one property, asc or desc.", s)
		}
		name, ok := fields(parts[0])
		if !ok {
			return lq, fmt.Errorf("Could not find a property named '%s' to $orderby.", parts[0])
		}
		lq.orderBy = name
		if len(parts) == 2 {
			switch strings.ToLower(parts[1]) {
			case "asc":
			case "desc":
				lq.desc = true
			default:
				return lq, fmt.Errorf("$orderby direction '%s' must be asc or desc.", parts[1])
			}
		}
	}
	return lq, nil
}

// parseFilter reads "Field op 'text'" or "Field op 123" terms (also true,
// false, null and, on date properties, a date-time written bare as
// 2026-01-01T00:00:00Z or as datetime'2026-01-01T00:00:00'; op eq, ne, gt,
// ge, lt or le) joined with "and" and "or", "and" binding tighter.
// Parentheses and functions are refused.
func parseFilter(f string, fields func(string) (string, bool)) ([][]condition, error) {
	toks, err := tokenize(f)
	if err != nil {
		return nil, err
	}
	toks = joinDatetimeLiterals(toks)
	unsupported := fmt.Errorf("$filter '%s' is not supported: use Field eq 'value' terms (or ne, gt, ge, lt, le) joined with and / or.", f)
	var out [][]condition
	var group []condition
	for i := 0; ; {
		if i+3 > len(toks) {
			return nil, unsupported
		}
		field, op, lit := toks[i], toks[i+1], toks[i+2]
		opName := strings.ToLower(op.text)
		if field.quoted || !isIdent(field.text) || op.quoted || !slices.Contains([]string{"eq", "ne", "gt", "ge", "lt", "le"}, opName) {
			return nil, unsupported
		}
		name, ok := fields(field.text)
		if !ok {
			return nil, fmt.Errorf("Could not find a property named '%s' on type 'User'.", field.text)
		}
		c := condition{field: name, op: opName, value: lit.text}
		if lit.datetime || !lit.quoted && len(lit.text) >= 10 && lit.text[4] == '-' { // 2026-01-01…
			t, ok := parseDateLiteral(lit.text)
			if !ok {
				return nil, fmt.Errorf("$filter '%s': '%s' is not a valid date-time.", f, lit.text)
			}
			if !slices.Contains(dateFields, name) {
				return nil, fmt.Errorf("$filter '%s': '%s' is not a date property and cannot be compared with a date-time.", f, name)
			}
			c.date, c.dateVal = true, t
		} else if !lit.quoted {
			switch {
			case strings.EqualFold(lit.text, "null"):
				c.null = true
				if opName != "eq" && opName != "ne" {
					return nil, fmt.Errorf("$filter '%s': null compares only with eq or ne.", f)
				}
			case strings.EqualFold(lit.text, "true"), strings.EqualFold(lit.text, "false"):
				c.value = strings.ToLower(lit.text)
			default:
				if _, err := strconv.ParseFloat(lit.text, 64); err != nil {
					return nil, fmt.Errorf("$filter '%s': '%s' is not a literal.", f, lit.text)
				}
			}
		}
		group = append(group, c)
		i += 3
		if i == len(toks) {
			return append(out, group), nil
		}
		switch {
		case toks[i].quoted:
			return nil, unsupported
		case strings.EqualFold(toks[i].text, "and"):
		case strings.EqualFold(toks[i].text, "or"):
			out = append(out, group)
			group = nil
		default:
			return nil, fmt.Errorf("$filter '%s' is not supported: only and / or join terms.", f)
		}
		i++
	}
}

type token struct {
	text   string
	quoted bool
	// datetime marks a datetime'...' literal, its text the quoted part.
	datetime bool
}

// joinDatetimeLiterals turns the two tokens of datetime'...' into one.
func joinDatetimeLiterals(toks []token) []token {
	out := toks[:0]
	for i := 0; i < len(toks); i++ {
		if !toks[i].quoted && strings.EqualFold(toks[i].text, "datetime") && i+1 < len(toks) && toks[i+1].quoted {
			out = append(out, token{text: toks[i+1].text, quoted: true, datetime: true})
			i++
			continue
		}
		out = append(out, toks[i])
	}
	return out
}

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		switch s[i] {
		case ' ', '\t':
			i++
		case '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("$filter '%s': unterminated string literal.", s)
			}
			toks = append(toks, token{text: b.String(), quoted: true})
		case '(', ')', ',':
			return nil, fmt.Errorf("$filter '%s' is not supported: functions and parentheses are not.", s)
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '\'' && s[j] != '(' && s[j] != ')' && s[j] != ',' {
				j++
			}
			toks = append(toks, token{text: s[i:j]})
			i = j
		}
	}
	return toks, nil
}

func isIdent(s string) bool {
	for i, r := range s {
		letter := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		digit := i > 0 && r >= '0' && r <= '9'
		if !letter && !digit {
			return false
		}
	}
	return s != ""
}

// matches reports whether an item (as answered) meets every condition of
// one of the filter's groups.
//
// ASSUMPTION: text compares without regard to case, as the platform's SQL
// Server collation (case-insensitive by default) would; numbers compare by
// value; a date property compared with a date-time literal compares as a
// time (the platform's zoneless stamps are UTC); compared with a quoted
// text it compares as the ISO 8601 text it is answered as.
func (lq listQuery) matches(item map[string]any) bool {
	if len(lq.filter) == 0 {
		return true
	}
	for _, group := range lq.filter {
		if groupMatches(group, item) {
			return true
		}
	}
	return false
}

func groupMatches(group []condition, item map[string]any) bool {
	for _, c := range group {
		v := item[c.field]
		if c.null {
			if (v == nil) != (c.op == "eq") {
				return false
			}
			continue
		}
		if v == nil {
			return false
		}
		var r int
		if c.date {
			t, ok := parseDateLiteral(valueText(v))
			if !ok {
				return false
			}
			r = t.Compare(c.dateVal)
		} else {
			r = compareValues(v, literal(c.value))
		}
		ok := false
		switch c.op {
		case "eq":
			ok = r == 0
		case "ne":
			ok = r != 0
		case "gt":
			ok = r > 0
		case "ge":
			ok = r >= 0
		case "lt":
			ok = r < 0
		case "le":
			ok = r <= 0
		}
		if !ok {
			return false
		}
	}
	return true
}

// literal is a filter's literal as a value: a whole number as an int, so it
// compares with numeric properties by value.
func literal(s string) any {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return s
}

// onlyIDs returns the IDs the filter names when it is nothing but
// "ID eq n" terms joined with "or".
func (lq listQuery) onlyIDs() ([]int, bool) {
	if len(lq.filter) == 0 {
		return nil, false
	}
	ids := make([]int, 0, len(lq.filter))
	for _, group := range lq.filter {
		if len(group) != 1 || group[0].field != "ID" || group[0].op != "eq" {
			return nil, false
		}
		id, err := strconv.Atoi(group[0].value)
		if err != nil {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

// apply filters, orders, pages and projects items.
func (lq listQuery) apply(items []map[string]any) []map[string]any {
	out := slices.DeleteFunc(items, func(m map[string]any) bool { return !lq.matches(m) })
	if lq.orderBy != "" {
		slices.SortStableFunc(out, func(a, b map[string]any) int {
			r := compareValues(a[lq.orderBy], b[lq.orderBy])
			if lq.desc {
				return -r
			}
			return r
		})
	}
	if lq.skip >= len(out) {
		out = nil
	} else {
		out = out[lq.skip:]
	}
	if lq.top >= 0 && lq.top < len(out) {
		out = out[:lq.top]
	}
	if len(lq.selects) > 0 {
		for i, m := range out {
			p := make(map[string]any, len(lq.selects))
			for _, f := range lq.selects {
				p[f] = m[f]
			}
			out[i] = p
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	return out
}

func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// compareValues orders nulls first, numbers by value, text without case.
func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	ai, aok := a.(int)
	bi, bok := b.(int)
	if aok && bok {
		return cmp.Compare(ai, bi)
	}
	return cmp.Compare(strings.ToLower(valueText(a)), strings.ToLower(valueText(b)))
}
