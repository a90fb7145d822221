package mailchimp

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned (wrapped) by the control methods when the audience
// or member named does not exist.
var ErrNotFound = errors.New("not found")

// memberFor returns the audience and member a control method acts on;
// s.mu is held.
func (s *Server) memberFor(listID, email string) (*list, *Member, error) {
	l, ok := s.lists[listID]
	if !ok {
		return nil, nil, fmt.Errorf("audience %s: %w", listID, ErrNotFound)
	}
	m, ok := l.members[SubscriberHash(email)]
	if !ok {
		return l, nil, fmt.Errorf("member of audience %s: %w", listID, ErrNotFound)
	}
	return l, m, nil
}

// EditMemberInUI changes merge values of a member as a person in Mailchimp does:
// source "user" for the contact on their profile page, "admin" for an
// account user in the UI. It fires profile webhooks when a value changes.
func (s *Server) EditMemberInUI(listID, email string, merges map[string]any, source string) error {
	if source != "user" && source != "admin" {
		return fmt.Errorf("edit member: source %q is neither user nor admin", source)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, m, err := s.memberFor(listID, email)
	if err != nil {
		return fmt.Errorf("edit member: %w", err)
	}
	values, aerr := l.mergeValues(m.MergeFields, merges, false)
	if aerr != nil {
		return fmt.Errorf("edit member: %s", describe(aerr))
	}
	if mergesEqual(m.MergeFields, values) {
		return nil
	}
	before := m.clone()
	m.MergeFields = values
	m.LastChanged = s.now().UTC()
	s.queueChangeEvents(l, source, &before, m, eventExtra{})
	return nil
}

// SubscribeInUI subscribes email through a sign-up form (source "user"),
// creating the member or resubscribing it, and fires subscribe webhooks.
func (s *Server) SubscribeInUI(listID, email string, merges map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lists[listID]
	if !ok {
		return fmt.Errorf("subscribe as user: audience %s: %w", listID, ErrNotFound)
	}
	hash := SubscriberHash(email)
	if m, ok := l.members[hash]; ok {
		values, aerr := l.mergeValues(m.MergeFields, merges, false)
		if aerr != nil {
			return fmt.Errorf("subscribe as user: %s", describe(aerr))
		}
		before := m.clone()
		m.MergeFields, m.Status = values, "subscribed"
		m.LastChanged = s.now().UTC()
		m.TimestampOpt = m.LastChanged
		s.queueChangeEvents(l, "user", &before, m, eventExtra{})
		return nil
	}
	if aerr := checkEmail(email); aerr != nil {
		return fmt.Errorf("subscribe as user: %s", describe(aerr))
	}
	values, aerr := l.mergeValues(nil, merges, true)
	if aerr != nil {
		return fmt.Errorf("subscribe as user: %s", describe(aerr))
	}
	now := s.now().UTC()
	delete(l.forgotten, hash)
	m := &Member{
		ID: hash, UniqueEmailID: newShortID(), ContactID: randomHex(16), WebID: s.newWebID(),
		ListID: l.id, EmailAddress: email, EmailType: "html", Status: "subscribed",
		MergeFields: values, Source: "Hosted Signup Form", IPSignup: "127.0.0.1", IPOpt: "127.0.0.1",
		TimestampSignup: now, TimestampOpt: now, LastChanged: now,
	}
	l.members[hash] = m
	l.membersChanged()
	s.queueEvent(l, "subscribe", "user", m, nil, eventExtra{})
	return nil
}

// UnsubscribeInUI unsubscribes a member: action "unsub" as the contact does
// from an email's link (source user), "delete" as an account user deleting
// the contact (source admin; the member is archived). It fires unsubscribe
// webhooks with reason "manual".
func (s *Server) UnsubscribeInUI(listID, email, action string) error {
	source, status := "user", "unsubscribed"
	switch action {
	case "unsub":
	case "delete":
		source, status = "admin", "archived"
	default:
		return fmt.Errorf("unsubscribe: action %q is neither unsub nor delete", action)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, m, err := s.memberFor(listID, email)
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if m.Status == status {
		return nil
	}
	m.Status = status
	m.UnsubscribeReason = "N/A (Unsubscribed by the contact)"
	m.LastChanged = s.now().UTC()
	s.queueEvent(l, "unsubscribe", source, m, nil, eventExtra{action: action, reason: "manual"})
	return nil
}

// ChangeEmailInUI changes a member's address as the contact does on their
// profile page (source user) and fires upemail webhooks.
func (s *Server) ChangeEmailInUI(listID, oldEmail, newEmail string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, m, err := s.memberFor(listID, oldEmail)
	if err != nil {
		return fmt.Errorf("change email: %w", err)
	}
	if aerr := checkEmail(newEmail); aerr != nil {
		return fmt.Errorf("change email: %s", describe(aerr))
	}
	newHash := SubscriberHash(newEmail)
	if newHash == m.ID {
		return nil
	}
	if _, taken := l.members[newHash]; taken {
		return fmt.Errorf("change email: %s", describe(errMemberExists(newEmail)))
	}
	before := m.clone()
	delete(l.members, m.ID)
	l.membersChanged()
	m.ID, m.EmailAddress, m.UniqueEmailID = newHash, newEmail, newShortID()
	m.LastChanged = s.now().UTC()
	l.members[newHash] = m
	l.membersChanged()
	s.queueEvent(l, "upemail", "user", m, &before, eventExtra{})
	return nil
}

// Clean marks a member cleaned after a bounce (reason "hard") or a
// complaint ("abuse") and fires cleaned webhooks. INFERRED: Mailchimp does
// not say which source a clean counts as; the simulator uses admin.
func (s *Server) Clean(listID, email, reason string) error {
	if reason != "hard" && reason != "abuse" {
		return fmt.Errorf("clean: reason %q is neither hard nor abuse", reason)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, m, err := s.memberFor(listID, email)
	if err != nil {
		return fmt.Errorf("clean: %w", err)
	}
	if m.Status == "cleaned" {
		return nil
	}
	m.Status = "cleaned"
	m.LastChanged = s.now().UTC()
	s.queueEvent(l, "cleaned", "admin", m, nil, eventExtra{reason: reason})
	return nil
}

// SetComplianceState puts email of listID in (or takes it out of)
// Mailchimp's compliance state: while in it, every API write to the member
// answers 400 "Member In Compliance State". The email need not be a member.
func (s *Server) SetComplianceState(listID, email string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lists[listID]
	if !ok {
		return fmt.Errorf("set compliance state: audience %s: %w", listID, ErrNotFound)
	}
	if on {
		l.compliance[SubscriberHash(email)] = true
	} else {
		delete(l.compliance, SubscriberHash(email))
	}
	return nil
}

// Forget permanently deletes email from listID, as a GDPR erasure does:
// the member is removed and the API refuses to add it again with 400
// "Forgotten Email Not Subscribed".
func (s *Server) Forget(listID, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lists[listID]
	if !ok {
		return fmt.Errorf("forget: audience %s: %w", listID, ErrNotFound)
	}
	hash := SubscriberHash(email)
	delete(l.members, hash)
	l.membersChanged()
	l.forgotten[hash] = true
	return nil
}

// describe renders an API problem as the text of a control error.
func describe(e *apiError) string {
	parts := []string{strings.ToLower(e.title) + ": " + e.detail}
	for _, f := range e.fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return strings.Join(parts, "; ")
}
