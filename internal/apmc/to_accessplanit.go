package apmc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
)

// toAccessplanit applies a Mailchimp change to accessplanit.
func (e *Engine) toAccessplanit(ctx context.Context, rec *recorder, in Instance, c Change) (outcome, error) {
	switch c.Event {
	case EventSubscribe, EventProfile:
	case EventUpEmail:
		return e.emailChanged(ctx, rec, in, c)
	case EventUnsubscribe:
		if c.Action == "delete" {
			return outcome{status: StatusSkipped, reason: "deletes never cascade: the accessplanit user is kept"}, nil
		}
		return outcome{status: StatusSkipped, reason: "unsubscribes never flow to accessplanit"}, nil
	case EventCleaned:
		return outcome{status: StatusSkipped, reason: "cleaned addresses never flow to accessplanit"}, nil
	default:
		return outcome{status: StatusSkipped, reason: fmt.Sprintf("Mailchimp %s events are not synced", c.Event)}, nil
	}
	ap, err := e.Connector.Accessplanit(in)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to accessplanit: %w", err)
	}
	email := NormaliseEmail(c.Email)
	merges := maps.Clone(c.Merges)
	if merges == nil {
		merges = Values{}
	}
	merges[TagEmail] = email
	seenValues := restrict(merges, in.Mappings, FlowToMailchimp)

	contact, err := e.loadContact(ctx, rec, in.ID, email)
	if err != nil {
		return outcome{}, err
	}
	if i := contact.Mailchimp.echoOf(seenValues.Fingerprint(), e.now()); i >= 0 {
		// Checked before staleness: an echo of an earlier write is older
		// than the writes made since, yet it must still be used up.
		echo := contact
		echo.Mailchimp.consumeEcho(i)
		if c.OccurredAt.After(echo.Mailchimp.SourceTime) {
			echo.Mailchimp.SourceTime = c.OccurredAt
		}
		err := e.saveIfNew(ctx, rec, contact, echo)
		return outcome{status: StatusSuppressed, reason: "echo of the service's own write to Mailchimp"}, err
	}
	if !c.OccurredAt.IsZero() && contact.Mailchimp.SourceTime.After(c.OccurredAt) {
		return outcome{status: StatusSkipped, reason: fmt.Sprintf("stale change: fired at %s, a change from %s was already applied", c.OccurredAt.UTC().Format("2006-01-02T15:04:05Z"), contact.Mailchimp.SourceTime.UTC().Format("2006-01-02T15:04:05Z"))}, nil
	}
	if contact.Mailchimp.writtenSince(c.OccurredAt) {
		// The service wrote to Mailchimp after this change was made (edits
		// on both sides at once): the delivery's values may be overwritten
		// already, so the member's current values decide.
		var gone bool
		err := rec.step("read_member", func(out map[string]any) error {
			mc, err := e.Connector.Mailchimp(in)
			if err != nil {
				return fmt.Errorf("connect to Mailchimp: %w", err)
			}
			m, err := mc.Member(ctx, in.MailchimpListID, email)
			if errors.Is(err, ErrNotFound) {
				gone = true
				return nil
			}
			if err != nil {
				return fmt.Errorf("read Mailchimp member: %w", err)
			}
			merges = maps.Clone(m.MergeFields)
			if merges == nil {
				merges = Values{}
			}
			merges[TagEmail] = email
			out["merge_fields"] = restrict(merges, in.Mappings, FlowToAccessplanit)
			return nil
		})
		if err != nil {
			return outcome{}, err
		}
		if gone {
			return outcome{status: StatusSkipped, reason: "the contact is no longer in Mailchimp"}, nil
		}
		rec.logf("info", "the service wrote to Mailchimp after this change was made: the member's current values are used")
		seenValues = restrict(merges, in.Mappings, FlowToMailchimp)
	}
	seen := contact
	seen.Mailchimp.Values = seenValues
	if !c.OccurredAt.IsZero() {
		seen.Mailchimp.SourceTime = c.OccurredAt
	}

	var fields map[string]string
	err = rec.step("map_fields", func(out map[string]any) error {
		var warnings []string
		var err error
		fields, warnings, err = MapToAccessplanit(in.Mappings, merges)
		for _, w := range warnings {
			rec.logf("warn", "%s", w)
		}
		if err != nil {
			return err
		}
		// A field emptied in Mailchimp is cleared in accessplanit.
		for _, m := range merges.Cleared(in.Mappings, FlowToAccessplanit, contact.Mailchimp.Values) {
			fields[m.Field] = ""
			rec.logf("info", "%s cleared: %s is empty in Mailchimp", m.Field, m.MergeTag)
		}
		out["fields"] = fields
		return nil
	})
	if err != nil {
		return outcome{}, err
	}

	var user User
	var found bool
	err = rec.step("find_user", func(out map[string]any) error {
		var err error
		user, found, err = e.findUser(ctx, rec, ap, contact, email)
		out["found"] = found
		if found {
			out["user_id"] = user.ID
		}
		return err
	})
	if err != nil {
		return outcome{}, err
	}

	var after User
	if found {
		changed := changedFields(user, fields)
		if len(changed) == 0 {
			seen.UserID = user.ID
			seen.Accessplanit.Values, _, _ = MapToMailchimp(in.Mappings, user)
			err := e.saveIfNew(ctx, rec, contact, seen)
			return outcome{status: StatusSucceeded, reason: "no mapped field changed; nothing written to accessplanit"}, err
		}
		err = rec.step("update_user", func(out map[string]any) error {
			out["user_id"] = user.ID
			out["changed_fields"] = changed
			if err := ap.UpdateUser(ctx, user.ID, changed); err != nil {
				return fmt.Errorf("update accessplanit user %s: %w", user.ID, err)
			}
			return nil
		})
		if err != nil {
			return outcome{changed: true}, err
		}
		after = user
		after.Fields = maps.Clone(user.Fields)
		maps.Copy(after.Fields, changed)
		rec.logf("info", "accessplanit user %s updated", user.ID)
	} else {
		err = rec.step("create_user", func(out map[string]any) error {
			create := maps.Clone(fields)
			create["MainCompanyID"] = in.DefaultCompanyID
			created, err := ap.CreateUser(ctx, create)
			if err != nil {
				return fmt.Errorf("create accessplanit user: %w", err)
			}
			out["user_id"] = created.ID
			after = created
			if after.Fields == nil {
				after.Fields = create
			}
			return nil
		})
		if err != nil {
			return outcome{changed: true}, err
		}
		rec.logf("info", "accessplanit user %s created in account %s", after.ID, in.DefaultCompanyID)
	}

	written, _, _ := MapToMailchimp(in.Mappings, after)
	seen.UserID = after.ID
	seen.Accessplanit.Values = written
	seen.Accessplanit.recordWrite(written.Fingerprint(), e.now())
	err = rec.step("save_contact_state", func(map[string]any) error {
		if err := e.Contacts.SaveContact(ctx, seen); err != nil {
			return fmt.Errorf("save contact state: %w", err)
		}
		return nil
	})
	return outcome{status: StatusSucceeded, changed: true}, err
}

// findUser finds the accessplanit User for a Mailchimp contact: the linked
// User first, else by email (the most recently changed one wins).
func (e *Engine) findUser(ctx context.Context, rec *recorder, ap Accessplanit, contact Contact, email string) (User, bool, error) {
	if contact.UserID != "" {
		u, err := ap.User(ctx, contact.UserID)
		switch {
		case err == nil && u.Fields["Status"] != "Deleted":
			return u, true, nil
		case err == nil || errors.Is(err, ErrNotFound):
			rec.logf("warn", "linked accessplanit user %s no longer exists; looking the contact up by email", contact.UserID)
		default:
			return User{}, false, fmt.Errorf("read accessplanit user %s: %w", contact.UserID, err)
		}
	}
	users, err := ap.UsersByEmail(ctx, email)
	if err != nil {
		return User{}, false, fmt.Errorf("find accessplanit users by email: %w", err)
	}
	var live []User
	for _, u := range users {
		if u.Fields["Status"] != "Deleted" {
			live = append(live, u)
		}
	}
	if len(live) == 0 {
		return User{}, false, nil
	}
	if len(live) > 1 {
		rec.logf("warn", "%d accessplanit users have the email %s; updating the most recently changed one (%s)", len(live), email, live[0].ID)
	}
	return live[0], true, nil
}

// emailChanged applies a Mailchimp email change to the linked User.
func (e *Engine) emailChanged(ctx context.Context, rec *recorder, in Instance, c Change) (outcome, error) {
	oldEmail, newEmail := NormaliseEmail(c.OldEmail), NormaliseEmail(c.NewEmail)
	if oldEmail == "" || newEmail == "" {
		return outcome{}, Permanentf("the email change names no old or no new address")
	}
	ap, err := e.Connector.Accessplanit(in)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to accessplanit: %w", err)
	}
	contact, err := e.loadContact(ctx, rec, in.ID, oldEmail)
	if err != nil {
		return outcome{}, err
	}
	if contact.Version == 0 {
		// The service's own move of a member (after an email change in
		// accessplanit) comes back as an upemail: the state is already at
		// the new address, linked to a User that has it.
		if moved, err := e.Contacts.Contact(ctx, in.ID, newEmail); err == nil && moved.UserID != "" {
			u, err := ap.User(ctx, moved.UserID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return outcome{}, fmt.Errorf("read accessplanit user %s: %w", moved.UserID, err)
			}
			if err == nil && u.Email() == newEmail {
				return outcome{status: StatusSuppressed, reason: "echo of the service's own email change in Mailchimp"}, nil
			}
		}
	}
	var user User
	var found bool
	err = rec.step("find_user", func(out map[string]any) error {
		var err error
		user, found, err = e.findUser(ctx, rec, ap, contact, oldEmail)
		out["found"] = found
		return err
	})
	if err != nil {
		return outcome{}, err
	}
	if !found {
		return outcome{status: StatusSkipped, reason: fmt.Sprintf("no accessplanit user has the old email %s", oldEmail)}, nil
	}
	if user.Email() == newEmail {
		return outcome{status: StatusSucceeded, reason: "the accessplanit user already has the new email"}, nil
	}
	after := user
	after.Fields = maps.Clone(user.Fields)
	after.Fields[FieldEmail] = newEmail
	written, _, _ := MapToMailchimp(in.Mappings, after)
	moved := contact
	moved.Email = newEmail
	moved.Version = 0
	moved.UserID = user.ID
	moved.Accessplanit.Values = written
	moved.Accessplanit.recordWrite(written.Fingerprint(), e.now())
	mv := maps.Clone(contact.Mailchimp.Values)
	if mv == nil {
		mv = Values{}
	}
	mv[TagEmail] = newEmail
	moved.Mailchimp.Values = mv
	if existing, err := e.Contacts.Contact(ctx, in.ID, newEmail); err == nil {
		moved.Version = existing.Version
	}
	// The state under the new address is saved before the User is written:
	// the platform's webhook for the write names the new address, so it is
	// queued in another message group than this change and may be applied
	// at once; it must find the link and the expected echo already there.
	err = rec.step("save_contact_state", func(map[string]any) error {
		if err := e.Contacts.SaveContact(ctx, moved); err != nil {
			return fmt.Errorf("save contact state: %w", err)
		}
		return nil
	})
	if err != nil {
		return outcome{}, err
	}
	err = rec.step("update_user", func(out map[string]any) error {
		out["user_id"] = user.ID
		out["changed_fields"] = map[string]string{FieldEmail: newEmail}
		if err := ap.UpdateUser(ctx, user.ID, map[string]string{FieldEmail: newEmail}); err != nil {
			return fmt.Errorf("update accessplanit user %s: %w", user.ID, err)
		}
		return nil
	})
	if err != nil {
		return outcome{changed: true}, err
	}
	if contact.Version > 0 {
		err = rec.step("remove_old_contact_state", func(map[string]any) error {
			if err := e.Contacts.DeleteContact(ctx, in.ID, oldEmail); err != nil {
				return fmt.Errorf("remove contact state of %s: %w", oldEmail, err)
			}
			return nil
		})
	}
	rec.logf("info", "accessplanit user %s email changed from %s to %s", user.ID, oldEmail, newEmail)
	return outcome{status: StatusSucceeded, changed: true}, err
}

// changedFields returns the fields whose value differs from the User's.
func changedFields(u User, fields map[string]string) map[string]string {
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

// restrict keeps the values of the merge tags mapped along flow.
func restrict(v Values, ms []FieldMapping, f Flow) Values {
	out := Values{}
	for _, m := range ms {
		if !m.allows(f) {
			continue
		}
		if x, ok := v[m.MergeTag]; ok && strings.TrimSpace(x) != "" {
			out[m.MergeTag] = strings.TrimSpace(x)
		}
	}
	return out
}

// loadContact loads the contact state for email as a step; an unknown
// contact is a new, empty state.
func (e *Engine) loadContact(ctx context.Context, rec *recorder, instanceID, email string) (Contact, error) {
	var contact Contact
	err := rec.step("load_contact", func(out map[string]any) error {
		var err error
		contact, err = e.Contacts.Contact(ctx, instanceID, email)
		if errors.Is(err, ErrNotFound) {
			contact, err = Contact{InstanceID: instanceID, Email: email}, nil
		}
		out["known"] = contact.Version > 0
		if err != nil {
			return fmt.Errorf("load contact state: %w", err)
		}
		return nil
	})
	return contact, err
}
