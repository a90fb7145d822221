package apmc

import (
	"context"
	"slices"
	"strings"
)

// UpdateTags sets tags on the in-memory member, as Mailchimp does: an active
// tag is added once (names compare without case), an inactive one removed.
func (m *memMailchimp) UpdateTags(_ context.Context, _ string, email string, tags []TagChange) error {
	m.writes++
	m.tagWrites = append(m.tagWrites, tags)
	if err := m.next(); err != nil {
		return err
	}
	mem, ok := m.members[email]
	if !ok {
		return ErrNotFound
	}
	for _, t := range tags {
		i := slices.IndexFunc(mem.Tags, func(x string) bool { return strings.EqualFold(x, t.Name) })
		switch {
		case t.Active && i < 0:
			mem.Tags = append(mem.Tags, t.Name)
		case !t.Active && i >= 0:
			mem.Tags = slices.Delete(mem.Tags, i, i+1)
		}
	}
	m.members[email] = mem
	return nil
}

func (a *memAccessplanit) Delegates(_ context.Context, userID string) ([]Delegate, error) {
	a.reads++
	if err := a.next(); err != nil {
		return nil, err
	}
	return slices.Clone(a.delegates[userID]), nil
}
