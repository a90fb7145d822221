package apmc

import (
	"fmt"
	"maps"
	"strings"
	"time"
)

// FieldMarketingOptIn is the accessplanit User's marketing consent flag.
const FieldMarketingOptIn = "MarketingOptIn"

// NotOptedIn is what happens to a User who has not opted in to marketing
// and is not yet a Mailchimp member.
type NotOptedIn string

// The settings for Users who have not opted in.
const (
	// NotOptedInTransactional adds them as transactional members: they
	// receive no marketing. The default.
	NotOptedInTransactional NotOptedIn = "transactional"
	// NotOptedInSkip does not add them at all; members that exist are
	// still updated.
	NotOptedInSkip NotOptedIn = "skip"
)

// Consent is how an instance syncs marketing consent (accessplanit's
// MarketingOptIn). Nil on an instance means consent is not synced: new
// members get the instance's StatusIfNew.
type Consent struct {
	// DoubleOptIn gives opted-in Users the status pending, so Mailchimp
	// sends its confirmation email, instead of subscribed.
	DoubleOptIn bool `json:"double_opt_in,omitempty"`
	// NotOptedIn says what Users who have not opted in become; empty means
	// NotOptedInTransactional.
	NotOptedIn NotOptedIn `json:"not_opted_in,omitempty"`
	// OptoutsToMailchimp unsubscribes the member when its User opts out in
	// accessplanit (true → false). Nothing ever subscribes anyone again.
	OptoutsToMailchimp bool `json:"optouts_to_mailchimp,omitempty"`
	// OptoutsToAccessplanit clears MarketingOptIn when the member
	// unsubscribes in Mailchimp.
	OptoutsToAccessplanit bool `json:"optouts_to_accessplanit,omitempty"`
}

// notOptedIn returns the setting, NotOptedInTransactional when unset.
func (c Consent) notOptedIn() NotOptedIn {
	if c.NotOptedIn == "" {
		return NotOptedInTransactional
	}
	return c.NotOptedIn
}

// validate lists what is wrong with the settings.
func (c Consent) validate() []string {
	switch c.NotOptedIn {
	case "", NotOptedInTransactional, NotOptedInSkip:
		return nil
	}
	return []string{fmt.Sprintf("consent not_opted_in %q must be %s or %s", c.NotOptedIn, NotOptedInTransactional, NotOptedInSkip)}
}

// OptedIn reads a User's MarketingOptIn: true only for a true flag.
func OptedIn(u User) bool { return flagValue(u.Fields[FieldMarketingOptIn]) }

// flagValue reads a boolean property as accessplanit (and people) write one.
func flagValue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "y":
		return true
	}
	return false
}

// NewMemberStatus is the status a User becomes when it is added to Mailchimp
// (Mailchimp's status_if_new; an existing member's status is never changed
// by it), and whether it is added at all. Without consent settings it is
// the instance's StatusIfNew.
func NewMemberStatus(c *Consent, statusIfNew string, optedIn bool) (status string, add bool) {
	switch {
	case c == nil:
		return statusIfNew, true
	case optedIn && c.DoubleOptIn:
		return "pending", true
	case optedIn:
		return "subscribed", true
	case c.notOptedIn() == NotOptedInSkip:
		return "", false
	}
	return "transactional", true
}

// OptOutToMailchimp reports whether the User's consent, now optedIn and
// before as last seen (nil: never seen), is an opt-out that unsubscribes the
// member: only a change from true to false, and only with
// optouts_to_mailchimp. An opt-in never subscribes anyone.
func OptOutToMailchimp(c *Consent, before *bool, optedIn bool) bool {
	return c != nil && c.OptoutsToMailchimp && before != nil && *before && !optedIn
}

// RememberOptIn is the contact with its User's MarketingOptIn remembered,
// as the live sync remembers it when it reads the User: only when the
// instance syncs consent, so that the User's next opt-out (true → false) is
// recognised. A remembered true the User has since cleared is an opt-out
// not yet sent to Mailchimp: it is kept, for the live sync or
// reconciliation to apply.
func RememberOptIn(in Instance, c Contact, u User) Contact {
	optedIn := OptedIn(u)
	if in.Consent == nil || OptOutToMailchimp(in.Consent, c.MarketingOptIn, optedIn) {
		return c
	}
	c.MarketingOptIn = &optedIn
	return c
}

// RemembersOptIn reports whether the contact already remembers what
// RememberOptIn would make it remember.
func RemembersOptIn(in Instance, c Contact, u User) bool {
	return sameOptIn(c.MarketingOptIn, RememberOptIn(in, c, u).MarketingOptIn)
}

// OptOutToAccessplanit reports whether a member, as read from Mailchimp,
// clears its User's MarketingOptIn: only an unsubscribed member, with
// optouts_to_accessplanit, only a User that is opted in, only when the
// contact state has not recorded the member unsubscribed already (applied
// is its Mailchimp status: an unsubscribe the service applied cleared the
// opt-in, so a User opted in now was opted in again since, and a member
// still unsubscribed says nothing new), and not when the User changed
// after the member last did: the User may have opted in again
// after an old unsubscribe (a replayed or forged unsubscribe delivery must
// not undo that). The platform gives only the User's DateUpdated, not when
// MarketingOptIn itself changed, so any later change of the User counts: an
// opt-out made while the User was being edited is left to the person
// rather than a newer opt-in overwritten. Times later than now (plus the
// clock skew allowed) are unknown, and an unknown time does not hold the
// opt-out back. Mailchimp's last_changed has whole seconds, so a User
// changed within the unsubscribe's second is not newer.
func OptOutToAccessplanit(c *Consent, m Member, u User, applied string, now time.Time) bool {
	if c == nil || !c.OptoutsToAccessplanit || m.Status != "unsubscribed" || applied == "unsubscribed" || !OptedIn(u) {
		return false
	}
	unsubscribed, userChanged := storedTime(m.LastChanged, now), storedTime(u.UpdatedAt, now)
	return unsubscribed.IsZero() || userChanged.IsZero() || !userChanged.Truncate(time.Second).After(unsubscribed.Truncate(time.Second))
}

// noteUser records in the accessplanit side when the User as read was last
// changed by someone other than the integration's own API user (owner).
func (s *SideState) noteUser(u User, owner string) {
	if u.UpdatedAt.IsZero() || owner != "" && u.UpdatedByID == owner {
		return
	}
	s.OthersChangedAt = later(s.OthersChangedAt, u.UpdatedAt.UTC())
}

// othersChanged is the User as far as a time check of its consent goes:
// when the service's own API user changed it last, the time someone else
// did, if the contact state knows it. The service writes MarketingOptIn
// only to clear it, so its own change never opts anyone in again, and an
// unsubscribe made before it must still clear the opt-in.
func othersChanged(u User, owner string, s SideState) User {
	if owner != "" && u.UpdatedByID == owner && !s.OthersChangedAt.IsZero() && s.OthersChangedAt.Before(u.UpdatedAt) {
		u.UpdatedAt = s.OthersChangedAt
	}
	return u
}

// permissionValue is a permission mapping's value from an accessplanit
// flag: "true" or "false" (an unset flag is no consent).
func permissionValue(raw string) string {
	if flagValue(raw) {
		return "true"
	}
	return "false"
}

// TargetValues are a member's group and marketing permission values as the
// mappings see them, to compare with a User's mapped values.
func TargetValues(ms []FieldMapping, m Member) Values {
	out := Values{}
	for _, x := range ms {
		switch {
		case x.IsGroup() && x.Group != nil:
			if v := memberGroupValue(*x.Group, m.Interests); v != "" {
				out[x.MergeTag] = v
			}
		case x.IsPermission():
			if enabled, ok := m.MarketingPermissions[x.PermissionID()]; ok {
				out[x.MergeTag] = fmt.Sprint(enabled)
			}
		}
	}
	return out
}

// MemberToWrite is the member a write sends for a plan's values: merge
// fields for merge tags (EMAIL left out: it is the identity), the interests
// of each group that changed (every interest of that category, and no
// other's) and the marketing permissions that changed.
func MemberToWrite(ms []FieldMapping, email string, write Values) Member {
	m := Member{Email: email, MergeFields: Values{}}
	for tag, v := range write {
		if tag == TagEmail {
			continue
		}
		i := mappingIndex(ms, tag)
		switch {
		case i >= 0 && ms[i].IsGroup():
			if ms[i].Group == nil {
				continue
			}
			if m.Interests == nil {
				m.Interests = map[string]bool{}
			}
			for id, on := range groupInterests(*ms[i].Group, v) {
				m.Interests[id] = on
			}
		case i >= 0 && ms[i].IsPermission():
			if m.MarketingPermissions == nil {
				m.MarketingPermissions = map[string]bool{}
			}
			m.MarketingPermissions[ms[i].PermissionID()] = v == "true"
		default:
			m.MergeFields[tag] = v
		}
	}
	return m
}

func mappingIndex(ms []FieldMapping, tag string) int {
	for i, m := range ms {
		if m.MergeTag == tag {
			return i
		}
	}
	return -1
}

// sameOptIn reports whether two remembered consents are the same.
func sameOptIn(a, b *bool) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// addedToMailchimp reports whether a User who is not a member yet is added
// to the audience at all.
func addedToMailchimp(in Instance, u User) bool {
	_, add := NewMemberStatus(in.Consent, in.StatusIfNew, OptedIn(u))
	return add
}

// sameWrite reports whether two writes send the same merge fields, interests
// and marketing permissions.
func sameWrite(a, b Member) bool {
	return a.MergeFields.Equal(b.MergeFields) && maps.Equal(a.Interests, b.Interests) && maps.Equal(a.MarketingPermissions, b.MarketingPermissions)
}
