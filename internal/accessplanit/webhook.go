package accessplanit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// ErrMalformed is wrapped by ParseWebhook's errors: the delivery cannot be
// understood, and sending it again will not help.
var ErrMalformed = errors.New("malformed accessplanit webhook")

// malformed is ParseWebhook's error type: it wraps ErrMalformed and is permanent.
type malformed struct{ msg string }

func (e *malformed) Error() string   { return ErrMalformed.Error() + ": " + e.msg }
func (e *malformed) Unwrap() error   { return ErrMalformed }
func (e *malformed) Permanent() bool { return true }
func malformedf(format string, args ...any) error {
	return &malformed{msg: fmt.Sprintf(format, args...)}
}

// ASSUMPTION: the webhook payload is not public. The User may come as the
// body itself (whole, or just {"ID": …}), or inside a wrapper under one of
// these keys, beside siblings such as Event, EventType or Module and a
// delivery id (Id or WebhookInstanceID, not used: a delivery is identified by
// its content). Keys match without regard to case.
var wrapperKeys = []string{"Data", "Entity", "User", "Record", "Payload", "Body", "Object"}

// maxWrapperDepth bounds how deep wrappers are looked into.
const maxWrapperDepth = 4

// ParseWebhook reads one webhook delivery from accessplanit into a Change.
// The HTTP method says what happened: POST a create, PUT or PATCH an
// update, DELETE a delete. The Change carries the whole User only when the
// delivery does (ID, Email, Forenames, Surname and DateUpdated); otherwise
// only the User's ID and email, and the User is read from the API when the
// change is applied. The Change's ID is left to the caller, which has the
// raw delivery to derive it from. Errors wrap ErrMalformed.
func ParseWebhook(method string, body []byte, instanceID string, receivedAt time.Time) (apmc.Change, error) {
	var event apmc.Event
	switch strings.ToUpper(strings.TrimSpace(method)) {
	case http.MethodPost:
		event = apmc.EventCreated
	case http.MethodPut, http.MethodPatch:
		event = apmc.EventUpdated
	case http.MethodDelete:
		event = apmc.EventDeleted
	default:
		return apmc.Change{}, malformedf("method %.20q is not POST, PUT, PATCH or DELETE", method)
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return apmc.Change{}, malformedf("empty body")
	case !utf8.Valid(body):
		return apmc.Change{}, malformedf("body is not UTF-8")
	case trimmed[0] != '{':
		return apmc.Change{}, malformedf("body is not a JSON object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		return apmc.Change{}, malformedf("body is not valid JSON: %v", err)
	}

	user := top
	delegate := false
	for depth := 0; depth < maxWrapperDepth; depth++ {
		if module := firstText(user, "Module", "ModuleName", "EntityType"); module != "" && !strings.EqualFold(module, "User") && !strings.EqualFold(module, "Users") {
			if !delegateModule(module) {
				return apmc.Change{}, malformedf("the delivery is about module %.40q, not User or UserCourseDate", module)
			}
			delegate = true
		}
		inner, ok := wrapped(user)
		if !ok {
			break
		}
		user = inner
	}

	if delegate || strings.Contains(firstText(user, "ID"), "~") {
		return delegateChange(user, instanceID, receivedAt)
	}
	c := apmc.Change{
		InstanceID: instanceID,
		Source:     apmc.SideAccessplanit,
		Event:      event,
		ReceivedAt: receivedAt,
		Origin:     apmc.OriginWebhook,
		UserID:     firstText(user, "ID", "UserID"),
		Email:      apmc.NormaliseEmail(firstText(user, "Email")),
	}
	if c.UserID == "" && c.Email == "" {
		return apmc.Change{}, malformedf("no user ID and no email in the body")
	}
	if s := firstText(user, "DateUpdated"); s != "" {
		if t, err := parseTime(s); err == nil {
			c.OccurredAt = t
		}
	}
	if whole(user) && c.UserID != "" && !c.OccurredAt.IsZero() {
		if u, err := userFromObject(canonicalKeys(user)); err == nil {
			c.User = &u
		}
	}
	return c, nil
}

// wrapped returns the object held under a wrapper key, if any. A wrapper
// value may also be a JSON object sent as a string.
func wrapped(obj map[string]json.RawMessage) (map[string]json.RawMessage, bool) {
	// An object holding a User's own properties is the User, even if it
	// also has a property called, say, "Status".
	if _, ok := lookup(obj, "Email"); ok {
		return nil, false
	}
	if _, ok := lookup(obj, "Forenames"); ok {
		return nil, false
	}
	for _, key := range wrapperKeys {
		raw, ok := lookup(obj, key)
		if !ok {
			continue
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && raw[0] == '"' {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				raw = bytes.TrimSpace([]byte(s))
			}
		}
		var inner map[string]json.RawMessage
		if len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &inner) == nil && inner != nil {
			return inner, true
		}
	}
	return nil, false
}

// whole reports whether obj is a complete User, not just a notification.
func whole(obj map[string]json.RawMessage) bool {
	for _, f := range []string{"ID", "Email", "Forenames", "Surname", "DateUpdated"} {
		if firstText(obj, f) == "" {
			return false
		}
	}
	return true
}

// firstText returns the text of the first of the named properties that is
// present and not null (objects and arrays do not count).
func firstText(obj map[string]json.RawMessage, names ...string) string {
	for _, name := range names {
		raw, ok := lookup(obj, name)
		if !ok {
			continue
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
			continue
		}
		if s, ok := normalise(raw); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// canonicalKeys respells an object's keys canonically; where two keys
// differ only in case, the canonical spelling wins.
func canonicalKeys(obj map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(obj))
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		c := canonicalField(k)
		if _, taken := out[c]; taken && k != c {
			continue
		}
		out[c] = obj[k]
	}
	return out
}
