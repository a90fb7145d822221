package apmc

import (
	"fmt"
	"slices"
	"strings"
	"time"
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

// MemberTag is one of a member's tags as Mailchimp lists them
// (GET …/members/{hash}/tags).
type MemberTag struct {
	Name string
	// Added is the tag's date_added: when it was last added to the member
	// (zero when the answer gave none). ASSUMPTION (see the mailchimp
	// client): adding a tag the member carries already keeps this date.
	Added time.Time
}

// ManagedTag is a tag the service applied to a member and has not taken
// off since.
type ManagedTag struct {
	Name string
	// AppliedAt is when the service applied it, by Mailchimp's clock and
	// no later than the date_added Mailchimp gave it, when it was applied
	// without knowing whether the member carried it already: it is the
	// service's only while its date_added is not earlier. Zero means the
	// member was known not to carry it when the service applied it (or the
	// state was stored before these times were kept, when the service
	// applied only such tags): any date_added is the service's, or later.
	AppliedAt time.Time
}

// TagInput is what the tag decision is made from.
type TagInput struct {
	// Desired are the tags the contact should carry, as Mailchimp names
	// them (prefix included).
	Desired []string
	// Current are the member's tags as read from Mailchimp; CurrentKnown is
	// false when the member was not read (then nothing is known of them).
	// CurrentDated says Current came from the member's tags list, with
	// each tag's date_added (a member answer gives names only).
	Current      []MemberTag
	CurrentKnown bool
	CurrentDated bool
	// Managed are the tags the service applied to the member and has not
	// taken off since (Contact.Mailchimp.Tags and TagsAppliedAt).
	Managed []ManagedTag
	// Since is set when an earlier attempt of the change may have applied
	// tags already (its answer lost, or its state not saved): a time no
	// later than that attempt's writes. A desired tag the member is known
	// to carry may then be the service's own: the member's dated tags tell
	// (NeedsTagDates), and it is the service's if Mailchimp added it at
	// Since or later. A tag added blind again is stamped no later than
	// Since. Zero on a first attempt.
	Since time.Time
	// Prefix is the instance's tag prefix. A tag under a prefix that is not
	// empty is the service's once it applied it: the prefix names the tags
	// the service manages, so one it applied without knowing the member's
	// tags is taken off without reading their dates first.
	Prefix string
}

// owns reports whether the tag, once the service applied it, is the
// service's by its name: it is under the instance's prefix.
func (in TagInput) owns(name string) bool {
	return in.Prefix != "" && len(name) >= len(in.Prefix) && strings.EqualFold(name[:len(in.Prefix)], in.Prefix)
}

// TagPlan is the tag decision.
type TagPlan struct {
	// Add are the tags to set active, Remove those to set inactive.
	Add, Remove []string
	// Blind are the tags of Add whose presence on the member is not known:
	// they are managed from the time of the write (Stamp).
	Blind []string
	// Managed are the tags the service holds as applied after the write;
	// those of Blind have no AppliedAt yet.
	Managed []ManagedTag
	// Disowned are managed tags no longer desired that the member's dated
	// tags show a marketer added before the service: left on the member,
	// no longer managed.
	Disowned []string
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

// Stamp returns the managed tags after the plan's write, which Mailchimp
// applied at (its own clock, no later than the date_added it gave them):
// the tags added blind are the service's from then on.
func (p TagPlan) Stamp(at time.Time) []ManagedTag {
	out := slices.Clone(p.Managed)
	for i := range out {
		if containsTag(p.Blind, out[i].Name) {
			out[i].AppliedAt = at.UTC().Truncate(time.Second)
		}
	}
	return out
}

// NeedsTagDates reports whether the member's tags must be read, with their
// dates, before the decision: a managed tag to take off that was applied
// blind is the service's only if Mailchimp added it no earlier than the
// service applied it (a marketer's tag of the same name keeps its earlier
// date). Additions need no read: they are written blind.
func NeedsTagDates(in TagInput) bool {
	if in.CurrentDated {
		return false
	}
	if !in.Since.IsZero() && in.CurrentKnown {
		// A retry: is a desired tag the member carries its own lost write?
		current := currentNames(in.Current)
		for _, t := range in.Desired {
			if _, managed := managedTag(in.Managed, t); !managed && containsTag(current, t) {
				return true
			}
		}
	}
	for _, m := range in.Managed {
		if m.AppliedAt.IsZero() || in.owns(m.Name) || containsTag(in.Desired, m.Name) {
			continue
		}
		if !in.CurrentKnown || containsTag(currentNames(in.Current), m.Name) {
			return true
		}
	}
	return false
}

// DecideTags decides the tag writes for a member. It sets inactive only tags
// the service applied itself: a tag someone added in Mailchimp is never
// taken off, even one with the name of a tag the service applies. A desired
// tag is added without a read (blind) when the member's tags are not known;
// one the member is known to carry already stays the marketer's, unless on
// a retry (Since) the member's dated tags show it added since: the
// service's own write, its answer lost. A managed
// tag applied blind is taken off only when the member's dated tags show
// Mailchimp added it no earlier than the service applied it; without them
// (NeedsTagDates) it is left as it is. A tag under the instance's prefix is
// the service's once applied: it is added and taken off without a read, and
// the dates are not asked for. A dated read also settles the managed tags
// still desired: one Mailchimp added no earlier than the service applied it
// is the service's from then on, so taking it off later needs no read. Tag
// names compare without regard to case, as Mailchimp compares them.
func DecideTags(in TagInput) TagPlan {
	var p TagPlan
	current := currentNames(in.Current)
	desired := uniqueTags(in.Desired)
	for _, t := range desired {
		m, managed := managedTag(in.Managed, t)
		switch {
		case managed && in.CurrentKnown && !containsTag(current, t):
			// Applied before, someone took it off: set again, onto a
			// member known not to carry it.
			p.Add = append(p.Add, t)
			p.Managed = append(p.Managed, ManagedTag{Name: t})
		case managed:
			m.Name = t
			if in.owns(t) || in.CurrentDated && addedSince(in.Current, m) {
				m.AppliedAt = time.Time{}
			}
			p.Managed = append(p.Managed, m)
		case in.CurrentDated && containsTag(current, t) && !in.Since.IsZero() && addedSince(in.Current, ManagedTag{Name: t, AppliedAt: in.Since}):
			// Added by an earlier attempt of this change, its answer lost.
			p.Managed = append(p.Managed, ManagedTag{Name: t})
		case in.CurrentKnown && containsTag(current, t):
			// Someone else's tag of the same name: left theirs.
		case in.CurrentKnown:
			p.Add = append(p.Add, t)
			p.Managed = append(p.Managed, ManagedTag{Name: t})
		case in.owns(t):
			p.Add = append(p.Add, t)
			p.Managed = append(p.Managed, ManagedTag{Name: t})
		default:
			p.Add = append(p.Add, t)
			p.Blind = append(p.Blind, t)
			p.Managed = append(p.Managed, ManagedTag{Name: t})
		}
	}
	for _, m := range uniqueManaged(in.Managed) {
		if containsTag(desired, m.Name) {
			continue
		}
		i := slices.IndexFunc(in.Current, func(c MemberTag) bool { return strings.EqualFold(c.Name, m.Name) })
		switch {
		case in.CurrentKnown && i < 0:
			// Already gone from the member.
		case m.AppliedAt.IsZero() || in.owns(m.Name):
			p.Remove = append(p.Remove, m.Name)
		case !in.CurrentDated:
			// Applied blind and not known to be the service's: kept, to
			// be decided with the member's dated tags.
			p.Managed = append(p.Managed, m)
		case addedSince(in.Current, m):
			p.Remove = append(p.Remove, m.Name)
		default:
			// Added before the service applied it: a marketer's tag,
			// left theirs and no longer managed.
			p.Disowned = append(p.Disowned, m.Name)
		}
	}
	return p
}

// addedSince reports whether the member's dated tags show the managed tag
// m added no earlier than the service applied it: the service's.
func addedSince(current []MemberTag, m ManagedTag) bool {
	i := slices.IndexFunc(current, func(c MemberTag) bool { return strings.EqualFold(c.Name, m.Name) })
	return i >= 0 && !current[i].Added.IsZero() && !current[i].Added.Before(m.AppliedAt)
}

// ManagedTags are the tags the service applied to the contact's member,
// with when it applied them.
func ManagedTags(s SideState) []ManagedTag {
	out := make([]ManagedTag, 0, len(s.Tags))
	for _, t := range s.Tags {
		out = append(out, ManagedTag{Name: t, AppliedAt: s.TagsAppliedAt[t].UTC()})
	}
	return out
}

// withManagedTags returns s holding tags as the managed ones.
func (s SideState) withManagedTags(tags []ManagedTag) SideState {
	s.Tags, s.TagsAppliedAt = nil, nil
	for _, t := range tags {
		s.Tags = append(s.Tags, t.Name)
		if !t.AppliedAt.IsZero() {
			if s.TagsAppliedAt == nil {
				s.TagsAppliedAt = map[string]time.Time{}
			}
			s.TagsAppliedAt[t.Name] = t.AppliedAt.UTC()
		}
	}
	return s
}

// sameManagedTags reports whether two side states manage the same tags,
// applied at the same times.
func sameManagedTags(a, b SideState) bool {
	return slices.EqualFunc(ManagedTags(a), ManagedTags(b), func(x, y ManagedTag) bool {
		return x.Name == y.Name && x.AppliedAt.Equal(y.AppliedAt)
	})
}

func managedTag(list []ManagedTag, t string) (ManagedTag, bool) {
	i := slices.IndexFunc(list, func(m ManagedTag) bool { return strings.EqualFold(m.Name, t) })
	if i < 0 {
		return ManagedTag{}, false
	}
	return list[i], true
}

// uniqueManaged keeps the first of managed tags whose names compare equal.
func uniqueManaged(list []ManagedTag) []ManagedTag {
	var out []ManagedTag
	for _, m := range list {
		if _, ok := managedTag(out, m.Name); !ok {
			out = append(out, m)
		}
	}
	return out
}

// memberTagNames are the names of a member's tags, as a member answer
// gives them (no dates).
func memberTagNames(names []string) []MemberTag {
	out := make([]MemberTag, 0, len(names))
	for _, n := range names {
		out = append(out, MemberTag{Name: n})
	}
	return out
}

func currentNames(tags []MemberTag) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, t.Name)
	}
	return out
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
