package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// contactStates finds the contact state of a User or member: from all the
// instance's states read at once (a full run), or one at a time (an
// incremental run, which reads few).
type contactStates struct {
	store      Contacts
	instanceID string
	// all, when read, holds every state by email and by User ID.
	all    map[string]*apmc.Contact
	linked map[string]*apmc.Contact
}

func (s Service) states(ctx context.Context, instanceID string, all bool) (contactStates, error) {
	st := contactStates{store: s.Contacts, instanceID: instanceID}
	if !all {
		return st, nil
	}
	st.all, st.linked = map[string]*apmc.Contact{}, map[string]*apmc.Contact{}
	err := s.Contacts.EachContact(ctx, instanceID, func(c apmc.Contact) error {
		st.all[c.Email] = &c
		if c.UserID != "" {
			st.linked[c.UserID] = &c
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read contact states: %w", err)
	}
	return st, nil
}

// byUser returns the state linked to the User, else the one under its
// email; nil when there is none.
func (st contactStates) byUser(ctx context.Context, u apmc.User) (*apmc.Contact, error) {
	if st.all != nil {
		if c, ok := st.linked[u.ID]; ok {
			return c, nil
		}
		return st.all[u.Email()], nil
	}
	c, err := st.store.ContactByUserID(ctx, st.instanceID, u.ID)
	if err == nil {
		return &c, nil
	}
	if !errors.Is(err, apmc.ErrNotFound) {
		return nil, fmt.Errorf("read the contact of user %s: %w", u.ID, err)
	}
	if u.Email() == "" {
		return nil, nil
	}
	return st.byEmail(ctx, u.Email())
}

// byEmail returns the state under the email; nil when there is none.
func (st contactStates) byEmail(ctx context.Context, email string) (*apmc.Contact, error) {
	if st.all != nil {
		return st.all[email], nil
	}
	c, err := st.store.Contact(ctx, st.instanceID, email)
	switch {
	case errors.Is(err, apmc.ErrNotFound), err == nil && c.Version == 0:
		// None, or only a write announced by the sync: no state yet.
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the contact of %s: %w", email, err)
	}
	return &c, nil
}
