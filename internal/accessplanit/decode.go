package accessplanit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// knownFields are the User properties the platform is known to have
// (apmc.UserFields, an ASSUMPTION there), in their canonical spelling.
// Decoding maps any other spelling of them (say "email") to this one, so
// the rest of the service can rely on it.
var knownFields = func() map[string]string {
	names := make([]string, 0, len(apmc.UserFields))
	for _, f := range apmc.UserFields {
		names = append(names, f.Name)
	}
	return canonicalNames(names...)
}()

func canonicalNames(names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = n
	}
	return m
}

// canonicalField returns the canonical spelling of a property name: known
// fields as listed, custom fields with the prefix "CF_", others unchanged.
func canonicalField(name string) string {
	if c, ok := knownFields[strings.ToLower(name)]; ok {
		return c
	}
	if len(name) > 3 && strings.EqualFold(name[:3], "cf_") {
		return "CF_" + name[3:]
	}
	return name
}

// decodeUser turns one User object into a apmc.User, leniently.
//
// ASSUMPTION: the platform changes a property's JSON type with its content
// (a number, or a string holding one; null when empty), so every property is
// read as text whatever its type: strings as they are, numbers without
// exponent or trailing zeros, booleans as true/false, arrays and objects as
// compact JSON; null is left out.
func decodeUser(raw json.RawMessage) (apmc.User, error) {
	obj, err := decodeObject(raw)
	if err != nil {
		return apmc.User{}, err
	}
	return userFromObject(obj)
}

func decodeObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("decode user: %w", err)
	}
	if obj == nil {
		return nil, errors.New("decode user: not an object")
	}
	return obj, nil
}

func userFromObject(obj map[string]json.RawMessage) (apmc.User, error) {
	u := apmc.User{Fields: make(map[string]string, len(obj))}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		text, ok := normalise(obj[k])
		if !ok {
			continue
		}
		name := canonicalField(k)
		if _, taken := u.Fields[name]; taken && k != name {
			continue // the canonical spelling wins
		}
		u.Fields[name] = text
	}
	u.ID = strings.TrimSpace(u.Fields["ID"])
	if u.ID == "" {
		return apmc.User{}, errors.New("decode user: no ID")
	}
	u.UpdatedByID = u.Fields["UpdatedByID"]
	u.Tags = SplitTags(u.Fields["Tags"])
	if s := u.Fields["DateUpdated"]; s != "" {
		t, err := parseTime(s)
		if err != nil {
			return apmc.User{}, fmt.Errorf("decode user %s: DateUpdated: %w", u.ID, err)
		}
		u.UpdatedAt = t
	}
	return u, nil
}

// parseTime reads the platform's date-times: with or without fractional
// seconds, with or without a zone. No zone means UTC.
//
// ASSUMPTION: dates without a zone are UTC (the platform's API answers
// "2006-01-02T15:04:05.000"-style stamps).
func parseTime(s string) (time.Time, error) {
	t, err := parseZonedTime(s)
	return t.UTC(), err
}

// parseZonedTime reads a date-time as parseTime does but keeps the zone it
// was given in, so that its calendar date is the one the platform meant: a
// course starting at local midnight, "2026-06-10T00:00:00+01:00", is on
// 10 June, although in UTC it is still the 9th.
func parseZonedTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date-time", s)
}

// decodeList reads a list answer: {"results":[…]} (also "value", the
// OData standard name, in any case), or a bare array.
func decodeList(body []byte) ([]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	var items []json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, fmt.Errorf("decode list: %w", err)
		}
		return items, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	for k, v := range obj {
		if l := strings.ToLower(k); l == "results" || l == "value" {
			if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				return nil, nil
			}
			if err := json.Unmarshal(v, &items); err != nil {
				return nil, fmt.Errorf("decode list %s: %w", k, err)
			}
			return items, nil
		}
	}
	return nil, errors.New("decode list: no results")
}

// decodeUsers decodes a list answer of Users.
func decodeUsers(body []byte) ([]apmc.User, error) {
	items, err := decodeList(body)
	if err != nil {
		return nil, err
	}
	users := make([]apmc.User, 0, len(items))
	for i, item := range items {
		u, err := decodeUser(item)
		if err != nil {
			return nil, fmt.Errorf("user %d of %d: %w", i+1, len(items), err)
		}
		users = append(users, u)
	}
	return users, nil
}
