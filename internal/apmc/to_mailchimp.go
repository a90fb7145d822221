package apmc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// toMailchimp applies an accessplanit change to Mailchimp.
func (e *Engine) toMailchimp(ctx context.Context, rec *recorder, in Instance, c Change) (outcome, error) {
	if c.Event == EventDeleted {
		return outcome{status: StatusSkipped, reason: "deletes never cascade: the Mailchimp contact is kept"}, nil
	}
	ap, err := e.Connector.Accessplanit(in)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to accessplanit: %w", err)
	}
	mc, err := e.Connector.Mailchimp(in)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to Mailchimp: %w", err)
	}

	var user User
	var gone bool
	err = rec.step("read_user", func(out map[string]any) error {
		var err error
		user, gone, err = e.currentUser(ctx, ap, c, out)
		return err
	})
	if err != nil {
		return outcome{}, err
	}
	if gone {
		return outcome{status: StatusSkipped, reason: "the accessplanit user no longer exists"}, nil
	}
	if user.Fields["Status"] == "Deleted" {
		return outcome{status: StatusSkipped, reason: "the accessplanit user is deleted; deletes never cascade, the Mailchimp contact is kept"}, nil
	}

	var values Values
	err = rec.step("map_fields", func(out map[string]any) error {
		var warnings []string
		var err error
		values, warnings, err = MapToMailchimp(in.Mappings, user)
		for _, w := range warnings {
			rec.logf("warn", "%s", w)
		}
		if err == nil {
			out["merge_fields"] = values
		}
		return err
	})
	if err != nil {
		return outcome{}, err
	}
	email := values[TagEmail]
	rec.exec.Contact = email

	var contact, previous Contact
	var moved bool
	err = rec.step("load_contact", func(out map[string]any) error {
		var err error
		contact, previous, moved, err = e.contactForUser(ctx, in.ID, email, user.ID)
		out["known"] = contact.Version > 0 || moved
		if moved {
			out["previous_email"] = previous.Email
		}
		return err
	})
	if err != nil {
		return outcome{}, err
	}

	fingerprint := values.Fingerprint()
	if i := contact.Accessplanit.echoOf(fingerprint, e.now()); i >= 0 && !moved {
		// Checked before staleness: an echo of an earlier write is older
		// than the writes made since, yet it must still be used up.
		echo := contact
		echo.Accessplanit.consumeEcho(i)
		if user.UpdatedAt.After(echo.Accessplanit.SourceTime) {
			echo.Accessplanit.SourceTime = user.UpdatedAt
		}
		err := e.saveIfNew(ctx, rec, contact, echo)
		return outcome{status: StatusSuppressed, reason: "echo of the service's own write to accessplanit"}, err
	}
	if !user.UpdatedAt.IsZero() && contact.Accessplanit.SourceTime.After(user.UpdatedAt) {
		return outcome{status: StatusSkipped, reason: fmt.Sprintf("stale change: the user changed at %s, a change from %s was already applied", user.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"), contact.Accessplanit.SourceTime.UTC().Format("2006-01-02T15:04:05Z"))}, nil
	}
	if c.User != nil && contact.Accessplanit.writtenSince(user.UpdatedAt) {
		// The service wrote to accessplanit after the User in this delivery
		// was taken (edits on both sides at once): its current state decides.
		var gone bool
		err := rec.step("read_user_again", func(out map[string]any) error {
			u, err := ap.User(ctx, user.ID)
			if errors.Is(err, ErrNotFound) {
				gone = true
				return nil
			}
			if err != nil {
				return fmt.Errorf("read accessplanit user %s: %w", user.ID, err)
			}
			user = u
			out["updated_at"] = u.UpdatedAt
			return nil
		})
		if err != nil {
			return outcome{}, err
		}
		if gone {
			return outcome{status: StatusSkipped, reason: "the accessplanit user no longer exists"}, nil
		}
		rec.logf("info", "the service wrote to accessplanit after this change was made: the User's current values are used")
		if values, _, err = MapToMailchimp(in.Mappings, user); err != nil {
			return outcome{}, err
		}
		if values[TagEmail] != email {
			return outcome{status: StatusSkipped, reason: "the User's email changed since; the change for the new address follows"}, nil
		}
		fingerprint = values.Fingerprint()
	}
	if contact.UserID != "" && contact.UserID != user.ID {
		rec.logf("warn", "accessplanit users %s and %s share the email %s; the most recent change (user %s) wins in Mailchimp", contact.UserID, user.ID, email, user.ID)
	}
	seen := contact
	seen.UserID = user.ID
	seen.Accessplanit.Values = values
	if !user.UpdatedAt.IsZero() {
		seen.Accessplanit.SourceTime = user.UpdatedAt
	}

	if !moved && contact.Mailchimp.Values.Equal(values) {
		err := e.saveIfNew(ctx, rec, contact, seen)
		return outcome{status: StatusSucceeded, reason: "no mapped field changed; nothing written to Mailchimp"}, err
	}

	// A field emptied in accessplanit is cleared in Mailchimp, not left as it was.
	write := maps.Clone(values)
	for _, m := range values.Cleared(in.Mappings, FlowToMailchimp, contact.Mailchimp.Values) {
		write[m.MergeTag] = ""
		rec.logf("info", "%s cleared: %s is empty in accessplanit", m.MergeTag, m.Field)
	}
	member := Member{Email: email, MergeFields: withoutEmail(write)}
	err = rec.step("upsert_member", func(out map[string]any) error {
		out["changed_fields"] = values.Diff(contact.Mailchimp.Values)
		var (
			m   Member
			err error
		)
		if moved {
			m, err = e.moveMember(ctx, rec, mc, in, previous.Email, member, contact.Mailchimp.Values)
		} else {
			m, err = mc.UpsertMember(ctx, in.MailchimpListID, member, in.StatusIfNew)
		}
		if err != nil {
			return fmt.Errorf("write Mailchimp member: %w", err)
		}
		out["member_id"] = m.ID
		out["status"] = m.Status
		return nil
	})
	if err != nil {
		return outcome{changed: true}, err
	}
	rec.logf("info", "Mailchimp contact %s written", email)

	seen.Mailchimp.Values = values
	seen.Mailchimp.recordWrite(fingerprint, e.now())
	err = rec.step("save_contact_state", func(map[string]any) error {
		if err := e.Contacts.SaveContact(ctx, seen); err != nil {
			return fmt.Errorf("save contact state: %w", err)
		}
		if moved {
			if err := e.Contacts.DeleteContact(ctx, in.ID, previous.Email); err != nil {
				return fmt.Errorf("remove contact state of %s: %w", previous.Email, err)
			}
		}
		return nil
	})
	return outcome{status: StatusSucceeded, changed: true}, err
}

// currentUser returns the User the change is about: from the delivery when it
// carried the whole User, otherwise read from accessplanit. gone reports that
// the User no longer exists.
func (e *Engine) currentUser(ctx context.Context, ap Accessplanit, c Change, out map[string]any) (User, bool, error) {
	if c.User != nil {
		out["source"] = "delivery"
		out["user_id"] = c.User.ID
		return *c.User, false, nil
	}
	out["source"] = "accessplanit API"
	if c.UserID != "" {
		out["user_id"] = c.UserID
		u, err := ap.User(ctx, c.UserID)
		if errors.Is(err, ErrNotFound) {
			return User{}, true, nil
		}
		if err != nil {
			return User{}, false, fmt.Errorf("read accessplanit user %s: %w", c.UserID, err)
		}
		return u, false, nil
	}
	if c.Email == "" {
		return User{}, false, Permanentf("the change names neither a user id nor an email")
	}
	users, err := ap.UsersByEmail(ctx, c.Email)
	if err != nil {
		return User{}, false, fmt.Errorf("find accessplanit users by email: %w", err)
	}
	if len(users) == 0 {
		return User{}, true, nil
	}
	out["user_id"] = users[0].ID
	if len(users) > 1 {
		out["users_with_email"] = len(users)
	}
	return users[0], false, nil
}

// contactForUser loads the contact state for email. When there is none but
// the User is linked to a contact under another email, the User's email
// changed: that contact is returned as previous and moved is true.
func (e *Engine) contactForUser(ctx context.Context, instanceID, email, userID string) (contact, previous Contact, moved bool, err error) {
	contact, err = e.Contacts.Contact(ctx, instanceID, email)
	switch {
	case err == nil:
		return contact, Contact{}, false, nil
	case !errors.Is(err, ErrNotFound):
		return Contact{}, Contact{}, false, fmt.Errorf("load contact state: %w", err)
	}
	contact = Contact{InstanceID: instanceID, Email: email}
	if userID == "" {
		return contact, Contact{}, false, nil
	}
	previous, err = e.Contacts.ContactByUserID(ctx, instanceID, userID)
	switch {
	case errors.Is(err, ErrNotFound):
		return contact, Contact{}, false, nil
	case err != nil:
		return Contact{}, Contact{}, false, fmt.Errorf("load contact state by user: %w", err)
	case previous.Email == email:
		return previous, Contact{}, false, nil
	}
	// The new email's state starts from what the old one knew.
	contact.UserID = previous.UserID
	contact.Mailchimp = previous.Mailchimp
	contact.Accessplanit = previous.Accessplanit
	return contact, previous, true, nil
}

// moveMember moves the Mailchimp member from oldEmail to the new address, or
// writes a new member when the new address is already taken there.
func (e *Engine) moveMember(ctx context.Context, rec *recorder, mc Mailchimp, in Instance, oldEmail string, m Member, before Values) (Member, error) {
	_, err := mc.Member(ctx, in.MailchimpListID, m.Email)
	switch {
	case err == nil:
		rec.logf("warn", "email changed from %s to %s, but %s is already a Mailchimp contact: updating it; %s is kept as it is", oldEmail, m.Email, m.Email, oldEmail)
		return mc.UpsertMember(ctx, in.MailchimpListID, m, in.StatusIfNew)
	case !errors.Is(err, ErrNotFound):
		return Member{}, fmt.Errorf("look up member %s: %w", m.Email, err)
	}
	moved, err := mc.ChangeEmail(ctx, in.MailchimpListID, oldEmail, m.Email)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			rec.logf("warn", "email changed from %s to %s, but %s is not in Mailchimp: creating %s", oldEmail, m.Email, oldEmail, m.Email)
			return mc.UpsertMember(ctx, in.MailchimpListID, m, in.StatusIfNew)
		}
		return Member{}, fmt.Errorf("change member email: %w", err)
	}
	rec.logf("info", "Mailchimp contact moved from %s to %s", oldEmail, m.Email)
	if withoutEmail(before).Equal(m.MergeFields) {
		return moved, nil // only the address changed: one call
	}
	return mc.UpsertMember(ctx, in.MailchimpListID, m, in.StatusIfNew)
}

// saveIfNew saves what the service learned of a contact without writing to
// either side, when it differs from what is stored.
func (e *Engine) saveIfNew(ctx context.Context, rec *recorder, stored, seen Contact) error {
	if stored.Version > 0 && stored.UserID == seen.UserID && stored.Accessplanit.Values.Equal(seen.Accessplanit.Values) &&
		slices.Equal(stored.Accessplanit.Pending, seen.Accessplanit.Pending) && slices.Equal(stored.Mailchimp.Pending, seen.Mailchimp.Pending) &&
		stored.Accessplanit.SourceTime.Equal(seen.Accessplanit.SourceTime) && stored.Mailchimp.Values.Equal(seen.Mailchimp.Values) &&
		stored.Mailchimp.SourceTime.Equal(seen.Mailchimp.SourceTime) {
		return nil
	}
	return rec.step("save_contact_state", func(map[string]any) error {
		if err := e.Contacts.SaveContact(ctx, seen); err != nil {
			return fmt.Errorf("save contact state: %w", err)
		}
		return nil
	})
}

func withoutEmail(v Values) Values {
	out := make(Values, len(v))
	for k, x := range v {
		if k != TagEmail {
			out[k] = x
		}
	}
	return out
}
