package mailchimp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxTextBytes is the longest value a text merge field holds.
const maxTextBytes = 255

// fakeTLDs are top-level domains no real mailbox has. Mailchimp refuses many
// more addresses as "fake" (INFERRED: its list is not published); the
// simulator refuses only these reserved names, so tests can still use
// example.com addresses.
var fakeTLDs = []string{"invalid", "test", "example", "localhost", "local"}

// checkEmail returns the "looks fake or invalid" problem Mailchimp answers
// for an address it will not store, or nil.
func checkEmail(email string) *apiError {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") ||
		strings.ContainsAny(email, " \t\r\n,;<>()[]\\\"") ||
		!strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") {
		return errFakeEmail(email)
	}
	tld := strings.ToLower(domain[strings.LastIndex(domain, ".")+1:])
	for _, fake := range fakeTLDs {
		if tld == fake {
			return errFakeEmail(email)
		}
	}
	return nil
}

// errMergeFields is the problem Mailchimp answers for invalid merge values.
func errMergeFields(fields []FieldError) *apiError {
	return &apiError{status: http.StatusBadRequest, title: "Invalid Resource", detail: "Your merge fields were invalid.", fields: fields}
}

// mergeValues validates the merge values in against l's fields and returns
// current with them applied. Unknown tags are ignored, as Mailchimp does; an
// empty value clears a field; a new member must have every required field.
// s.mu is held.
func (l *list) mergeValues(current, in map[string]any, isNew bool) (map[string]any, *apiError) {
	out := make(map[string]any, len(current)+len(in))
	for k, v := range current {
		out[k] = v
	}
	var problems []FieldError
	for tag, raw := range in {
		f, ok := l.mergeField(strings.ToUpper(tag))
		if !ok {
			continue
		}
		v, msg := normalizeMerge(f, raw)
		switch {
		case msg != "":
			problems = append(problems, FieldError{Field: f.Tag, Message: msg})
		case v == nil && f.Required:
			problems = append(problems, FieldError{Field: f.Tag, Message: "Please enter a value"})
		case v == nil:
			delete(out, f.Tag)
		default:
			out[f.Tag] = v
		}
	}
	if isNew {
		for _, f := range l.mergeFields {
			if _, ok := out[f.Tag]; f.Required && !ok && !hasField(problems, f.Tag) {
				problems = append(problems, FieldError{Field: f.Tag, Message: "Please enter a value"})
			}
		}
	}
	if len(problems) > 0 {
		return nil, errMergeFields(problems)
	}
	return out, nil
}

func hasField(fs []FieldError, tag string) bool {
	for _, f := range fs {
		if f.Field == tag {
			return true
		}
	}
	return false
}

// normalizeMerge checks one value against its field's type and returns the
// value to store (nil to clear the field) or a message saying what is wrong.
func normalizeMerge(f MergeField, raw any) (any, string) {
	if raw == nil {
		return nil, ""
	}
	if f.Type == "address" {
		return normalizeAddress(raw)
	}
	if f.Type == "number" {
		return normalizeNumber(raw)
	}
	var str string
	switch v := raw.(type) {
	case string:
		str = v
	case json.Number:
		str = v.String()
	case float64:
		str = strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		str = strconv.FormatBool(v)
	default:
		return nil, "Please enter a valid value"
	}
	if str == "" {
		return nil, ""
	}
	switch f.Type {
	case "text":
		if len(str) > maxTextBytes {
			return nil, fmt.Sprintf("Value must be at most %d characters", maxTextBytes)
		}
	case "birthday":
		if _, err := time.Parse("01/02", str); err != nil || len(str) != 5 {
			return nil, "Please enter a complete birthday (month/day)"
		}
	case "date":
		if _, err := time.Parse("2006-01-02", str); err != nil {
			return nil, "Please enter a valid date (YYYY-MM-DD)"
		}
	case "radio", "dropdown":
		if len(f.Choices) > 0 && !contains(f.Choices, str) {
			return nil, "Please choose one of the options"
		}
	}
	return str, ""
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// normalizeNumber accepts a JSON number or a numeric string.
func normalizeNumber(raw any) (any, string) {
	switch v := raw.(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return nil, "Please enter a number"
		}
		return f, ""
	case float64:
		return v, ""
	case string:
		if v == "" {
			return nil, ""
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, "Please enter a number"
		}
		return f, ""
	default:
		return nil, "Please enter a number"
	}
}

// addressKeys are the parts of an address merge value, in Mailchimp's order.
var addressKeys = []string{"addr1", "addr2", "city", "state", "zip", "country"}

// normalizeAddress accepts an object with addr1, city, state and zip (addr2
// and country optional), or Mailchimp's string form with the parts separated
// by two spaces, or an empty string to clear the field.
func normalizeAddress(raw any) (any, string) {
	parts := map[string]string{}
	switch v := raw.(type) {
	case string:
		if v == "" {
			return nil, ""
		}
		fields := strings.Split(v, "  ")
		if len(fields) < 4 {
			return nil, "Please enter a complete address"
		}
		if len(fields) == 4 { // addr1, city, state, zip
			fields = []string{fields[0], "", fields[1], fields[2], fields[3]}
		}
		for i, f := range fields {
			if i < len(addressKeys) {
				parts[addressKeys[i]] = strings.TrimSpace(f)
			}
		}
	case map[string]any:
		for _, k := range addressKeys {
			switch x := v[k].(type) {
			case nil:
			case string:
				parts[k] = x
			case json.Number:
				parts[k] = x.String()
			default:
				return nil, "Please enter a complete address"
			}
		}
	default:
		return nil, "Please enter a complete address"
	}
	empty := true
	for _, k := range addressKeys {
		if parts[k] != "" {
			empty = false
		}
		if _, ok := parts[k]; !ok {
			parts[k] = ""
		}
	}
	if empty {
		return nil, ""
	}
	for _, k := range []string{"addr1", "city", "state", "zip"} {
		if parts[k] == "" {
			return nil, "Please enter a complete address"
		}
	}
	return parts, ""
}

// decodeJSON reads r's body into v, keeping numbers as json.Number.
func decodeJSON(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 10<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errJSONParse()
	}
	return nil
}
