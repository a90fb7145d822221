package apmc

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// toMailchimp applies an accessplanit change to Mailchimp: it reads the User
// the change names from accessplanit (fetch), decides from that and the
// contact state (DecideToMailchimp), writes Mailchimp and records the state.
func (e *Engine) toMailchimp(ctx context.Context, rec *recorder, in Instance, c Change, reads *Reads, batch *Batch, unordered bool) (outcome, error) {
	if c.Event == EventBooking && !in.Activity.Enabled {
		return e.settle(ctx, rec, Plan{Action: ActionSkip, Reason: "training activity is off for this instance: delegate changes are not synced"}, Contact{})
	}
	ap, err := e.Connector.Accessplanit(in)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to accessplanit: %w", err)
	}
	mc, err := e.Connector.Mailchimp(in)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to Mailchimp: %w", err)
	}

	// The contact the delivery names, when it names one by email: loaded
	// first so the service's own echoes are suppressed without a read.
	var claimed *Contact
	if email := triggerEmail(c); email != "" && c.User != nil {
		contact, err := e.loadContact(ctx, rec, in.ID, email, reads)
		if err != nil {
			return outcome{}, err
		}
		if p, ok := ClaimedEcho(in, c, contact, e.now()); ok {
			return e.settle(ctx, rec, p, contact)
		}
		claimed = &contact
	}

	var user User
	var found, batched bool
	err = rec.step("read_user", func(out map[string]any) error {
		var err error
		user, found, batched, err = e.readUser(ctx, ap, in, c, reads, out)
		return err
	})
	if err != nil {
		return outcome{}, err
	}
	if !found {
		return e.settle(ctx, rec, Plan{Action: ActionSkip, Reason: "the accessplanit user no longer exists"}, Contact{})
	}
	email := user.Email()
	if email == "" {
		// Nothing to key a contact by: the decision refuses it for good.
		_, err := DecideToMailchimp(ToMailchimpInput{Instance: in, User: user, Found: true, Now: e.now()})
		if err == nil {
			err = Permanentf("the accessplanit user %s has no email", user.ID)
		}
		return outcome{}, err
	}
	rec.exec.Contact = email

	var contact Contact
	var previous *Contact
	err = rec.step("load_contact", func(out map[string]any) error {
		var err error
		contact, previous, err = e.contactForUser(ctx, in.ID, email, user.ID, claimed)
		out["known"] = contact.Version > 0 || previous != nil
		if previous != nil {
			out["previous_email"] = previous.Email
		}
		return err
	})
	if err != nil {
		return outcome{}, err
	}
	if batched && contact.Accessplanit.writtenSince(reads.at) {
		// The service wrote to accessplanit after the batch's read (a
		// change from Mailchimp earlier in the batch): read the User again.
		err = rec.step("read_user_again", func(out map[string]any) error {
			var err error
			user, found, _, err = e.readUser(ctx, ap, in, c, nil, out)
			return err
		})
		if err != nil {
			return outcome{}, err
		}
		if !found || user.Email() != email {
			return e.settle(ctx, rec, Plan{Action: ActionSkip, Reason: "the User changed while the change waited; the change for its current state follows"}, Contact{})
		}
	}

	var plan Plan
	err = rec.step("decide", func(out map[string]any) error {
		var err error
		plan, err = DecideToMailchimp(ToMailchimpInput{Instance: in, User: user, Found: found, Contact: contact, Previous: previous, Now: e.now()})
		if err != nil {
			return err
		}
		out["action"] = string(plan.Action)
		out["merge_fields"] = plan.Values
		return nil
	})
	if err != nil {
		return outcome{}, err
	}
	if plan.Action == ActionWait {
		return e.settle(ctx, rec, plan, contact)
	}
	if plan.Action == ActionMove && unordered {
		// Moving the member makes Mailchimp send an email change, which
		// is always queued on the changes queue, in the new address's
		// group: applied before this change saved its state, it would
		// take the member's old values for an edit. Moved there first, the
		// change is applied ahead of it.
		return outcome{}, ErrOrderedQueue
	}
	for _, w := range plan.Warnings {
		rec.logf("warn", "%s", w)
	}
	// Tags and training activity (marketing.go) may need writes of their own.
	mk, err := e.marketingFor(ctx, rec, ap, in, c, user, contact, plan, reads)
	if err != nil {
		return outcome{}, err
	}
	// What the contact state holds when the member gets nothing (not
	// added, or refused): the training activity read is kept as not sent,
	// so it is written once the member can take it.
	unsent := mk.rememberUnsent(plan.Seen)
	plan.Seen = mk.remember(plan.Seen)
	if plan.Action != ActionWrite && plan.Action != ActionMove {
		if len(mk.fields) == 0 {
			res, err := e.tagsOnly(ctx, rec, mc, in, c, email, mk, plan, contact)
			res, err = e.unlessMoved(ctx, rec, mc, in, email, contact, res, err)
			if _, blocked := BlockedReason(err); blocked {
				e.writeStatusField(ctx, rec, in, user, unsent, plan.Values, string(StatusBlocked))
			}
			return res, err
		}
		plan.Write = namesOnly(plan.Values) // the activity fields, with the names Mailchimp needs
	}
	plan.Write = mk.withFields(plan.Write)

	if plan.Unsubscribe && plan.Action == ActionWrite && contact.Mailchimp.Values.Equal(plan.Values) && !mk.pending(contact) {
		// Only the consent changed: the opt-out is the one call.
		return e.unsubscribe(ctx, rec, mc, in, email, plan)
	}
	member := MemberToWrite(in.Mappings, email, plan.Write)
	statusIfNew := plan.StatusIfNew
	if statusIfNew == "" {
		exists, err := e.memberExists(ctx, rec, mc, in, email, contact)
		if err != nil {
			return outcome{}, err
		}
		if !exists {
			return e.settle(ctx, rec, Plan{Action: ActionSkip, Reason: "the User has not opted in to marketing and the instance adds only those who have (consent not_opted_in: skip)", Seen: unsent}, contact)
		}
		statusIfNew = string(NotOptedInTransactional) // the member exists: its status is kept
	}
	// A write whose echo may be applied before this change is announced:
	// one from the bulk queue (unless the instance's burst window has
	// settled: every ingest function then sends the echo to the bulk queue,
	// behind this change), or one whose change is queued in another
	// message group than the member's address (a delivery naming the User
	// by ID only, as a booking does, or by an address it no longer has).
	// The echo of any other write is queued behind it: in the same group on
	// the changes queue, or, taking the bulk queue in a Mailchimp burst,
	// moved back there before it could write (ErrOrderedQueue).
	var ann *Announcement
	settled := unordered && e.windowSettled(ctx, in.ID)
	if unordered && !settled || c.GroupID() != (Change{InstanceID: in.ID, Email: email}).GroupID() {
		ann = &Announcement{Key: ContactKey{InstanceID: in.ID, Email: email}, Side: SideMailchimp, Fingerprint: plan.Values.Fingerprint(), At: e.now().UTC()}
	}
	var written Member
	managed := ManagedTags(contact.Mailchimp)
	err = rec.step("upsert_member", func(out map[string]any) error {
		if ann != nil {
			out["announced"] = true
		} else if settled {
			out["burst_window_settled"] = true
		}
		changed := plan.Values.Diff(contact.Mailchimp.Values)
		out["changed_fields"] = changed
		if g := groupSelections(in.Mappings, plan.Values, changed); len(g) > 0 {
			out["groups"] = g
		}
		if len(mk.fields) > 0 {
			out["training_activity_fields"] = mk.fields
		}
		ctx, wait := WithBudgetWait(ctx)
		defer wait.record(out)
		var err error
		if plan.Action == ActionMove {
			if err := announceNow(ctx, e.announcer(), ann); err != nil {
				return err
			}
			var same bool
			written, same, err = e.moveMember(ctx, rec, mc, in, plan.PreviousEmail, member, contact.Mailchimp.Values, statusIfNew)
			if !same {
				// Another member: none of the tags the service applied
				// are its, and those it carries are someone else's.
				managed = nil
			}
		} else {
			var call upsertCall
			written, call, err = batch.upsert(ctx, mc, in, member, statusIfNew, e.announcer(), ann)
			if call.members > 1 {
				// One batch subscribe carried this write and others of
				// the batch: one request, one slot of the budget.
				out["batch_members"] = call.members
				out["mailchimp_requests_per_change"] = 1 / float64(call.members)
			}
			AddBudgetWait(ctx, call.budgetWait)
		}
		if err != nil {
			return fmt.Errorf("write Mailchimp member: %w", err)
		}
		out["member_id"] = written.ID
		out["status"] = written.Status
		return nil
	})
	if _, blocked := BlockedReason(err); blocked {
		e.writeStatusField(ctx, rec, in, user, unsent, plan.Values, string(StatusBlocked))
	}
	if err != nil {
		return outcome{changed: true}, err
	}
	rec.logf("info", "Mailchimp contact %s written", email)
	// The answer says the member's status: a cleaned or archived member
	// took the write but cannot be mailed, so the change ends blocked.
	result := outcome{status: StatusSucceeded, changed: true}
	if reason, blocked := WrittenMemberBlocked(written.Status); blocked {
		result = outcome{status: StatusBlocked, changed: true, reason: reason}
	}
	// An opt-out is sent as when only the consent changed, to an archived
	// member too; a cleaned one receives nothing already, and only the
	// person can sign it up again.
	if plan.Unsubscribe && written.Status != "cleaned" && written.Status != "unsubscribed" {
		if _, err := e.unsubscribe(ctx, rec, mc, in, email, Plan{}); err != nil {
			return outcome{changed: true}, err
		}
		written.Status = "unsubscribed"
		result = outcome{status: StatusSucceeded, changed: true}
	}

	seen := plan.Seen
	seen.Mailchimp.Values = plan.Values
	seen.Mailchimp.RecordWrite(plan.Values.Fingerprint(), e.now())
	if s := written.Status; s == "subscribed" || s == "pending" || s == "transactional" {
		// The write's answer says the member can be sent to: remembered,
		// so an unsubscribe recorded before is known to be over. Other
		// statuses are recorded only as their changes are processed
		// (statusToAccessplanit); an archived member, taking the write and
		// staying archived, says nothing of an unsubscribe recorded.
		seen.Mailchimp.Status = s
	}
	if written.ContactID != "" {
		seen.MemberContactID = written.ContactID
	}
	if mk.on {
		var done bool
		contact, seen, done, err = e.tagsAfterWrite(ctx, rec, mc, in, c, email, mk, plan, contact, seen, written, managed)
		if err != nil {
			return outcome{changed: true}, err
		}
		if done {
			return result, nil
		}
	}
	var saved Contact
	err = rec.step("save_contact_state", func(out map[string]any) error {
		var err error
		if saved, err = e.saveContact(ctx, contact, seen, mk.on, out); err != nil {
			return err
		}
		if plan.Action == ActionMove {
			if err := e.Contacts.DeleteContact(ctx, in.ID, plan.PreviousEmail); err != nil {
				return fmt.Errorf("remove contact state of %s: %w", plan.PreviousEmail, err)
			}
		}
		return nil
	})
	if err != nil {
		return result, err
	}
	e.writeStatusField(ctx, rec, in, user, saved, plan.Values, written.Status)
	return result, nil
}

// unlessMoved looks again at a member a change's call found gone from the
// audience (err blocked and not found): one whose address was changed in
// Mailchimp is found by its contact_id under the new address, and the
// change is tried again (the email change, on its way, moves the contact
// first) rather than ended blocked; on the last receive, the email change
// never having come, it ends skipped, saying where the member is. Any other
// end (res, err) is returned as it is.
func (e *Engine) unlessMoved(ctx context.Context, rec *recorder, mc Mailchimp, in Instance, email string, contact Contact, res outcome, err error) (outcome, error) {
	moved, err := e.movedTo(ctx, rec, mc, in, email, contact, err)
	switch {
	case moved == "":
		return res, err
	case rec.lastReceive:
		return outcome{status: StatusSkipped, reason: fmt.Sprintf("the member's address was changed in Mailchimp to %s, and that email change has not been applied here; the User's next change after it is applied reaches %s (reconciliation finds the member there)", moved, moved)}, nil
	}
	return res, fmt.Errorf("the member's address was changed in Mailchimp to %s: the email change is applied first, and this change after it", moved)
}

// movedTo is the address a member a call found gone from the audience (err
// blocked and not found) has now, looked up by its contact_id; "" with err
// as it is when it is not that, or the member is nowhere.
func (e *Engine) movedTo(ctx context.Context, rec *recorder, mc Mailchimp, in Instance, email string, contact Contact, err error) (string, error) {
	if _, blocked := BlockedReason(err); !blocked || !errors.Is(err, ErrNotFound) || contact.MemberContactID == "" {
		return "", err
	}
	var moved string
	lookErr := rec.step("find_member_by_contact_id", func(out map[string]any) error {
		ctx, wait := WithBudgetWait(ctx)
		defer wait.record(out)
		m, err := mc.MemberByContactID(ctx, in.MailchimpListID, contact.MemberContactID)
		if errors.Is(err, ErrNotFound) {
			out["found"] = false
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up the Mailchimp member by its contact id: %w", err)
		}
		out["found"] = true
		if m.Email != email {
			moved = m.Email
			out["email"] = m.Email
		}
		return nil
	})
	if lookErr != nil {
		return "", lookErr
	}
	return moved, err
}

// groupSelections are the interests a write selects in each group mapping
// among the changed targets (by target, "group:<category>"): the User's
// value naming them, "" for none.
func groupSelections(ms []FieldMapping, values Values, changed []string) map[string]string {
	out := map[string]string{}
	for _, tag := range changed {
		if i := mappingIndex(ms, tag); i >= 0 && ms[i].IsGroup() {
			out[tag] = values[tag]
		}
	}
	return out
}

// namesOnly keeps the values Mailchimp needs in every write: the address
// and the names.
func namesOnly(v Values) Values {
	out := Values{}
	for _, tag := range []string{TagEmail, TagFirstName, TagLastName} {
		if x, ok := v[tag]; ok {
			out[tag] = x
		}
	}
	return out
}

// settle ends a change whose plan writes nothing to the other side: it saves
// what the plan learnt of the contact, when that is new, and maps the plan
// to the execution's outcome.
func (e *Engine) settle(ctx context.Context, rec *recorder, p Plan, stored Contact) (outcome, error) {
	if p.Action == ActionWait {
		return outcome{}, errWriteInFlight
	}
	err := e.saveIfNew(ctx, rec, stored, p.Seen)
	switch p.Action {
	case ActionSuppress:
		return outcome{status: StatusSuppressed, reason: p.Reason}, err
	case ActionRecord:
		return outcome{status: StatusSucceeded, reason: p.Reason}, err
	}
	return outcome{status: StatusSkipped, reason: p.Reason}, err
}

// readUser reads the User a change names from accessplanit: from the batch's
// reads when it is there, else by its ID, else by the change's email. Nothing
// but the ID and the email is taken from the delivery.
func (e *Engine) readUser(ctx context.Context, ap Accessplanit, in Instance, c Change, reads *Reads, out map[string]any) (user User, found, batched bool, err error) {
	out["source"] = "accessplanit API"
	out["accessplanit_rate_limit"] = "ASSUMPTION: 5,000 requests per hour per endpoint (the v1 API's published limit)"
	id := triggerUserID(c)
	if id != "" {
		out["user_id"] = id
		if u, ok := reads.user(in.ID, id); ok {
			for k, v := range reads.share(in.ID) {
				out[k] = v
			}
			return u, true, true, nil
		}
		out["read"] = "single"
		out["accessplanit_requests"] = 1
		if reads != nil {
			if why := reads.failedFor(in.ID); why != "" {
				out["batch_read_error"] = why
			}
		}
		u, err := ap.User(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return User{}, false, false, nil
		}
		if err != nil {
			return User{}, false, false, fmt.Errorf("read accessplanit user %s: %w", id, err)
		}
		return u, true, false, nil
	}
	email := triggerEmail(c)
	if email == "" {
		return User{}, false, false, Permanentf("the change names neither a user id nor an email")
	}
	out["read"] = "by email"
	out["accessplanit_requests"] = 1
	users, err := ap.UsersByEmail(ctx, email)
	if err != nil {
		return User{}, false, false, fmt.Errorf("find accessplanit users by email: %w", err)
	}
	users = slices.DeleteFunc(users, func(u User) bool { return u.Email() != email })
	if len(users) == 0 {
		return User{}, false, false, nil
	}
	out["user_id"] = users[0].ID
	if len(users) > 1 {
		out["users_with_email"] = len(users)
	}
	return users[0], true, false, nil
}

// contactForUser loads the contact state for email (loaded, when it is the
// state of that email read already). When there is none but
// the User is linked to a contact under another email, the User's email
// changed: that contact is returned as previous, and the new state starts
// from what it knew.
func (e *Engine) contactForUser(ctx context.Context, instanceID, email, userID string, loaded *Contact) (Contact, *Contact, error) {
	var contact Contact
	var err error
	if loaded != nil && loaded.Email == email {
		contact = *loaded
	} else {
		contact, err = e.Contacts.Contact(ctx, instanceID, email)
	}
	switch {
	case err == nil && contact.Version > 0:
		return contact, nil, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return Contact{}, nil, fmt.Errorf("load contact state: %w", err)
	}
	// No state yet (an item may hold an announced write, kept).
	contact = Contact{InstanceID: instanceID, Email: email, Mailchimp: SideState{InFlight: contact.Mailchimp.InFlight}, Accessplanit: SideState{InFlight: contact.Accessplanit.InFlight}}
	if userID == "" {
		return contact, nil, nil
	}
	previous, err := e.Contacts.ContactByUserID(ctx, instanceID, userID)
	switch {
	case errors.Is(err, ErrNotFound):
		return contact, nil, nil
	case err != nil:
		return Contact{}, nil, fmt.Errorf("load contact state by user: %w", err)
	case previous.Email == email:
		return previous, nil, nil
	}
	mcFlight, apFlight := contact.Mailchimp.InFlight, contact.Accessplanit.InFlight
	contact.UserID = previous.UserID
	contact.MemberContactID = previous.MemberContactID
	contact.Mailchimp = previous.Mailchimp
	contact.Accessplanit = previous.Accessplanit
	contact.MarketingOptIn = previous.MarketingOptIn // an opt-out made with the move is one
	contact.Mailchimp.InFlight, contact.Accessplanit.InFlight = mcFlight, apFlight
	return contact, &previous, nil
}

// moveMember moves the Mailchimp member from oldEmail to the new address, or
// writes a new member when the new address is already taken there.
//
// same reports whether the member written is the one the old address
// named (moved to the new address); when it is another member (one the new
// address already named, or one created for it), the tags the service
// applied to the old member are not on it.
func (e *Engine) moveMember(ctx context.Context, rec *recorder, mc Mailchimp, in Instance, oldEmail string, m Member, before Values, statusIfNew string) (written Member, same bool, err error) {
	_, err = mc.Member(ctx, in.MailchimpListID, m.Email)
	switch {
	case err == nil:
		rec.logf("warn", "email changed from %s to %s, but %s is already a Mailchimp contact: updating it; %s is kept as it is", oldEmail, m.Email, m.Email, oldEmail)
		written, err = mc.UpsertMember(ctx, in.MailchimpListID, m, statusIfNew)
		return written, false, err
	case !errors.Is(err, ErrNotFound):
		return Member{}, false, fmt.Errorf("look up member %s: %w", m.Email, err)
	}
	moved, err := mc.ChangeEmail(ctx, in.MailchimpListID, oldEmail, m.Email)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			rec.logf("warn", "email changed from %s to %s, but %s is not in Mailchimp: creating %s", oldEmail, m.Email, oldEmail, m.Email)
			written, err = mc.UpsertMember(ctx, in.MailchimpListID, m, statusIfNew)
			return written, false, err
		}
		return Member{}, false, fmt.Errorf("change member email: %w", err)
	}
	rec.logf("info", "Mailchimp contact moved from %s to %s", oldEmail, m.Email)
	if sameWrite(MemberToWrite(in.Mappings, m.Email, before), m) {
		return moved, true, nil // only the address changed: one call
	}
	written, err = mc.UpsertMember(ctx, in.MailchimpListID, m, statusIfNew)
	return written, true, err
}

// saveIfNew saves what the service learned of a contact without writing to
// either side, when it differs from what is stored.
func (e *Engine) saveIfNew(ctx context.Context, rec *recorder, stored, seen Contact) error {
	if seen.Email == "" {
		return nil
	}
	if stored.Version > 0 && stored.UserID == seen.UserID && stored.MemberContactID == seen.MemberContactID && stored.MovedTo == seen.MovedTo && stored.MovedFrom == seen.MovedFrom &&
		sameManagedTags(stored.Mailchimp, seen.Mailchimp) && stored.Accessplanit.Activity.Equal(seen.Accessplanit.Activity) &&
		sameOptIn(stored.MarketingOptIn, seen.MarketingOptIn) &&
		stored.Accessplanit.Values.Equal(seen.Accessplanit.Values) &&
		slices.Equal(stored.Accessplanit.Pending, seen.Accessplanit.Pending) && slices.Equal(stored.Mailchimp.Pending, seen.Mailchimp.Pending) &&
		stored.Accessplanit.SourceTime.Equal(seen.Accessplanit.SourceTime) && stored.Accessplanit.OthersChangedAt.Equal(seen.Accessplanit.OthersChangedAt) &&
		stored.Mailchimp.Values.Equal(seen.Mailchimp.Values) &&
		stored.Mailchimp.SourceTime.Equal(seen.Mailchimp.SourceTime) && stored.Mailchimp.Status == seen.Mailchimp.Status {
		return nil
	}
	return rec.step("save_contact_state", func(map[string]any) error {
		if err := e.Contacts.SaveContact(ctx, seen); err != nil {
			return fmt.Errorf("save contact state: %w", err)
		}
		return nil
	})
}
