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

// optOutToAccessplanit applies a Mailchimp unsubscribe to accessplanit when
// the instance sends opt-outs there: the member is read back (the delivery
// is a trigger), and only a member Mailchimp holds as unsubscribed clears
// the linked User's MarketingOptIn. Nothing else of the User changes.
func (e *Engine) optOutToAccessplanit(ctx context.Context, rec *recorder, in Instance, c Change) (outcome, error) {
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
	if member.Status != "unsubscribed" {
		return outcome{status: StatusSkipped, reason: fmt.Sprintf("the member is %s in Mailchimp, not unsubscribed: nothing is written", member.Status)}, nil
	}
	contact, err := e.loadContact(ctx, rec, in.ID, email)
	if err != nil {
		return outcome{}, err
	}
	ap, err := e.Connector.Accessplanit(in)
	if err != nil {
		return outcome{}, fmt.Errorf("connect to accessplanit: %w", err)
	}
	var user User
	err = rec.step("find_user", func(out map[string]any) error {
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
	if err != nil {
		return outcome{}, err
	}
	if !found {
		return outcome{status: StatusSkipped, reason: "no accessplanit User has this address: nothing is written"}, nil
	}
	seen := contact
	seen.UserID = user.ID
	optedOut := false
	seen.MarketingOptIn = &optedOut
	if !OptOutToAccessplanit(in.Consent, member.Status, OptedIn(user)) {
		return e.settle(ctx, rec, Plan{Action: ActionRecord, Reason: "the User has not opted in to marketing: nothing to clear", Seen: seen}, contact)
	}
	err = rec.step("update_user", func(out map[string]any) error {
		out["user_id"] = user.ID
		out["changed_fields"] = map[string]string{FieldMarketingOptIn: "false"}
		out["accessplanit_requests"] = 1
		if err := ap.UpdateUser(ctx, user.ID, map[string]string{FieldMarketingOptIn: "false"}); err != nil {
			return fmt.Errorf("clear MarketingOptIn of accessplanit user %s: %w", user.ID, err)
		}
		return nil
	})
	if err != nil {
		return outcome{changed: true}, err
	}
	rec.logf("info", "the member unsubscribed in Mailchimp: MarketingOptIn of accessplanit user %s cleared (optouts_to_accessplanit)", user.ID)
	err = rec.step("save_contact_state", func(map[string]any) error {
		if err := e.Contacts.SaveContact(ctx, seen); err != nil {
			return fmt.Errorf("save contact state: %w", err)
		}
		return nil
	})
	return outcome{status: StatusSucceeded, changed: true}, err
}

// optOutFlowsBack reports whether a change is a Mailchimp unsubscribe the
// instance sends to accessplanit (a deletion is not an opt-out).
func optOutFlowsBack(in Instance, c Change) bool {
	return c.Source == SideMailchimp && c.Event == EventUnsubscribe && c.Action != "delete" &&
		in.Consent != nil && in.Consent.OptoutsToAccessplanit && in.Direction.Allows(FlowToAccessplanit)
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
