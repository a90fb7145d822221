package apmc

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// First sync and reconciliation decide pairs of states: the Users a platform
// holds with one email, the member the audience holds with it, and what the
// service remembers of that contact. DecidePair classifies one pair with the
// same mapping, comparison and time rules as the webhook decisions, so a
// pair is decided the same way whatever brought it.

// PairAction is what first sync would do for one contact.
type PairAction string

// The pair actions; PairActions lists them in the order plans print them.
const (
	PairCreateInMailchimp    PairAction = "create_in_mailchimp"
	PairUpdateInMailchimp    PairAction = "update_in_mailchimp"
	PairCreateInAccessplanit PairAction = "create_in_accessplanit"
	PairUpdateInAccessplanit PairAction = "update_in_accessplanit"
	PairConflict             PairAction = "conflicts"
	PairUnchanged            PairAction = "unchanged"
	PairBlocked              PairAction = "blocked"
	PairInvalid              PairAction = "invalid"
)

// PairActions are every pair action, in plan order.
var PairActions = []PairAction{PairCreateInMailchimp, PairUpdateInMailchimp, PairCreateInAccessplanit, PairUpdateInAccessplanit,
	PairConflict, PairUnchanged, PairBlocked, PairInvalid}

// ConflictWinner says which side wins when both sides hold different values
// for a contact the service has never synced.
type ConflictWinner string

// The conflict winners.
const (
	// WinnerNewest lets the side changed most recently win (the default).
	WinnerNewest       ConflictWinner = "newest"
	WinnerAccessplanit ConflictWinner = "accessplanit"
	WinnerMailchimp    ConflictWinner = "mailchimp"
)

// blockedStatuses are the member statuses first sync never writes to: the
// contact opted out, bounced or was archived, and nothing re-subscribes it.
var blockedStatuses = []string{"unsubscribed", "cleaned", "archived"}

// Pair is one contact as first sync sees it.
type Pair struct {
	// Email is the contact's address, normalised.
	Email string
	// Users are the platform's Users with that email (not deleted).
	Users []User
	// Member is the audience's member with it, if any.
	Member *Member
	// Contact is what the service remembers (Version 0: nothing).
	Contact Contact
	// MovedFrom is the address Mailchimp moved this member from (its email
	// change's webhook was lost).
	MovedFrom string
}

// PairPlan is the decision for one contact.
type PairPlan struct {
	Email  string     `json:"email"`
	UserID string     `json:"user_id,omitempty"`
	Action PairAction `json:"action"`
	// Winner is the side whose values are written to the other, for a
	// conflict.
	Winner Side   `json:"winner,omitempty"`
	Reason string `json:"reason"`
	// SharedWith are the other Users with the same email: the most recently
	// changed User is the contact, these are listed and left alone.
	SharedWith []string `json:"shared_with,omitempty"`
	// ToMailchimp are the merge values to write when the plan writes
	// Mailchimp; ToAccessplanit the User properties when it writes
	// accessplanit.
	ToMailchimp    Values            `json:"to_mailchimp,omitempty"`
	ToAccessplanit map[string]string `json:"to_accessplanit,omitempty"`
}

// Writes reports the side a plan writes to, if any.
func (p PairPlan) Writes() (Side, bool) {
	switch {
	case p.Action == PairCreateInMailchimp, p.Action == PairUpdateInMailchimp, p.Action == PairConflict && p.Winner == SideAccessplanit:
		return SideMailchimp, true
	case p.Action == PairCreateInAccessplanit, p.Action == PairUpdateInAccessplanit, p.Action == PairConflict && p.Winner == SideMailchimp:
		return SideAccessplanit, true
	}
	return "", false
}

// DecidePair classifies one contact for first sync or reconciliation. It
// plans only the directions the instance syncs and never plans a write to a
// member that opted out, bounced or was archived.
func DecidePair(in Instance, p Pair, now time.Time) PairPlan {
	out := PairPlan{Email: p.Email}
	users := slices.Clone(p.Users)
	slices.SortStableFunc(users, func(a, b User) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	var user *User
	if len(users) > 0 {
		user = &users[0]
		out.UserID = user.ID
		for _, u := range users[1:] {
			out.SharedWith = append(out.SharedWith, u.ID)
		}
	}
	toMC, toAP := in.Direction.Allows(FlowToMailchimp), in.Direction.Allows(FlowToAccessplanit)
	done := func(a PairAction, reason string) PairPlan {
		out.Action, out.Reason = a, reason
		return out
	}
	if p.Member != nil && slices.Contains(blockedStatuses, p.Member.Status) {
		return done(PairBlocked, fmt.Sprintf("the Mailchimp member is %s: it is never re-subscribed, nothing is written", p.Member.Status))
	}

	var userValues Values
	if user != nil && toMC {
		var err error
		if userValues, _, err = MapToMailchimp(in.Mappings, *user); err != nil {
			return done(PairInvalid, err.Error())
		}
	}
	var memberFields map[string]string
	var memberValues Values
	if p.Member != nil {
		memberValues = MemberValues(in.Mappings, *p.Member)
		if toAP {
			merges := maps.Clone(p.Member.MergeFields)
			if merges == nil {
				merges = Values{}
			}
			merges[TagEmail] = NormaliseEmail(p.Member.Email)
			var err error
			if memberFields, _, err = MapToAccessplanit(in.Mappings, merges); err != nil {
				return done(PairInvalid, err.Error())
			}
		}
	}

	switch {
	case user == nil && p.Member == nil:
		return done(PairUnchanged, "neither side holds the contact")
	case p.Member == nil && p.Contact.MovedTo != "":
		return done(PairUnchanged, fmt.Sprintf("Mailchimp moved this contact to %s; the old address is not added back", p.Contact.MovedTo))
	case user == nil && (p.MovedFrom != "" || p.Contact.MovedFrom != "") && in.EmailChanges() == EmailChangesIgnore:
		return done(PairUnchanged, fmt.Sprintf("Mailchimp moved this contact here from %s; the instance ignores email changes made in Mailchimp", cmp.Or(p.MovedFrom, p.Contact.MovedFrom)))
	case user == nil && p.Contact.UserID != "":
		return done(PairUnchanged, fmt.Sprintf("the linked User %s has another email now; no User is created for this address", p.Contact.UserID))
	case p.Member == nil && !toMC, user == nil && !toAP:
		return done(PairUnchanged, fmt.Sprintf("the instance syncs %s only", in.Direction))
	case p.Member == nil && !addedToMailchimp(in, *user):
		return done(PairUnchanged, "the User has not opted in to marketing and the instance adds only those who have (consent not_opted_in: skip)")
	case p.Member == nil:
		out.ToMailchimp = userValues
		return done(PairCreateInMailchimp, "the User is not in the audience")
	case user == nil:
		out.ToAccessplanit = memberFields
		return done(PairCreateInAccessplanit, "no User has the member's email")
	}

	if p.Contact.Version > 0 {
		// A permission the member withdrew in Mailchimp since the last
		// sync stays withdrawn, as on a webhook (DecideToMailchimp).
		userValues, _ = keepWithdrawnPermissions(in.Mappings, userValues, memberValues, p.Contact.Accessplanit.Values)
	}
	needMC := toMC && !userValues.Equal(memberValues)
	var changed map[string]string
	if toAP {
		changed = ChangedFields(*user, memberFields)
	}
	needAP := len(changed) > 0
	switch {
	case !needMC && !needAP:
		return done(PairUnchanged, "both sides hold the same mapped values")
	case needMC && !needAP:
		out.ToMailchimp = userValues
		return done(PairUpdateInMailchimp, fmt.Sprintf("Mailchimp differs in %v", userValues.Diff(memberValues)))
	case needAP && !needMC:
		out.ToAccessplanit = changed
		return done(PairUpdateInAccessplanit, fmt.Sprintf("accessplanit differs in %v", sortedKeys(changed)))
	}
	// Both sides differ. With sync history, the side that changed since
	// the last sync wins; without, the instance's setting decides.
	if c := p.Contact; c.Version > 0 {
		apChanged := !userValues.Equal(c.Accessplanit.Values)
		mcChanged := !memberValues.Equal(c.Mailchimp.Values)
		switch {
		case apChanged && !mcChanged:
			out.ToMailchimp = userValues
			return done(PairUpdateInMailchimp, "accessplanit changed since the last sync")
		case mcChanged && !apChanged:
			out.ToAccessplanit = changed
			return done(PairUpdateInAccessplanit, "Mailchimp changed since the last sync")
		}
	}
	out.Winner = conflictWinner(in.ConflictWinner, user.UpdatedAt, p.Member.LastChanged, now)
	if out.Winner == SideAccessplanit {
		out.ToMailchimp = userValues
	} else {
		out.ToAccessplanit = changed
	}
	return done(PairConflict, fmt.Sprintf("both sides hold different values; %s wins (conflict_winner: %s)", out.Winner, in.conflictWinner()))
}

// MemberValues are a member's values as the mappings towards Mailchimp see
// them (EMAIL included): what a User's mapped values are compared with.
func MemberValues(ms []FieldMapping, m Member) Values {
	merges := maps.Clone(m.MergeFields)
	if merges == nil {
		merges = Values{}
	}
	merges[TagEmail] = NormaliseEmail(m.Email)
	maps.Copy(merges, TargetValues(ms, m))
	return restrict(merges, ms, FlowToMailchimp)
}

// conflictWinner picks the side a conflict's values come from. With
// "newest", the times read from the APIs decide; a time later than now plus
// a small skew is unknown, so a clock ahead cannot win. A tie goes to
// accessplanit.
func conflictWinner(w ConflictWinner, userChanged, memberChanged, now time.Time) Side {
	switch w {
	case WinnerAccessplanit:
		return SideAccessplanit
	case WinnerMailchimp:
		return SideMailchimp
	}
	if storedTime(memberChanged, now).After(storedTime(userChanged, now)) {
		return SideMailchimp
	}
	return SideAccessplanit
}

// conflictWinner returns the instance's setting, "newest" when unset.
func (in Instance) conflictWinner() ConflictWinner {
	if in.ConflictWinner == "" {
		return WinnerNewest
	}
	return in.ConflictWinner
}

// PlanCounts counts plans by action; every action has a count.
func PlanCounts(plans []PairPlan) map[PairAction]int {
	out := make(map[PairAction]int, len(PairActions))
	for _, a := range PairActions {
		out[a] = 0
	}
	for _, p := range plans {
		out[p.Action]++
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
