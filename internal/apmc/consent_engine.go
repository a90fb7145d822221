package apmc

import (
	"context"
	"errors"
	"fmt"
)

// memberExists reports whether the audience holds email, for a write that
// must not create a member: the contact state knows when the service has
// seen the member; otherwise Mailchimp is asked.
func (e *Engine) memberExists(ctx context.Context, rec *recorder, mc Mailchimp, in Instance, email string, contact Contact) (bool, error) {
	if len(contact.Mailchimp.Values) > 0 {
		return true, nil
	}
	var exists bool
	err := rec.step("read_member", func(out map[string]any) error {
		ctx, wait := WithBudgetWait(ctx)
		defer wait.record(out)
		_, err := mc.Member(ctx, in.MailchimpListID, email)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return fmt.Errorf("read Mailchimp member: %w", err)
		default:
			exists = true
		}
		out["found"] = exists
		return nil
	})
	return exists, err
}

// statusToAccessplanit applies a Mailchimp unsubscribe or cleaned address
// to accessplanit, as far as the instance asks: an unsubscribe clears the
// linked User's MarketingOptIn (optouts_to_accessplanit), and the member's
// status is written to the instance's mailchimp_status_field. The member is
// read back (the delivery is a trigger); nothing else of the User changes.
func (e *Engine) statusToAccessplanit(ctx context.Context, rec *recorder, in Instance, c Change, unordered bool) (outcome, error) {
	email := NormaliseEmail(c.Email)
	if email == "" {
		return outcome{}, Permanentf("the change names no email")
	}
	member, found, err := e.readMember(ctx, rec, in, "read_member", email)
	if err != nil {
		return outcome{}, err
	}
	if !found {
		return outcome{status: StatusSkipped, reason: fmt.Sprintf("Mailchimp does not hold %s: nothing is written", email)}, nil
	}
	if member.Status != "unsubscribed" && member.Status != "cleaned" {
		return outcome{status: StatusSkipped, reason: fmt.Sprintf("the member is %s in Mailchimp, neither unsubscribed nor cleaned: nothing is written", member.Status)}, nil
	}
	if unordered {
		// It may write the User: moved before the User is read.
		return outcome{}, ErrOrderedQueue
	}
	contact, err := e.loadContact(ctx, rec, in.ID, email, nil)
	if err != nil {
		return outcome{}, err
	}
	ap, err := e.Connector.Accessplanit(in)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to accessplanit: %w", err)
	}
	user, found, err := e.findUserStep(ctx, rec, ap, contact, email)
	if err != nil {
		return outcome{}, err
	}
	if !found {
		return outcome{status: StatusSkipped, reason: "no accessplanit User has this address: nothing is written"}, nil
	}
	seen := contact
	seen.UserID = user.ID
	seen.Accessplanit.noteUser(user, in.AccessplanitUserID)
	// Remembered, so that reconciliation knows the status is applied.
	seen.Mailchimp.Status = member.Status
	fields := map[string]string{}
	if OptOutToAccessplanit(in.Consent, member, othersChanged(user, in.AccessplanitUserID, contact.Accessplanit), contact.Mailchimp.Status, e.now()) {
		fields[FieldMarketingOptIn] = "false"
		optedOut := false
		seen.MarketingOptIn = &optedOut
	}
	if f := in.MailchimpStatusField; f != "" {
		if v, write := StatusFieldValue(user.Fields[f], member.Status); write {
			fields[f] = v
		}
	}
	if len(fields) == 0 {
		return e.settle(ctx, rec, Plan{Action: ActionRecord, Reason: fmt.Sprintf("the User already holds what the %s member means for it: nothing written", member.Status), Seen: seen}, contact)
	}
	if err := e.updateUser(ctx, rec, ap, user.ID, fields); err != nil {
		return outcome{changed: true}, err
	}
	if _, ok := fields[FieldMarketingOptIn]; ok {
		rec.logf("info", "the member unsubscribed in Mailchimp: MarketingOptIn of accessplanit user %s cleared (optouts_to_accessplanit)", user.ID)
	}
	err = rec.step("save_contact_state", func(map[string]any) error {
		if err := e.Contacts.SaveContact(ctx, seen); err != nil {
			return fmt.Errorf("save contact state: %w", err)
		}
		return nil
	})
	return outcome{status: StatusSucceeded, changed: true}, err
}

// statusFlowsBack reports whether a change is a Mailchimp unsubscribe or
// cleaned address the instance applies to accessplanit (a deletion is
// neither).
func statusFlowsBack(in Instance, c Change) bool {
	if c.Source != SideMailchimp {
		return false
	}
	switch {
	case c.Event == EventUnsubscribe && c.Action != "delete":
		return StatusFlowsBack(in, "unsubscribed")
	case c.Event == EventCleaned:
		return StatusFlowsBack(in, "cleaned")
	}
	return false
}

// StatusFlowsBack reports whether the instance applies a member's becoming
// of status to accessplanit: an unsubscribe with optouts_to_accessplanit or
// a mailchimp_status_field, a cleaned address with the status field.
func StatusFlowsBack(in Instance, status string) bool {
	if !in.Direction.Allows(FlowToAccessplanit) {
		return false
	}
	switch status {
	case "unsubscribed":
		return in.Consent != nil && in.Consent.OptoutsToAccessplanit || in.MailchimpStatusField != ""
	case "cleaned":
		return in.MailchimpStatusField != ""
	}
	return false
}

// StatusEvent is the Mailchimp event that tells of a member becoming of
// status, for the statuses StatusFlowsBack applies.
func StatusEvent(status string) Event {
	if status == "cleaned" {
		return EventCleaned
	}
	return EventUnsubscribe
}

// writeStatusField writes the member's Mailchimp status (or "blocked" for
// a contact Mailchimp refused) to the instance's mailchimp_status_field of
// its User, when StatusFieldValue says so, and records the write in the
// contact state seen (the state as saved last), so its webhook is
// suppressed as an echo. It never fails the change: the status field is a
// courtesy to staff, and the change's outcome stands either way.
func (e *Engine) writeStatusField(ctx context.Context, rec *recorder, in Instance, user User, seen Contact, values Values, memberStatus string) {
	f := in.MailchimpStatusField
	if f == "" || user.ID == "" {
		return
	}
	value, write := StatusFieldValue(user.Fields[f], memberStatus)
	if !write {
		return
	}
	ap, err := e.Connector.Accessplanit(in)
	if err == nil {
		err = rec.step("write_mailchimp_status", func(out map[string]any) error {
			out["user_id"] = user.ID
			out["changed_fields"] = map[string]string{f: value}
			if err := ap.UpdateUser(ctx, user.ID, map[string]string{f: value}); err != nil {
				return fmt.Errorf("write the Mailchimp status to accessplanit user %s: %w", user.ID, err)
			}
			seen.Accessplanit.RecordWrite(UserFingerprint(in, values, user), e.now())
			seen.Accessplanit.noteUser(user, in.AccessplanitUserID)
			if err := e.Contacts.SaveContact(ctx, seen); err != nil {
				return fmt.Errorf("save contact state: %w", err)
			}
			return nil
		})
	}
	if err != nil {
		rec.logf("warn", "could not write the Mailchimp status to %s of accessplanit user %s: %v", f, user.ID, err)
	}
}

// unsubscribe unsubscribes the member of a User who opted out in
// accessplanit (optouts_to_mailchimp). With a plan, it is the change's only
// write, and the plan's contact state is saved after it.
func (e *Engine) unsubscribe(ctx context.Context, rec *recorder, mc Mailchimp, in Instance, email string, plan Plan) (outcome, error) {
	err := rec.step("unsubscribe_member", func(out map[string]any) error {
		ctx, wait := WithBudgetWait(ctx)
		defer wait.record(out)
		m, err := mc.Unsubscribe(ctx, in.MailchimpListID, email)
		if errors.Is(err, ErrNotFound) {
			out["found"] = false
			return nil
		}
		if err != nil {
			return fmt.Errorf("unsubscribe Mailchimp member: %w", err)
		}
		out["status"] = m.Status
		return nil
	})
	if err != nil {
		return outcome{changed: true}, err
	}
	rec.logf("info", "the User opted out of marketing in accessplanit: Mailchimp member %s unsubscribed (optouts_to_mailchimp)", email)
	if plan.Seen.Email == "" {
		return outcome{status: StatusSucceeded, changed: true}, nil
	}
	err = rec.step("save_contact_state", func(map[string]any) error {
		if err := e.Contacts.SaveContact(ctx, plan.Seen); err != nil {
			return fmt.Errorf("save contact state: %w", err)
		}
		return nil
	})
	return outcome{status: StatusSucceeded, changed: true}, err
}
