package mailchimp

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// ErrMalformed is wrapped by ParseWebhook's errors: the delivery cannot be
// a Mailchimp webhook, and delivering it again will not help.
var ErrMalformed = errors.New("malformed mailchimp webhook")

// firedAtLayout is the layout of fired_at. Mailchimp does not document its
// time zone; it is taken as UTC (INFERRED, see the contracts README).
const firedAtLayout = "2006-01-02 15:04:05"

// mergesPrefix starts the form keys of merge values: data[merges][TAG].
const mergesPrefix = "data[merges]["

// ParseWebhook turns a Mailchimp webhook delivery (the parsed form body,
// PHP bracket keys) into a change for instanceID.
//
// Where a key is repeated the first value wins, as with url.Values.Get: a
// well-formed delivery never repeats one. Every key and value must be valid
// UTF-8. Emails are lower-cased (a "+" is kept). Merge values are keyed by
// merge tag, with EMAIL added from data[email]; empty values are left out,
// as the mapping leaves them out. An ADDRESS sent as nested parts
// (data[merges][ADDRESS][addr1], …) is joined into one string like an
// address sent as one string; other nested values (GROUPINGS) are not merge
// values and are skipped; INTERESTS stays the string it is.
//
// Change.ID is left to the caller, which has the raw body to derive it
// from (Mailchimp sends no delivery id). Errors wrap ErrMalformed.
func ParseWebhook(form url.Values, instanceID string, receivedAt time.Time) (apmc.Change, error) {
	for k, vs := range form {
		if !utf8.ValidString(k) {
			return apmc.Change{}, malformed("a form key is not valid UTF-8")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return apmc.Change{}, malformed("the value of %s is not valid UTF-8", k)
			}
		}
	}
	typ := strings.TrimSpace(form.Get("type"))
	if typ == "" {
		return apmc.Change{}, malformed("no type")
	}
	firedRaw := strings.TrimSpace(form.Get("fired_at"))
	if firedRaw == "" {
		return apmc.Change{}, malformed("%s: no fired_at", typ)
	}
	fired, err := time.ParseInLocation(firedAtLayout, firedRaw, time.UTC)
	if err != nil {
		return apmc.Change{}, malformed("%s: fired_at %q is not YYYY-MM-DD HH:MM:SS", typ, firedRaw)
	}
	ch := apmc.Change{
		InstanceID: instanceID,
		Source:     apmc.SideMailchimp,
		ReceivedAt: receivedAt.UTC(),
		OccurredAt: fired,
	}
	data := func(k string) string { return strings.TrimSpace(form.Get("data[" + k + "]")) }

	switch typ {
	case "subscribe", "profile", "unsubscribe", "cleaned":
		email, err := emailField(form, "email", typ)
		if err != nil {
			return apmc.Change{}, err
		}
		ch.Email = email
		ch.Reason = data("reason")
		if typ == "unsubscribe" {
			ch.Action = data("action")
		}
		if typ != "cleaned" {
			ch.Merges = merges(form)
			ch.Merges[apmc.TagEmail] = email
		}
	case "upemail":
		oldEmail, err := emailField(form, "old_email", typ)
		if err != nil {
			return apmc.Change{}, err
		}
		newEmail, err := emailField(form, "new_email", typ)
		if err != nil {
			return apmc.Change{}, err
		}
		ch.OldEmail, ch.NewEmail, ch.Email = oldEmail, newEmail, newEmail
	case "campaign":
		// A campaign was sent or cancelled: no contact is concerned.
		ch.Reason = data("reason")
		if data("id") == "" {
			return apmc.Change{}, malformed("campaign: no data[id]")
		}
	default:
		return apmc.Change{}, malformed("unknown type %q", typ)
	}
	ch.Event = apmc.Event(typ)
	return ch, nil
}

// emailField reads data[name], which type needs, lower-cased.
func emailField(form url.Values, name, typ string) (string, error) {
	v := apmc.NormaliseEmail(form.Get("data[" + name + "]"))
	switch {
	case v == "":
		return "", malformed("%s: no data[%s]", typ, name)
	case !apmc.LooksLikeEmail(v):
		return "", malformed("%s: data[%s] %q is not an email address", typ, name, v)
	}
	return v, nil
}

// merges collects data[merges][TAG] and data[merges][TAG][part] values.
func merges(form url.Values) apmc.Values {
	out := apmc.Values{}
	nested := map[string]map[string]string{}
	for k := range form {
		rest, ok := strings.CutPrefix(k, mergesPrefix)
		if !ok {
			continue
		}
		tag, rest, ok := strings.Cut(rest, "]")
		if !ok || tag == "" || strings.ContainsAny(tag, "[]") {
			continue
		}
		v := strings.TrimSpace(form.Get(k))
		if rest == "" {
			if v != "" {
				out[tag] = v
			}
			continue
		}
		part, ok := strings.CutPrefix(rest, "[")
		if !ok {
			continue
		}
		part, ok = strings.CutSuffix(part, "]")
		if !ok || strings.ContainsAny(part, "[]") || !isAddressPart(part) {
			continue
		}
		if nested[tag] == nil {
			nested[tag] = map[string]string{}
		}
		nested[tag][part] = v
	}
	// A tag sent both ways keeps its one-string form.
	for tag, parts := range nested {
		if _, ok := out[tag]; ok {
			continue
		}
		if v := joinAddress(parts); v != "" {
			out[tag] = v
		}
	}
	return out
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrMalformed)
}
