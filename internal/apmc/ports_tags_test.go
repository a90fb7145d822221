package apmc

import (
	"context"
	"slices"
	"strings"
	"time"
)

// UpdateTags sets tags on the in-memory member, as Mailchimp does: an active
// tag is added once (names compare without case) and keeps its date_added
// when the member carries it already, an inactive one is removed. Each call
// is one second of Mailchimp's clock after the last. A member not in the
// audience is answered as the client answers Mailchimp's 404 (goneError).
func (m *memMailchimp) UpdateTags(_ context.Context, _ string, email string, tags []TagChange) (time.Time, error) {
	m.writes++
	m.tagWrites = append(m.tagWrites, tags)
	if err := m.next(); err != nil {
		return time.Time{}, err
	}
	mem, ok := m.members[email]
	if !ok {
		return time.Time{}, goneError{}
	}
	at := m.tick()
	for _, t := range tags {
		i := slices.IndexFunc(mem.Tags, func(x string) bool { return strings.EqualFold(x, t.Name) })
		switch {
		case t.Active && i < 0:
			mem.Tags = append(mem.Tags, t.Name)
			m.setTagDate(email, t.Name, at)
		case !t.Active && i >= 0:
			mem.Tags = slices.Delete(mem.Tags, i, i+1)
		}
	}
	m.members[email] = mem
	if err := m.lostAnswer; err != nil {
		m.lostAnswer = nil
		return time.Time{}, err
	}
	return at, nil
}

// MemberTags lists the in-memory member's tags with their dates; a member
// not in the audience is answered as UpdateTags answers it.
func (m *memMailchimp) MemberTags(_ context.Context, _ string, email string) ([]MemberTag, error) {
	m.reads++
	m.tagReads++
	if err := m.next(); err != nil {
		return nil, err
	}
	mem, ok := m.members[email]
	if !ok {
		return nil, goneError{}
	}
	var out []MemberTag
	for _, t := range mem.Tags {
		out = append(out, MemberTag{Name: t, Added: m.tagDates[email][strings.ToLower(t)]})
	}
	return out, nil
}

// tagInUI adds a tag to the in-memory member as a marketer does in
// Mailchimp (nothing when it carries it already).
func (m *memMailchimp) tagInUI(email, tag string) {
	mem := m.members[email]
	if slices.ContainsFunc(mem.Tags, func(x string) bool { return strings.EqualFold(x, tag) }) {
		return
	}
	mem.Tags = append(slices.Clone(mem.Tags), tag)
	m.members[email] = mem
	m.setTagDate(email, tag, m.tick())
}

// tick advances Mailchimp's clock by one second and returns it.
func (m *memMailchimp) tick() time.Time {
	if m.clock.IsZero() {
		m.clock = t0
	}
	m.clock = m.clock.Add(time.Second)
	return m.clock
}

func (m *memMailchimp) setTagDate(email, tag string, at time.Time) {
	if m.tagDates == nil {
		m.tagDates = map[string]map[string]time.Time{}
	}
	if m.tagDates[email] == nil {
		m.tagDates[email] = map[string]time.Time{}
	}
	m.tagDates[email][strings.ToLower(tag)] = at
}

func (a *memAccessplanit) Delegates(_ context.Context, userID string) ([]Delegate, error) {
	a.reads++
	if err := a.next(); err != nil {
		return nil, err
	}
	return slices.Clone(a.delegates[userID]), nil
}

// DelegatesOfUsers answers the delegates of many Users in one request, as
// the client's one $filter of "UserID eq … or …" terms does.
func (a *memAccessplanit) DelegatesOfUsers(_ context.Context, userIDs []string) ([]Delegate, int, error) {
	a.reads++
	a.delegateBatchReads++
	if err := a.next(); err != nil {
		return nil, 1, err
	}
	var out []Delegate
	for _, id := range userIDs {
		out = append(out, a.delegates[id]...)
	}
	return out, 1, nil
}
