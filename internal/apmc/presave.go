package apmc

import (
	"context"
	"fmt"
)

// Saving before writing. A write to Mailchimp whose echo may be applied
// before the change that made it (announce.go) is, for a contact the
// service already knows — its state saved, its member's contact id known,
// no tags to manage — not announced: the state it would save after the
// write (the written values and the pending write its echo is matched
// against) is saved before it instead, so the echo finds it whenever it
// comes, and the save after the write is left out. That costs nothing more
// than writing without the lane, where an announcement costs a write unit
// or two per member.
//
// The state then says the write was made before Mailchimp answered. So it
// marks the write Unconfirmed: until its echo (or a save after a write that
// answered something new) confirms it, the next write of the contact sends
// every value instead of what differs, which is right whether or not the
// write landed. A write that fails leaves its pending write for the echo
// window (as a write that succeeds does) and the change is tried again.
// New contacts, and contacts whose tags the service manages, are announced
// instead: their state after the write holds what only Mailchimp's answer
// tells (the member's contact id, when its tags were applied).

// canPresave reports whether a write's state can be saved before it.
func canPresave(plan Plan, contact Contact, tags bool) bool {
	return plan.Action == ActionWrite && !plan.Unsubscribe && !tags && contact.Version > 0 && contact.MemberContactID != ""
}

// presave saves the state the write will leave, as Unconfirmed, before the
// write, and returns it as stored.
func (e *Engine) presave(ctx context.Context, rec *recorder, contact Contact, plan Plan) (Contact, error) {
	seen := plan.Seen
	fp := plan.Values.Fingerprint()
	seen.Mailchimp.Values = plan.Values
	seen.Mailchimp.RecordWrite(fp, e.now())
	seen.Mailchimp.Unconfirmed = fp
	var saved Contact
	err := rec.step("save_contact_state", func(out map[string]any) error {
		out["before_the_write"] = true
		var err error
		if saved, err = e.saveContact(ctx, contact, seen, false, out); err != nil {
			return fmt.Errorf("save the state before the write: %w", err)
		}
		return nil
	})
	return saved, err
}

// confirmAfterPresave reports whether a write whose state was saved before
// it needs a save after it: when Mailchimp's answer says something the
// state does not hold (another contact id) or the write ended otherwise
// than succeeded.
func confirmAfterPresave(stored Contact, written Member, result outcome) bool {
	return result.status != StatusSucceeded || (written.ContactID != "" && written.ContactID != stored.MemberContactID)
}
