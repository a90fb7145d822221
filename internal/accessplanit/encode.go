package accessplanit

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// ASSUMPTION: the platform binds request bodies to typed properties, so a
// date must be sent as a date-time without zone, an ID as a number and a
// flag as a JSON boolean; a string in their place may be rejected. The
// standard properties' kinds are apmc.UserFields'. Custom fields (CF_*) are
// sent as text: their types are not known here.

// kindOf returns the kind of a standard property, or "" for any other.
func kindOf(name string) apmc.FieldKind {
	f, _ := apmc.StandardUserField(name)
	return f.Kind
}

// writeLayout is the form dates are written in.
const writeLayout = "2006-01-02T15:04:05"

var integerPattern = regexp.MustCompile(`^-?[0-9]{1,18}$`)

// encodeFields turns text properties into the typed JSON body of a write.
// A value that does not fit its property's type is sent as text, so the
// platform's own validation names the problem.
func encodeFields(fields map[string]string) map[string]any {
	body := make(map[string]any, len(fields))
	for k, v := range fields {
		name := canonicalField(k)
		body[name] = encodeValue(name, v)
	}
	return body
}

func encodeValue(name, v string) any {
	t := strings.TrimSpace(v)
	switch {
	case kindOf(name) == apmc.KindDate || (strings.HasPrefix(name, "Date") && !strings.HasPrefix(name, "CF_")):
		if t == "" {
			return nil
		}
		if d, err := parseTime(t); err == nil {
			return d.Format(writeLayout)
		}
	case kindOf(name) == apmc.KindID:
		if t == "" {
			return nil
		}
		if integerPattern.MatchString(t) {
			return json.Number(t)
		}
	case kindOf(name) == apmc.KindFlag:
		switch strings.ToLower(t) {
		case "true", "yes", "1", "y":
			return true
		case "false", "no", "0", "n":
			return false
		case "":
			return nil
		}
	}
	return v
}
