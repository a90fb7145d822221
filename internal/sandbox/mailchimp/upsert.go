package mailchimp

import (
	"fmt"
	"maps"
	"strings"
)

// memberInput is the body of PUT and PATCH on a member, and one entry of a
// batch subscribe. Pointers tell an absent field from an empty one.
type memberInput struct {
	EmailAddress *string         `json:"email_address"`
	EmailType    *string         `json:"email_type"`
	Status       *string         `json:"status"`
	StatusIfNew  *string         `json:"status_if_new"`
	MergeFields  map[string]any  `json:"merge_fields"`
	IPSignup     *string         `json:"ip_signup"`
	IPOpt        *string         `json:"ip_opt"`
	Language     *string         `json:"language"`
	VIP          *bool           `json:"vip"`
	Interests    map[string]bool `json:"interests"`
	// MarketingPermissions are answers to GDPR marketing permissions (PUT
	// and PATCH only: a batch subscribe takes none).
	MarketingPermissions []struct {
		ID      string `json:"marketing_permission_id"`
		Enabled bool   `json:"enabled"`
	} `json:"marketing_permissions"`
	// Tags are tag names to add (batch subscribe only).
	Tags []string `json:"tags"`
}

// writeMode is how a write treats the member it names.
type writeMode int

const (
	modePut   writeMode = iota // create or update
	modePatch                  // update only; may change the email
	modeBatch                  // create, or update when update_existing
)

// writeStatuses are the statuses a client may set.
var writeStatuses = []string{"subscribed", "unsubscribed", "cleaned", "pending", "transactional"}

// writeMember applies in to the member hash of l as Mailchimp would and
// queues the webhook events the change fires with source api. It returns
// the member after the write and whether it was created. s.mu is held.
func (s *Server) writeMember(l *list, hash string, in memberInput, mode writeMode, skipMergeValidation bool) (*Member, bool, *apiError) {
	existing := l.members[hash]
	email := ""
	if in.EmailAddress != nil {
		email = strings.TrimSpace(*in.EmailAddress)
	}
	newHash := hash
	switch {
	case mode == modePatch && existing == nil:
		return nil, false, errNotFound()
	case mode == modePatch && email != "" && SubscriberHash(email) != hash:
		if e := checkEmail(email); e != nil {
			return nil, false, e
		}
		newHash = SubscriberHash(email)
		if _, taken := l.members[newHash]; taken {
			return nil, false, errMemberExists(email)
		}
	case mode == modePut && email != "" && SubscriberHash(email) != hash:
		return nil, false, errInvalid(FieldError{Field: "email_address", Message: "The email address does not match the subscriber hash in the URL."})
	case existing == nil && email == "":
		return nil, false, errInvalid(FieldError{Field: "email_address", Message: "This value should not be blank."})
	}
	if existing == nil {
		if e := checkEmail(email); e != nil {
			return nil, false, e
		}
	}
	if l.compliance[hash] {
		return nil, false, errComplianceState(displayEmail(existing, email))
	}
	if existing != nil && in.Status != nil && *in.Status == "subscribed" && (existing.Status == "unsubscribed" || existing.Status == "cleaned") {
		// Mailchimp does not let an API call re-subscribe a person who
		// unsubscribed or whose address bounced: only the person can, by
		// signing up again (pending, its confirmation email, is allowed).
		return nil, false, errComplianceState(existing.EmailAddress)
	}
	if mode == modeBatch {
		// The batch subscribe's members take no marketing_permissions (the
		// published schema has none); like any property a schema does not
		// have, it is ignored.
		in.MarketingPermissions = nil
	}
	if existing == nil && l.forgotten[hash] {
		return nil, false, errForgotten(email)
	}

	// INFERRED (Mailchimp documents neither way): an archived member is a
	// member that exists, so status_if_new, which applies only to a member a
	// write creates, does not unarchive it: the write updates its fields and
	// it stays archived, as the answer's status says. Only an explicit
	// status unarchives it (integrators report a PATCH with status
	// subscribed does). So a sync that never sends status never brings an
	// archived contact back.
	status := ""
	switch {
	case existing == nil && in.StatusIfNew != nil:
		status = *in.StatusIfNew
	case in.Status != nil:
		status = *in.Status
	}
	if existing == nil && status == "" {
		return nil, false, errInvalid(FieldError{Field: "status", Message: "This value should not be blank."})
	}
	if status != "" && !contains(writeStatuses, status) {
		return nil, false, errInvalid(FieldError{Field: "status", Message: fmt.Sprintf("The value %q is not a valid status.", status)})
	}
	if in.EmailType != nil && *in.EmailType != "html" && *in.EmailType != "text" {
		return nil, false, errInvalid(FieldError{Field: "email_type", Message: "email_type must be html or text."})
	}

	var current map[string]any
	if existing != nil {
		current = existing.MergeFields
	}
	merges, aerr := l.mergeValues(current, in.MergeFields, existing == nil && !skipMergeValidation)
	if aerr != nil {
		return nil, false, aerr
	}

	now := s.now().UTC()
	if existing == nil {
		m := &Member{
			ID:              hash,
			UniqueEmailID:   newShortID(),
			ContactID:       randomHex(16),
			WebID:           s.newWebID(),
			ListID:          l.id,
			EmailAddress:    email,
			EmailType:       "html",
			Status:          status,
			MergeFields:     merges,
			Source:          "API - Generic",
			TimestampSignup: now,
			LastChanged:     now,
		}
		applyOptional(m, in)
		if aerr := l.applyTargets(m, in); aerr != nil {
			return nil, false, aerr
		}
		if status == "subscribed" {
			m.TimestampOpt = now
		}
		l.members[hash] = m
		l.membersChanged()
		if status == "subscribed" {
			s.queueEvent(l, "subscribe", "api", m, nil, eventExtra{})
		}
		return m, true, nil
	}

	before := existing.clone()
	targets := existing.clone()
	if aerr := l.applyTargets(&targets, in); aerr != nil {
		return nil, false, aerr
	}
	m := existing
	m.Interests, m.MarketingPermissions = targets.Interests, targets.MarketingPermissions
	if status != "" {
		m.Status = status
	}
	m.MergeFields = merges
	applyOptional(m, in)
	if newHash != hash {
		delete(l.members, hash)
		l.membersChanged()
		m.ID = newHash
		m.EmailAddress = email
		m.UniqueEmailID = newShortID()
		l.members[newHash] = m
		l.membersChanged()
	}
	changed := newHash != hash || before.Status != m.Status || before.EmailType != m.EmailType ||
		!mergesEqual(before.MergeFields, m.MergeFields) || !targetsEqual(&before, m)
	if !changed {
		return m, false, nil
	}
	m.LastChanged = now
	if m.Status == "subscribed" && before.Status != "subscribed" {
		m.TimestampOpt = now
	}
	s.queueChangeEvents(l, "api", &before, m, eventExtra{action: "unsub", reason: "manual"})
	return m, false, nil
}

// applyOptional copies the optional scalar fields of in onto m.
func applyOptional(m *Member, in memberInput) {
	if in.EmailType != nil {
		m.EmailType = *in.EmailType
	}
	if in.IPSignup != nil {
		m.IPSignup = *in.IPSignup
	}
	if in.IPOpt != nil {
		m.IPOpt = *in.IPOpt
	}
	if in.Language != nil {
		m.Language = *in.Language
	}
	if in.VIP != nil {
		m.VIP = *in.VIP
	}
}

func displayEmail(m *Member, email string) string {
	if m != nil {
		return m.EmailAddress
	}
	return email
}

// mergesEqual reports whether two sets of stored merge values are the same.
func mergesEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok {
			return false
		}
		aa, aIsAddr := av.(map[string]string)
		ba, bIsAddr := bv.(map[string]string)
		switch {
		case aIsAddr && bIsAddr:
			if !maps.Equal(aa, ba) {
				return false
			}
		case aIsAddr != bIsAddr || av != bv:
			return false
		}
	}
	return true
}

// queueChangeEvents queues what Mailchimp fires when a member changes from
// before to after: upemail for a new address, subscribe, unsubscribe or
// cleaned for a status change (with extra's action and reason), otherwise
// profile. s.mu is held.
func (s *Server) queueChangeEvents(l *list, source string, before, after *Member, extra eventExtra) {
	if before.EmailAddress != after.EmailAddress {
		s.queueEvent(l, "upemail", source, after, before, eventExtra{})
		if before.Status == after.Status && mergesEqual(before.MergeFields, after.MergeFields) {
			return
		}
	}
	switch {
	case before.Status != after.Status && after.Status == "subscribed":
		s.queueEvent(l, "subscribe", source, after, nil, eventExtra{})
	case before.Status != after.Status && after.Status == "unsubscribed":
		s.queueEvent(l, "unsubscribe", source, after, nil, extra)
	case before.Status != after.Status && after.Status == "cleaned":
		s.queueEvent(l, "cleaned", source, after, nil, extra)
	default:
		s.queueEvent(l, "profile", source, after, nil, eventExtra{})
	}
}
