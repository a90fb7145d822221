package apmc

import (
	"context"
	"fmt"
)

// Recording a write before it is made. A write to Mailchimp whose echo may
// be applied before the change that made it (announce.go) is, for a contact
// the service already knows — its state saved, its member's contact id
// known, no tags or training activity managed, no opt-out to send — not
// announced: its pending write (the fingerprint its echo is matched
// against) is saved in the contact state before the call, in the one save
// the change makes, and nothing is saved after it. That costs what a write
// costs without the bulk lane, where an announcement costs two write units
// per member.
//
// The state saved first keeps what the service knew before: the values
// both sides are known to hold stay those confirmed, not the ones being
// written, so nothing is taken for done before Mailchimp answered. A write
// that fails is sent again by its retry, decided from the same state; a
// Mailchimp change applied meanwhile is compared with what Mailchimp was
// known to hold; a repeated or forged echo claim can only use up the
// pending write (as ClaimedEcho says). What a successful write sent is not
// recorded as Mailchimp's values, so the contact's next write sends those
// values again with its own (the same single call). The User's opt-in, read
// back from accessplanit, is saved at once: an opt-out is a change from it.
// New contacts, contacts whose tags or training activity the service
// manages, and opt-outs are announced instead: their state after the write
// holds what only the write's answer tells.

// canPresave reports whether a write's pending write can be saved before
// it.
func canPresave(plan Plan, contact Contact, marketing bool) bool {
	return plan.Action == ActionWrite && !plan.Unsubscribe && !marketing && contact.Version > 0 && contact.MemberContactID != ""
}

// presave saves, before the write, the contact's state as it was with the
// write's pending write recorded (and the User's opt-in as read), and
// returns it as stored.
func (e *Engine) presave(ctx context.Context, rec *recorder, contact Contact, plan Plan) (Contact, error) {
	pre := contact
	pre.Mailchimp.RecordWrite(plan.Values.Fingerprint(), e.now())
	pre.MarketingOptIn = plan.Seen.MarketingOptIn
	if plan.Seen.UserID != "" {
		pre.UserID = plan.Seen.UserID
	}
	var saved Contact
	err := rec.step("save_contact_state", func(out map[string]any) error {
		out["before_the_write"] = true
		var err error
		if saved, err = e.saveContact(ctx, contact, pre, false, out); err != nil {
			return fmt.Errorf("save the pending write before the write: %w", err)
		}
		return nil
	})
	return saved, err
}
