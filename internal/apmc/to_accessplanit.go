package apmc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// toAccessplanit applies a Mailchimp subscribe or profile change: it reads
// the member from Mailchimp (fetch), decides from that and the contact state
// (DecideToAccessplanit), finds the User and writes only what differs.
func (e *Engine) toAccessplanit(ctx context.Context, rec *recorder, in Instance, c Change, reads *Reads, unordered bool) (outcome, error) {
	email := NormaliseEmail(c.Email)
	if email == "" {
		return outcome{}, Permanentf("the change names no email")
	}
	contact, err := e.loadContact(ctx, rec, in.ID, email, reads)
	if err != nil {
		return outcome{}, err
	}
	if p, ok := ClaimedEcho(in, c, contact, e.now()); ok {
		return e.settle(ctx, rec, p, contact)
	}
	member, found, err := e.readMember(ctx, rec, in, "read_member", email)
	if err != nil {
		return outcome{}, err
	}
	res, err := e.applyMember(ctx, rec, in, email, member, found, contact, unordered)
	if err == nil && res.status == StatusSucceeded && !res.changed && c.Event == EventSubscribe && member.Status == "subscribed" && in.MailchimpStatusField != "" {
		if unordered {
			// The status field is a write to accessplanit too.
			return outcome{}, ErrOrderedQueue
		}
		err = e.resubscribed(ctx, rec, in, email)
	}
	return res, err
}

// resubscribed sets the Mailchimp status field of the User of a member who
// subscribed again (a subscribe that changed no mapped field, so the User
// was not read) back to subscribed, when the field still holds another
// status: one read of the User, on subscribe deliveries only.
func (e *Engine) resubscribed(ctx context.Context, rec *recorder, in Instance, email string) error {
	contact, err := e.loadContact(ctx, rec, in.ID, email, nil)
	if err != nil {
		return err
	}
	ap, err := e.Connector.Accessplanit(in)
	if err != nil {
		return fmt.Errorf("connect to accessplanit: %w", err)
	}
	user, found, err := e.findUserStep(ctx, rec, ap, contact, email)
	if err != nil || !found {
		return err
	}
	e.writeStatusField(ctx, rec, in, user, contact, contact.Accessplanit.Values, "subscribed")
	return nil
}

// applyMember decides and applies a member's current state to accessplanit.
func (e *Engine) applyMember(ctx context.Context, rec *recorder, in Instance, email string, member Member, found bool, contact Contact, unordered bool) (outcome, error) {
	var plan Plan
	err := rec.step("decide", func(out map[string]any) error {
		var err error
		plan, err = DecideToAccessplanit(ToAccessplanitInput{Instance: in, Member: member, Found: found, Email: email, Contact: contact, Now: e.now()})
		if err != nil {
			return err
		}
		out["action"] = string(plan.Action)
		if plan.Fields != nil {
			out["fields"] = plan.Fields
		}
		return nil
	})
	if err != nil {
		return outcome{}, err
	}
	for _, w := range plan.Warnings {
		rec.logf("warn", "%s", w)
	}
	if plan.Action != ActionWrite {
		return e.settle(ctx, rec, plan, contact)
	}
	if unordered {
		// Moved before the User is read: it is read where it is applied.
		return outcome{}, ErrOrderedQueue
	}
	ap, err := e.Connector.Accessplanit(in)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to accessplanit: %w", err)
	}

	user, found, err := e.findUserStep(ctx, rec, ap, contact, email)
	if err != nil {
		return outcome{}, err
	}

	seen := plan.Seen
	if found {
		seen.Accessplanit.noteUser(user, in.AccessplanitUserID)
	}
	if !found && !slices.Contains(creatingStatuses, member.Status) {
		return e.settle(ctx, rec, Plan{Action: ActionSkip, Reason: fmt.Sprintf("the member is %s: no accessplanit User is created for it", member.Status), Seen: seen}, contact)
	}
	var after User
	// With a bulk queue, the write's echo may come through it before this
	// change has saved its state: the write is announced first, once it is
	// certain to be made (announce.go).
	announce := func(guess User, wrote map[string]string) error {
		if !e.BulkLane {
			return nil
		}
		fp := UserFingerprint(in, writtenValues(in.Mappings, contact, guess, wrote), guess)
		return rec.step("announce_write", func(out map[string]any) error {
			out["side"] = string(SideAccessplanit)
			return announceNow(ctx, e.announcer(), &Announcement{Key: ContactKey{InstanceID: in.ID, Email: email}, Side: SideAccessplanit, Fingerprint: fp, At: e.now().UTC()})
		})
	}
	if found {
		changed := ChangedFields(user, plan.Fields)
		if f := in.MailchimpStatusField; f != "" && len(changed) > 0 {
			// The User is written anyway: its Mailchimp status goes along
			// when it no longer says the member's (subscribed again).
			if v, write := StatusFieldValue(user.Fields[f], member.Status); write {
				changed[f] = v
			}
		}
		if len(changed) == 0 {
			seen.UserID = user.ID
			seen.Accessplanit.Values, _, _ = MapToMailchimp(in.Mappings, user)
			return e.settle(ctx, rec, Plan{Action: ActionRecord, Reason: "no mapped field changed; nothing written to accessplanit", Seen: seen}, contact)
		}
		guess := user // as the write leaves it: its tags and opt-in too
		guess.Fields = maps.Clone(user.Fields)
		maps.Copy(guess.Fields, changed)
		if err := announce(guess, ChangedFields(user, plan.Fields)); err != nil {
			return outcome{}, err
		}
		if err := e.updateUser(ctx, rec, ap, user.ID, changed); err != nil {
			return outcome{changed: true}, err
		}
		after = user
		after.Fields = maps.Clone(user.Fields)
		maps.Copy(after.Fields, changed)
		rec.logf("info", "accessplanit user %s updated", user.ID)
	} else {
		if err := announce(User{Fields: maps.Clone(plan.Fields)}, nil); err != nil {
			return outcome{}, err
		}
		err = rec.step("create_user", func(out map[string]any) error {
			create := maps.Clone(plan.Fields)
			create["MainCompanyID"] = in.DefaultCompanyID
			out["accessplanit_requests"] = 1 // and one more when the platform's answer names the new User only by ID
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

	var wrote map[string]string // the fields written to an existing User
	if found {
		wrote = ChangedFields(user, plan.Fields)
	}
	written := writtenValues(in.Mappings, contact, after, wrote)
	seen.UserID = after.ID
	seen.Accessplanit.Values = written
	// The write leaves the User's tags, MarketingOptIn and booking dates as
	// read; the fingerprint covers them too. An edit of those made before the
	// read, its webhook still on its way, may be taken for this echo; then
	// the real echo finds no pending write, is read back and carries the
	// edit to Mailchimp (syncedAsKnown keeps it from passing for nothing new).
	seen.Accessplanit.RecordWrite(UserFingerprint(in, written, after), e.now())
	err = rec.step("save_contact_state", func(map[string]any) error {
		if err := e.Contacts.SaveContact(ctx, seen); err != nil {
			return fmt.Errorf("save contact state: %w", err)
		}
		return nil
	})
	return outcome{status: StatusSucceeded, changed: true}, err
}

// writtenValues is what accessplanit holds as far as the service knows after
// it wrote a User: for an update, what it knew before with the written
// fields overlaid — not the whole User read back, which may hold an edit
// whose own webhook is still on its way (recording it as the service's
// would suppress that webhook as an echo, and the edit would never reach
// Mailchimp); for a new User, all of it.
func writtenValues(ms []FieldMapping, before Contact, after User, wrote map[string]string) Values {
	all, _, _ := MapToMailchimp(ms, after)
	if wrote == nil || before.Version == 0 || before.Accessplanit.Values == nil {
		return all
	}
	out := maps.Clone(before.Accessplanit.Values)
	for _, m := range ms {
		if _, ok := wrote[m.Field]; !ok || !m.allows(FlowToMailchimp) {
			continue
		}
		if v, ok := all[m.MergeTag]; ok {
			out[m.MergeTag] = v
		} else {
			delete(out, m.MergeTag)
		}
	}
	return out
}

// updateUser writes fields to a User as a step.
func (e *Engine) updateUser(ctx context.Context, rec *recorder, ap Accessplanit, id string, fields map[string]string) error {
	return rec.step("update_user", func(out map[string]any) error {
		out["user_id"] = id
		out["changed_fields"] = fields
		out["accessplanit_requests"] = 1
		if err := ap.UpdateUser(ctx, id, fields); err != nil {
			return fmt.Errorf("update accessplanit user %s: %w", id, err)
		}
		return nil
	})
}

// findUserStep finds the User of a contact (findUser) as a step.
func (e *Engine) findUserStep(ctx context.Context, rec *recorder, ap Accessplanit, contact Contact, email string) (User, bool, error) {
	var user User
	var found bool
	err := rec.step("find_user", func(out map[string]any) error {
		var err error
		var requests int
		user, found, requests, err = e.findUser(ctx, rec, ap, contact, email)
		out["found"] = found
		out["accessplanit_requests"] = requests
		if found {
			out["user_id"] = user.ID
		}
		return err
	})
	return user, found, err
}

// creatingStatuses are the member statuses a new accessplanit User is
// created for: a contact who opted out, bounced or was archived is not
// turned into a User.
var creatingStatuses = []string{"subscribed", "pending", "transactional"}

// readMember reads the member with that email from Mailchimp as a step;
// found is false when the audience does not hold the address.
func (e *Engine) readMember(ctx context.Context, rec *recorder, in Instance, step, email string) (Member, bool, error) {
	var m Member
	found := false
	err := rec.step(step, func(out map[string]any) error {
		mc, err := e.Connector.Mailchimp(in)
		if err != nil {
			return fmt.Errorf("connect to Mailchimp: %w", err)
		}
		out["email"] = email
		ctx, wait := WithBudgetWait(ctx)
		defer wait.record(out)
		m, err = mc.Member(ctx, in.MailchimpListID, email)
		if errors.Is(err, ErrNotFound) {
			out["found"] = false
			return nil
		}
		if err != nil {
			return fmt.Errorf("read Mailchimp member %s: %w", email, err)
		}
		found = true
		out["found"] = true
		out["status"] = m.Status
		out["merge_fields"] = restrict(m.MergeFields, in.Mappings, FlowToAccessplanit)
		return nil
	})
	return m, found, err
}

// findUser finds the accessplanit User for a Mailchimp contact: the linked
// User first, else by email (the most recently changed one wins).
// It also returns the accessplanit requests it made.
func (e *Engine) findUser(ctx context.Context, rec *recorder, ap Accessplanit, contact Contact, email string) (User, bool, int, error) {
	requests := 0
	if contact.UserID != "" {
		requests++
		u, err := ap.User(ctx, contact.UserID)
		switch {
		case err == nil && u.Fields["Status"] != "Deleted":
			return u, true, requests, nil
		case err == nil || errors.Is(err, ErrNotFound):
			rec.logf("warn", "linked accessplanit user %s no longer exists; looking the contact up by email", contact.UserID)
		default:
			return User{}, false, requests, fmt.Errorf("read accessplanit user %s: %w", contact.UserID, err)
		}
	}
	requests++
	users, err := ap.UsersByEmail(ctx, email)
	if err != nil {
		return User{}, false, requests, fmt.Errorf("find accessplanit users by email: %w", err)
	}
	var live []User
	for _, u := range users {
		if u.Fields["Status"] != "Deleted" {
			live = append(live, u)
		}
	}
	if len(live) == 0 {
		return User{}, false, requests, nil
	}
	if len(live) > 1 {
		rec.logf("warn", "%d accessplanit users have the email %s; updating the most recently changed one (%s)", len(live), email, live[0].ID)
	}
	return live[0], true, requests, nil
}

// emailChanged applies a Mailchimp email change once Mailchimp confirms it
// (DecideEmailChange), as the instance's mailchimp_email_changes says.
func (e *Engine) emailChanged(ctx context.Context, rec *recorder, in Instance, c Change) (outcome, error) {
	oldEmail, newEmail := NormaliseEmail(c.OldEmail), NormaliseEmail(c.NewEmail)
	if oldEmail == "" || newEmail == "" {
		return outcome{}, Permanentf("the email change names no old or no new address")
	}
	ap, err := e.Connector.Accessplanit(in)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to accessplanit: %w", err)
	}
	contact, err := e.loadContact(ctx, rec, in.ID, oldEmail, nil)
	if err != nil {
		return outcome{}, err
	}
	ci := EmailChangeInput{Instance: in, OldEmail: oldEmail, NewEmail: newEmail, Contact: contact}
	if nc, err := e.Contacts.Contact(ctx, in.ID, newEmail); err == nil {
		ci.NewContact = nc
	} else if !errors.Is(err, ErrNotFound) {
		return outcome{}, fmt.Errorf("load contact state of %s: %w", newEmail, err)
	}
	if contact.Version == 0 && ci.NewContact.UserID != "" {
		u, err := ap.User(ctx, ci.NewContact.UserID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return outcome{}, fmt.Errorf("read accessplanit user %s: %w", ci.NewContact.UserID, err)
		}
		if err == nil {
			ci.LinkedUserEmail = u.Email()
		}
	}
	if _, settled := SettleEmailChange(ci); !settled {
		// Only a change of a synced contact's address is worth asking
		// Mailchimp to confirm.
		if ci.OldMember, ci.OldFound, err = e.readMember(ctx, rec, in, "read_old_member", oldEmail); err != nil {
			return outcome{}, err
		}
		if ci.NewMember, ci.NewFound, err = e.readMember(ctx, rec, in, "read_new_member", newEmail); err != nil {
			return outcome{}, err
		}
	}
	var plan Plan
	err = rec.step("decide", func(out map[string]any) error {
		var err error
		plan, err = DecideEmailChange(ci)
		out["action"] = string(plan.Action)
		return err
	})
	if err != nil {
		return outcome{}, err
	}
	switch plan.Action {
	case ActionWrite:
		// new_user: the new address is decided like a subscribe of it.
		rec.logf("info", "%s", plan.Reason)
		if err := e.saveIfNew(ctx, rec, contact, plan.Seen); err != nil {
			return outcome{}, err
		}
		rec.exec.Contact = newEmail
		nc := ci.NewContact
		if nc.Version == 0 {
			// No state at the new address yet (or only an announced
			// write): the new User's state is saved under it.
			nc.InstanceID, nc.Email = in.ID, newEmail
		}
		return e.applyMember(ctx, rec, in, newEmail, ci.NewMember, ci.NewFound, nc, false)
	case ActionMove:
	default:
		if plan.Seen.MovedTo != "" && in.EmailChanges() == EmailChangesIgnore {
			// The new address is marked, so its later changes stay out of
			// accessplanit too.
			marker := ci.NewContact
			marker.InstanceID, marker.Email, marker.MovedFrom = in.ID, newEmail, oldEmail
			if ci.NewMember.ContactID != "" {
				marker.MemberContactID = ci.NewMember.ContactID
			}
			if err := e.saveIfNew(ctx, rec, ci.NewContact, marker); err != nil {
				return outcome{}, err
			}
		}
		return e.settle(ctx, rec, plan, Contact{})
	}

	var user User
	var found bool
	err = rec.step("find_user", func(out map[string]any) error {
		var err error
		var requests int
		user, found, requests, err = e.findUser(ctx, rec, ap, contact, oldEmail)
		out["found"] = found
		out["accessplanit_requests"] = requests
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
	moved := plan.Seen
	moved.UserID = user.ID
	moved.Accessplanit.noteUser(user, in.AccessplanitUserID)
	moved.Accessplanit.Values = written
	moved.Accessplanit.RecordWrite(UserFingerprint(in, written, after), e.now())
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
		out["accessplanit_requests"] = 1
		if err := ap.UpdateUser(ctx, user.ID, map[string]string{FieldEmail: newEmail}); err != nil {
			return fmt.Errorf("update accessplanit user %s: %w", user.ID, err)
		}
		return nil
	})
	if err != nil {
		return outcome{changed: true}, err
	}
	err = rec.step("remove_old_contact_state", func(map[string]any) error {
		if err := e.Contacts.DeleteContact(ctx, in.ID, oldEmail); err != nil {
			return fmt.Errorf("remove contact state of %s: %w", oldEmail, err)
		}
		return nil
	})
	rec.logf("info", "accessplanit user %s email changed from %s to %s", user.ID, oldEmail, newEmail)
	return outcome{status: StatusSucceeded, changed: true}, err
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
// The batch's reads hold it when it was loaded with the batch's others.
func (e *Engine) loadContact(ctx context.Context, rec *recorder, instanceID, email string, reads *Reads) (Contact, error) {
	var contact Contact
	err := rec.step("load_contact", func(out map[string]any) error {
		if c, ok := reads.contact(instanceID, email); ok {
			contact = c
			out["known"] = contact.Version > 0
			out["read"] = "batch"
			return nil
		}
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
