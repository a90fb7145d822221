package apmc

import (
	"fmt"
	"maps"
	"strings"
	"time"
)

// The decision core. Each direction's decision is a pure function of the
// change, the state read back from the side it came from, the contact's sync
// state (which includes what the service knows of the other side), the
// instance and the time; it returns a Plan that the engine carries out.
// Webhooks, reconciliation and first sync decide a pair of states the same
// way because they all call these functions. Nothing a delivery carried is
// an input: a delivery only names the contact to read.

// Action is what a plan asks the engine to do.
type Action string

// The actions.
const (
	// ActionSkip writes nothing; the reason says why.
	ActionSkip Action = "skip"
	// ActionSuppress writes nothing: the change is the echo of the
	// service's own write.
	ActionSuppress Action = "suppress"
	// ActionRecord writes nothing to the other side (it already holds the
	// values); the contact state learns what was read.
	ActionRecord Action = "record"
	// ActionWrite writes the plan's values to the other side.
	ActionWrite Action = "write"
	// ActionMove moves the contact to a new address on the other side: the
	// Mailchimp member (from accessplanit) or the User's email (from
	// Mailchimp), writing the plan's values too.
	ActionMove Action = "move"
	// ActionWait writes nothing yet: the change carries the values of the
	// service's own write to its side, announced but whose contact state is
	// not saved (announce.go). It is decided again once it is.
	ActionWait Action = "wait"
)

// Plan is a decision.
type Plan struct {
	Action Action
	Reason string
	// Warnings are logged with the execution.
	Warnings []string
	// Seen is the contact state to save whatever else happens; none when
	// its Email is empty.
	Seen Contact

	// Values are the source's mapped values (by merge tag); Write is what to
	// send to Mailchimp (fields emptied in accessplanit cleared).
	Values Values
	Write  Values
	// Fields are the accessplanit properties to write (emptied ones cleared).
	Fields map[string]string
	// PreviousEmail is the address the contact moves from.
	PreviousEmail string
	// StatusIfNew is the status a member created by the write gets; empty
	// means the write must not create one (the User has not opted in to
	// marketing and the instance adds only those who have).
	StatusIfNew string
	// Unsubscribe asks the write to unsubscribe the member: its User opted
	// out and the instance sends opt-outs to Mailchimp.
	Unsubscribe bool
}

// sourceTime is a time read from an API, or stored from one, limited to the
// service's clock plus a small skew: a platform whose clock runs ahead
// (or a time stored by an older version that believed a delivery) can never
// make later real changes look stale.
func sourceTime(t, now time.Time) time.Time {
	if t.After(now.Add(clockSkew)) {
		return now.UTC()
	}
	return t
}

// storedTime is a source time stored in a contact state (or compared with
// another side's), as far as it can
// be trusted: one later than the service's clock can only have come from a
// delivery an older version believed, or a clock that ran ahead, so it is
// unknown; a contact frozen that way recovers with its next real change.
func storedTime(t, now time.Time) time.Time {
	if t.After(now.Add(clockSkew)) {
		return time.Time{}
	}
	return t
}

// NoReadNeeded returns a plan for a change the engine settles without
// reading either side (deletes, unsubscribes, cleaned addresses, events
// that are not synced), and false for a change that needs its source read.
func NoReadNeeded(c Change) (Plan, bool) {
	switch c.Source {
	case SideAccessplanit:
		if c.Event == EventDeleted {
			return Plan{Action: ActionSkip, Reason: "deletes never cascade: the Mailchimp contact is kept"}, true
		}
		return Plan{}, false
	}
	switch c.Event {
	case EventSubscribe, EventProfile, EventUpEmail:
		return Plan{}, false
	case EventUnsubscribe:
		if c.Action == "delete" {
			return Plan{Action: ActionSkip, Reason: "deletes never cascade: the accessplanit user is kept"}, true
		}
		return Plan{Action: ActionSkip, Reason: "unsubscribes never flow to accessplanit"}, true
	case EventCleaned:
		return Plan{Action: ActionSkip, Reason: "cleaned addresses never flow to accessplanit"}, true
	}
	return Plan{Action: ActionSkip, Reason: fmt.Sprintf("Mailchimp %s events are not synced", c.Event)}, true
}

// ClaimedEcho reports whether a delivery claims to be the echo of one of the
// service's pending writes to its side, and if so returns the plan that
// suppresses it (or, when the claim is the values of a write announced and
// still in flight, the plan that waits for its state). It is the one decision taken from a delivery's values, and
// it is safe: believing the claim can only make the service write nothing
// and forget the pending write it names. A forged claim therefore costs the
// real echo a read, never a write; a real change carries other values and
// is read back as usual. It spares the read of the source for the service's
// own echoes, which are as many as its writes.
func ClaimedEcho(in Instance, c Change, contact Contact, now time.Time) (Plan, bool) {
	var side *SideState
	var claimed Values
	switch {
	case c.Source == SideMailchimp && (c.Event == EventSubscribe || c.Event == EventProfile):
		merges := maps.Clone(c.Merges)
		if merges == nil {
			merges = Values{}
		}
		merges[TagEmail] = NormaliseEmail(c.Email)
		claimed, side = restrict(merges, in.Mappings, FlowToMailchimp), &contact.Mailchimp
	case c.Source == SideAccessplanit && c.User != nil && c.Event != EventDeleted:
		values, _, err := MapToMailchimp(in.Mappings, *c.User)
		if err != nil {
			return Plan{}, false
		}
		claimed, side = echoValues(in, values, *c.User), &contact.Accessplanit
	default:
		return Plan{}, false
	}
	fp := claimed.Fingerprint()
	i := side.echoOf(fp, now)
	if i < 0 {
		if side.inFlight(fp, now) {
			return waitPlan(c.Source), true
		}
		return Plan{}, false
	}
	side.consumeEcho(i)
	return Plan{Action: ActionSuppress, Reason: fmt.Sprintf("echo of the service's own write to %s", c.Source), Seen: contact}, true
}

// ToMailchimpInput is what an accessplanit change is decided from.
type ToMailchimpInput struct {
	Instance Instance
	// User is the User as read from accessplanit; Found is false when it
	// does not exist.
	User  User
	Found bool
	// Contact is the state under the User's current email (Version 0: none).
	Contact Contact
	// Previous is the state of the contact under its former email, when the
	// User is linked to one under another address (its email changed).
	Previous *Contact
	Now      time.Time
}

// DecideToMailchimp decides what an accessplanit User's current state means
// for Mailchimp. Its error is permanent: the User cannot be mapped.
func DecideToMailchimp(in ToMailchimpInput) (Plan, error) {
	u, now := in.User, in.Now
	if !in.Found {
		return Plan{Action: ActionSkip, Reason: "the accessplanit user no longer exists"}, nil
	}
	if u.Fields["Status"] == "Deleted" {
		return Plan{Action: ActionSkip, Reason: "the accessplanit user is deleted; deletes never cascade, the Mailchimp contact is kept"}, nil
	}
	values, warnings, err := MapToMailchimp(in.Instance.Mappings, u)
	if err != nil {
		return Plan{}, err
	}
	contact := in.Contact
	moved := in.Previous != nil
	read := sourceTime(u.UpdatedAt, now)
	known := storedTime(contact.Accessplanit.SourceTime, now)

	if i := contact.Accessplanit.echoOf(UserFingerprint(in.Instance, values, u), now); i >= 0 && !moved {
		// Checked before staleness: an echo of an earlier write is older
		// than the writes made since, yet it must still be used up.
		echo := contact
		echo.Accessplanit.consumeEcho(i)
		echo.Accessplanit.SourceTime = later(known, read)
		return Plan{Action: ActionSuppress, Reason: "echo of the service's own write to accessplanit", Seen: echo, Values: values}, nil
	}
	if contact.Accessplanit.inFlight(UserFingerprint(in.Instance, values, u), now) && !moved {
		return waitPlan(SideAccessplanit), nil
	}
	seen := contact
	seen.UserID = u.ID
	seen.Accessplanit.Values = values
	seen.Accessplanit.SourceTime = later(known, read)
	seen.Accessplanit.noteUser(u, in.Instance.AccessplanitUserID)
	optedIn := OptedIn(u)
	if in.Instance.Consent != nil {
		seen.MarketingOptIn = &optedIn
	}
	unsubscribe := OptOutToMailchimp(in.Instance.Consent, contact.MarketingOptIn, optedIn)
	if contact.MovedTo != "" && !moved {
		return Plan{Action: ActionSkip, Reason: fmt.Sprintf("Mailchimp moved this contact to %s; the old address is not added back", contact.MovedTo), Seen: seen}, nil
	}
	// What Mailchimp is to hold; the User's values but for a marketing
	// permission withdrawn in Mailchimp since the User last changed it.
	values, kept := keepWithdrawnPermissions(in.Instance.Mappings, values, contact.Mailchimp.Values, contact.Accessplanit.Values)
	for _, tag := range kept {
		warnings = append(warnings, fmt.Sprintf("%s stays withdrawn: the member withdrew it in Mailchimp, and the User has not given it again in accessplanit since", tag))
	}
	// The integration's own API user last changed the User, and it holds what
	// Mailchimp holds: an echo. (A User it changed that holds more — an edit
	// made while the service wrote another field — is a change.)
	if owner := in.Instance.AccessplanitUserID; owner != "" && u.UpdatedByID == owner && !moved && values.Equal(contact.Mailchimp.Values) && syncedAsKnown(in.Instance, u, contact) {
		return Plan{Action: ActionSuppress, Reason: "the User was last changed by the integration's own API user: it holds nothing new", Seen: seen, Values: values}, nil
	}
	if !read.IsZero() && known.After(read) {
		return Plan{Action: ActionSkip, Reason: fmt.Sprintf("stale read: the user changed at %s, a change from %s was already applied", stamp(read), stamp(known))}, nil
	}
	if contact.UserID != "" && contact.UserID != u.ID {
		warnings = append(warnings, fmt.Sprintf("accessplanit users %s and %s share the email %s; the most recent change (user %s) wins in Mailchimp", contact.UserID, u.ID, values[TagEmail], u.ID))
	}
	if !moved && !unsubscribe && contact.Mailchimp.Values.Equal(values) {
		return Plan{Action: ActionRecord, Reason: "no mapped field changed; nothing written to Mailchimp", Seen: seen, Values: values, Warnings: warnings}, nil
	}
	// Only what differs from what Mailchimp is known to hold is written (and
	// the names Mailchimp needs), so a concurrent edit of another field in
	// Mailchimp is not reverted; a moved or new member gets every value.
	write := maps.Clone(values)
	if !moved && contact.Version > 0 {
		write = Values{}
		for _, tag := range values.Diff(contact.Mailchimp.Values) {
			write[tag] = values[tag]
		}
		for _, tag := range []string{TagEmail, TagFirstName, TagLastName} {
			if v, ok := values[tag]; ok {
				write[tag] = v
			}
		}
	}
	// A field emptied in accessplanit is cleared in Mailchimp, not left as it was.
	for _, m := range values.Cleared(in.Instance.Mappings, FlowToMailchimp, contact.Mailchimp.Values) {
		write[m.MergeTag] = ""
		warnings = append(warnings, fmt.Sprintf("%s cleared: %s is empty in accessplanit", m.MergeTag, m.Field))
	}
	p := Plan{Action: ActionWrite, Seen: seen, Values: values, Write: write, Warnings: warnings, Unsubscribe: unsubscribe}
	if status, add := NewMemberStatus(in.Instance.Consent, in.Instance.StatusIfNew, optedIn); add {
		p.StatusIfNew = status
	}
	if moved {
		p.Action = ActionMove
		p.PreviousEmail = in.Previous.Email
	}
	return p, nil
}

// ToAccessplanitInput is what a Mailchimp subscribe or profile change is
// decided from.
type ToAccessplanitInput struct {
	Instance Instance
	// Member is the member as read from Mailchimp; Found is false when the
	// audience does not hold the address.
	Member Member
	Found  bool
	// Email is the address the change named (lower-cased).
	Email   string
	Contact Contact
	Now     time.Time
}

// DecideToAccessplanit decides what a Mailchimp member's current state means
// for accessplanit. A write plan's Fields still have to be compared with the
// User they are written to (ChangedFields): the User is found only when the
// plan says a write may be needed. Its error is permanent.
func DecideToAccessplanit(in ToAccessplanitInput) (Plan, error) {
	now := in.Now
	if !in.Found {
		return Plan{Action: ActionSkip, Reason: fmt.Sprintf("Mailchimp does not hold %s: nothing is written", in.Email)}, nil
	}
	if in.Contact.MovedFrom != "" && in.Instance.EmailChanges() == EmailChangesIgnore {
		return Plan{Action: ActionSkip, Reason: fmt.Sprintf("Mailchimp moved this contact here from %s, and the instance ignores email changes made in Mailchimp: nothing is written to accessplanit", in.Contact.MovedFrom)}, nil
	}
	email := NormaliseEmail(in.Member.Email)
	if email == "" {
		email = in.Email
	}
	merges := maps.Clone(in.Member.MergeFields)
	if merges == nil {
		merges = Values{}
	}
	merges[TagEmail] = email
	maps.Copy(merges, TargetValues(in.Instance.Mappings, in.Member))
	values := restrict(merges, in.Instance.Mappings, FlowToMailchimp)
	contact := in.Contact
	read := sourceTime(in.Member.LastChanged, now)
	known := storedTime(contact.Mailchimp.SourceTime, now)

	if i := contact.Mailchimp.echoOf(values.Fingerprint(), now); i >= 0 {
		echo := contact
		echo.Mailchimp.consumeEcho(i)
		echo.Mailchimp.SourceTime = later(known, read)
		if in.Member.ContactID != "" {
			echo.MemberContactID = in.Member.ContactID
		}
		return Plan{Action: ActionSuppress, Reason: "echo of the service's own write to Mailchimp", Seen: echo, Values: values}, nil
	}
	if contact.Mailchimp.inFlight(values.Fingerprint(), now) {
		return waitPlan(SideMailchimp), nil
	}
	if !read.IsZero() && known.After(read) {
		return Plan{Action: ActionSkip, Reason: fmt.Sprintf("stale read: the member changed at %s, a change from %s was already applied", stamp(read), stamp(known))}, nil
	}
	seen := contact
	seen.Mailchimp.Values = values
	seen.Mailchimp.SourceTime = later(known, read)
	if s := in.Member.Status; s != "unsubscribed" && s != "cleaned" {
		// An unsubscribe or cleaned address is remembered only once applied
		// (statusToAccessplanit), so that reconciliation repairs one whose
		// webhook was lost.
		seen.Mailchimp.Status = s
	}
	if in.Member.ContactID != "" {
		seen.MemberContactID = in.Member.ContactID
	}
	fields, warnings, err := MapToAccessplanit(in.Instance.Mappings, merges)
	if err != nil {
		return Plan{}, err
	}
	if contact.Version > 0 {
		// Only what differs from what accessplanit is known to hold flows
		// back: a member holding exactly that brings nothing new (the late
		// echo of a write, a repeated delivery), and a concurrent edit of
		// another field in accessplanit is not reverted. A mapping that only
		// flows to accessplanit has no known value, so it always counts.
		known := contact.Accessplanit.Values
		for _, m := range in.Instance.Mappings {
			if m.allows(FlowToAccessplanit) && m.allows(FlowToMailchimp) && values[m.MergeTag] == known[m.MergeTag] {
				delete(fields, m.Field)
			}
		}
		if len(fields) == 0 && len(merges.Cleared(in.Instance.Mappings, FlowToAccessplanit, contact.Mailchimp.Values)) == 0 {
			return Plan{Action: ActionRecord, Reason: "the member holds what accessplanit is known to hold; nothing written to accessplanit", Seen: seen, Values: values, Warnings: warnings}, nil
		}
	}
	// A field emptied in Mailchimp is cleared in accessplanit.
	for _, m := range merges.Cleared(in.Instance.Mappings, FlowToAccessplanit, contact.Mailchimp.Values) {
		fields[m.Field] = ""
		warnings = append(warnings, fmt.Sprintf("%s cleared: %s is empty in Mailchimp", m.Field, m.MergeTag))
	}
	return Plan{Action: ActionWrite, Seen: seen, Values: values, Fields: fields, Warnings: warnings}, nil
}

// EmailChangeInput is what a Mailchimp email change is decided from: both
// addresses as the audience holds them now, and the contact states.
type EmailChangeInput struct {
	Instance           Instance
	OldEmail, NewEmail string
	// OldMember/OldFound and NewMember/NewFound are read from Mailchimp.
	OldMember Member
	OldFound  bool
	NewMember Member
	NewFound  bool
	// Contact is the state under the old address; NewContact under the new.
	Contact    Contact
	NewContact Contact
	// LinkedUserEmail is the email of the User linked to NewContact, when
	// the engine read it (to recognise the echo of its own move).
	LinkedUserEmail string
}

// DecideEmailChange decides a Mailchimp email change. The change is applied
// only when Mailchimp confirms it: the old address is no longer in the
// audience, the new one is, and it holds the person that was linked to the
// old one (the member's contact_id, which stays with the person when the
// address changes). A move plan names the User to change in Seen.UserID.
func DecideEmailChange(in EmailChangeInput) (Plan, error) {
	if in.OldEmail == "" || in.NewEmail == "" {
		return Plan{}, Permanentf("the email change names no old or no new address")
	}
	if p, settled := SettleEmailChange(in); settled {
		return p, nil
	}
	switch {
	case in.OldFound:
		return Plan{Action: ActionSkip, Reason: fmt.Sprintf("not confirmed by Mailchimp: the audience still holds the old address %s; nothing is written", in.OldEmail)}, nil
	case !in.NewFound:
		return Plan{Action: ActionSkip, Reason: fmt.Sprintf("not confirmed by Mailchimp: the audience does not hold the new address %s; nothing is written", in.NewEmail)}, nil
	case in.Contact.MemberContactID == "":
		return Plan{Action: ActionSkip, Reason: fmt.Sprintf("the service has not yet seen the Mailchimp contact id of %s: the change cannot be confirmed, nothing is written", in.OldEmail)}, nil
	case in.NewMember.ContactID != in.Contact.MemberContactID:
		return Plan{Action: ActionSkip, Reason: fmt.Sprintf("not confirmed by Mailchimp: the member at %s is not the contact that was at %s; nothing is written", in.NewEmail, in.OldEmail)}, nil
	}
	// Not followed: the old address has left the audience and is never
	// added back for the old User.
	left := in.Contact
	left.MovedTo = in.NewEmail
	switch in.Instance.EmailChanges() {
	case EmailChangesIgnore:
		return Plan{Action: ActionSkip, Reason: "the instance is set to ignore email changes made in Mailchimp (mailchimp_email_changes: ignore); the User keeps its email", Seen: left}, nil
	case EmailChangesNewUser:
		return Plan{Action: ActionWrite, Reason: "the new address is a new User (mailchimp_email_changes: new_user); the old User keeps its email", Seen: left, PreviousEmail: in.OldEmail}, nil
	}
	seen := in.Contact
	seen.Email = in.NewEmail
	seen.Version = in.NewContact.Version
	seen.MemberContactID = in.NewMember.ContactID
	mv := maps.Clone(in.Contact.Mailchimp.Values)
	if mv == nil {
		mv = Values{}
	}
	mv[TagEmail] = in.NewEmail
	seen.Mailchimp.Values = mv
	return Plan{Action: ActionMove, Seen: seen, PreviousEmail: in.OldEmail}, nil
}

// SettleEmailChange decides, from the contact states alone, the email
// changes whatever Mailchimp holds could not alter: the echo of the
// service's own move, and a change of an old address no synced contact is
// linked to, which is skipped. Such a change needs no Mailchimp read, so
// upemails forged for addresses the service never synced cost none of the
// account's connections. settled is false when Mailchimp must confirm the
// change (DecideEmailChange, once both members are read).
func SettleEmailChange(in EmailChangeInput) (p Plan, settled bool) {
	if in.Contact.Version == 0 && in.NewContact.UserID != "" && in.LinkedUserEmail == in.NewEmail {
		// The service's own move of a member (after an email change in
		// accessplanit) comes back as an upemail: the state is already at
		// the new address, linked to a User that has it.
		return Plan{Action: ActionSuppress, Reason: "echo of the service's own email change in Mailchimp"}, true
	}
	if in.Contact.Version == 0 || in.Contact.UserID == "" {
		return Plan{Action: ActionSkip, Reason: fmt.Sprintf("no synced contact is linked to the old address %s: the change cannot be confirmed, nothing is written", in.OldEmail)}, true
	}
	return Plan{}, false
}

// ChangedFields returns the fields whose value differs from the User's: the
// write an accessplanit plan needs, none when the User already holds them.
func ChangedFields(u User, fields map[string]string) map[string]string {
	out := map[string]string{}
	for f, v := range fields {
		cur := strings.TrimSpace(u.Fields[f])
		if f == FieldEmail {
			cur = NormaliseEmail(cur)
		}
		if cur == v {
			continue
		}
		if a, ok := parseDate(cur); ok {
			if b, ok := parseDate(v); ok && a.Equal(b) {
				continue
			}
		}
		out[f] = v
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// keepWithdrawnPermissions returns the values to hold in Mailchimp: values,
// except that a marketing permission the member withdrew in Mailchimp
// (known there as "false") while the User's value stayed "true" since the
// last sync keeps Mailchimp's "false" — an unrelated edit of the User must
// not give consent again on the person's behalf. A User whose value has
// changed to "true" since (consent given again in accessplanit) grants it.
// kept lists the permissions kept withdrawn.
//
// held is what Mailchimp is known to hold, was what the User held at the
// last sync (the contact state's sides, or for a pair read from both sides,
// the member read and the state's accessplanit side).
func keepWithdrawnPermissions(ms []FieldMapping, values, held, was Values) (Values, []string) {
	var kept []string
	out := values
	for _, m := range ms {
		tag := m.MergeTag
		if !m.IsPermission() || values[tag] != "true" || held[tag] != "false" {
			continue
		}
		if prev, ok := was[tag]; !ok || prev != "true" {
			continue // given (again) in accessplanit since the last sync
		}
		if len(kept) == 0 {
			out = maps.Clone(values)
		}
		out[tag] = "false"
		kept = append(kept, tag)
	}
	return out, kept
}
