package apmc

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// TagSettings say whether an instance syncs the accessplanit User's Tags
// to the Mailchimp member's tags.
type TagSettings struct {
	// Sync turns tag sync on.
	Sync bool `json:"sync,omitempty"`
	// Prefix is put before the name of every tag the service applies
	// (the User's tags and the training activity tags), so a marketer can
	// tell them from their own; empty means none.
	Prefix string `json:"prefix,omitempty"`
}

// maxTagBytes bounds a tag name (Mailchimp keeps tag names short; 100
// bytes is its limit for a tag's name).
const maxTagBytes = 100

// validate lists what is wrong with the settings.
func (s TagSettings) validate() []string {
	if len(s.Prefix) > 50 {
		return []string{fmt.Sprintf("tags prefix %.20q… is longer than 50 bytes", s.Prefix)}
	}
	if strings.ContainsAny(s.Prefix, ",\n\r") {
		return []string{fmt.Sprintf("tags prefix %q may not hold a comma or a line break", s.Prefix)}
	}
	return nil
}

// TagChange sets one tag of a member active or inactive.
type TagChange struct {
	Name   string `json:"name"`
	Active bool   `json:"active"`
}

// TagInput is what the tag decision is made from.
type TagInput struct {
	// Desired are the tags the contact should carry, as Mailchimp names
	// them (prefix included).
	Desired []string
	// Current are the member's tags as read from Mailchimp; CurrentKnown is
	// false when the member was not read (then nothing is known of them).
	Current      []string
	CurrentKnown bool
	// Managed are the tags the service applied to the member and has not
	// taken off since (Contact.Mailchimp.Tags).
	Managed []string
}

// TagPlan is the tag decision.
type TagPlan struct {
	// Add are the tags to set active, Remove those to set inactive.
	Add, Remove []string
	// Managed are the tags the service holds as applied after the write.
	Managed []string
}

// Changes are the plan's writes, in one list (added first).
func (p TagPlan) Changes() []TagChange {
	out := make([]TagChange, 0, len(p.Add)+len(p.Remove))
	for _, t := range p.Add {
		out = append(out, TagChange{Name: t, Active: true})
	}
	for _, t := range p.Remove {
		out = append(out, TagChange{Name: t})
	}
	return out
}

// NeedsCurrent reports whether the member's tags must be read before the
// decision: a desired tag the service does not manage yet may already have
// been added by someone in Mailchimp, and such a tag is never taken over.
func NeedsCurrent(desired, managed []string) bool {
	for _, t := range desired {
		if !containsTag(managed, t) {
			return true
		}
	}
	return false
}

// DecideTags decides the tag writes for a member. It sets inactive only tags
// the service applied itself (Managed): a tag someone added in Mailchimp is
// never taken off, even one with the name of a tag the service would apply,
// and a desired tag the member already carries without the service having
// applied it stays the marketer's. Tag names compare without regard to case,
// as Mailchimp compares them.
func DecideTags(in TagInput) TagPlan {
	var p TagPlan
	desired := uniqueTags(in.Desired)
	for _, t := range desired {
		switch {
		case containsTag(in.Managed, t):
			// Applied before: set again when someone took it off.
			if in.CurrentKnown && !containsTag(in.Current, t) {
				p.Add = append(p.Add, t)
			}
			p.Managed = append(p.Managed, t)
		case in.CurrentKnown && containsTag(in.Current, t):
			// Someone else's tag of the same name: left theirs.
		default:
			p.Add = append(p.Add, t)
			p.Managed = append(p.Managed, t)
		}
	}
	for _, t := range uniqueTags(in.Managed) {
		if containsTag(desired, t) {
			continue
		}
		if in.CurrentKnown && !containsTag(in.Current, t) {
			continue // already gone from the member
		}
		p.Remove = append(p.Remove, t)
	}
	return p
}

// ContactTags are the tags a contact should carry: the User's own tags, when
// the instance syncs them, and the training activity tags, each with the
// instance's prefix, in order, each once.
func ContactTags(in Instance, user User, activity []string) []string {
	var names []string
	if in.Tags.Sync {
		names = append(names, user.Tags...)
	}
	names = append(names, activity...)
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		out = append(out, truncateText(in.Tags.Prefix+n, maxTagBytes))
	}
	return uniqueTags(out)
}

// FieldTags is the User property holding its tags.
const FieldTags = "Tags"

// WithTagsField adds Tags to the User properties a read asks for, when the
// instance syncs them.
func WithTagsField(in Instance, fields []string) []string {
	if in.Tags.Sync && !slices.Contains(fields, FieldTags) {
		fields = append(slices.Clone(fields), FieldTags)
	}
	return fields
}

// syncsTags reports whether the instance manages any member tags.
func (in Instance) syncsTags() bool { return in.Tags.Sync || in.Activity.Enabled }

func containsTag(list []string, t string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, t) })
}

// uniqueTags keeps the first of tags that compare equal.
func uniqueTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if !containsTag(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// sameTags reports whether two tag lists hold the same tags.
func sameTags(a, b []string) bool {
	a, b = uniqueTags(a), uniqueTags(b)
	if len(a) != len(b) {
		return false
	}
	for _, t := range a {
		if !containsTag(b, t) {
			return false
		}
	}
	return true
}

// truncateText cuts s to at most n bytes at a character boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
