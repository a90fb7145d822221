package apmc

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// What syncs from an accessplanit User to Mailchimp is more than its mapped
// values (group and permission mappings among them): its Tags when the
// instance syncs tags, its MarketingOptIn when it syncs consent, and its
// booking dates, which say when its delegates are read, with training
// activity. The echo of the service's write to a User is recognised by a
// fingerprint of all of them, so a staff edit of only the Tags, say, made
// while that echo is expected, carries another fingerprint than the write's
// and is synced rather than suppressed.
//
// The keys these inputs take among the fingerprinted values; no merge tag
// or mapping target can be spelt so.
const (
	echoKeyTags     = "~tags"
	echoKeyOptIn    = "~marketing_opt_in"
	echoKeyBookings = "~bookings"
)

// UserFingerprint is the fingerprint of what flows to Mailchimp from User
// u whose mapped values are values. It is computed the same way for the
// service's write to a User (from the User as the write left it) and for a
// change from accessplanit (the User a delivery claims or a read returns):
// only a change that carries all of what the write left there is its echo.
//
// An input the instance does not sync, and an empty one (no tags, no
// bookings), adds nothing, so on an instance that syncs none of them it is
// values.Fingerprint(), as before, and the contact states stored before
// stay readable as they are. A pending write stored by an earlier version
// on an instance that does sync some of them has a fingerprint without
// them, so its echo may not match: it is then read back like any change,
// which costs one accessplanit read, never a wrong write, as the User holds
// what Mailchimp was last sent.
func UserFingerprint(in Instance, values Values, u User) string {
	return echoValues(in, values, u).Fingerprint()
}

// echoValues are the values UserFingerprint digests: the mapped values and
// the User's other synced inputs under their echo keys.
func echoValues(in Instance, values Values, u User) Values {
	out := maps.Clone(values)
	if out == nil {
		out = Values{}
	}
	if in.Tags.Sync {
		// As they would be applied, compared without regard to case as
		// Mailchimp compares tag names.
		tags := ContactTags(in, u, nil)
		for i, t := range tags {
			tags[i] = strings.ToLower(t)
		}
		slices.Sort(tags)
		out[echoKeyTags] = strings.Join(tags, "\n")
	}
	if in.Consent != nil {
		out[echoKeyOptIn] = strconv.FormatBool(OptedIn(u))
	}
	if in.Activity.Enabled {
		out[echoKeyBookings] = BookingMarker(u)
	}
	return out
}

// syncedAsKnown reports whether what else flows from User u to Mailchimp
// beside its mapped values (its tags, MarketingOptIn and booking dates, as
// far as the instance syncs them) is what the contact state says the
// service last synced. A User the integration's own API user changed last
// holds nothing new only then: a staff edit of its tags, say, made just
// before the service wrote another field, is still a change.
func syncedAsKnown(in Instance, u User, c Contact) bool {
	known := c.Accessplanit.Activity
	var activityTags []string
	if in.Activity.Enabled {
		marker := ""
		if known != nil {
			marker, activityTags = known.Marker, known.Tags
		}
		if BookingMarker(u) != marker {
			return false
		}
	}
	if in.syncsTags() && !sameTags(ContactTags(in, u, activityTags), c.Mailchimp.Tags) {
		return false
	}
	return in.Consent == nil || (c.MarketingOptIn != nil && *c.MarketingOptIn == OptedIn(u))
}
