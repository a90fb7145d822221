package apmc

import (
	"context"
	"fmt"
	"maps"
	"time"
)

// marketing is what an accessplanit change means for the member beyond its
// mapped fields: its tags and its training activity fields.
type marketing struct {
	on bool
	// tags are the tags the member should carry (prefix included).
	tags []string
	// activity is the training activity to remember (nil: none).
	activity *Activity
	// fields are the activity merge fields that differ from what Mailchimp
	// was last sent.
	fields Values
}

// marketingFor works out the member's desired tags and training activity
// fields for a User. Training activity is read from accessplanit when the
// change is a booking, or when the User's booking dates (BookingMarker)
// differ from those of the last read (a User that has never booked has none
// to read); any other change reuses what was read last, so a User change
// costs no extra accessplanit request. The delegates are taken from the
// batch's reads when the batch read them with the other Users' (one request
// for the batch), and read for this User alone otherwise.
//
// Only a plan that reaches the member counts: a write, a move, a record
// (the fields already match), and a booking whose User holds nothing new.
func (e *Engine) marketingFor(ctx context.Context, rec *recorder, ap Accessplanit, in Instance, c Change, user User, contact Contact, p Plan, reads *Reads) (marketing, error) {
	m := marketing{on: in.syncsTags()}
	switch {
	case p.Action == ActionWrite, p.Action == ActionMove, p.Action == ActionRecord:
	case p.Action == ActionSuppress && c.Event == EventBooking:
	default:
		m.on = false
	}
	if !m.on {
		return m, nil
	}
	known := contact.Accessplanit.Activity
	var activityTags []string
	if in.Activity.Enabled {
		act := known
		marker := BookingMarker(user)
		switch {
		case readsActivity(c, known, marker, e.now()):
			err := rec.step("read_training_activity", func(out map[string]any) error {
				delegates, batched, share := reads.userDelegates(in.ID, user.ID)
				maps.Copy(out, share)
				if !batched {
					var err error
					if delegates, err = ap.Delegates(ctx, user.ID); err != nil {
						return fmt.Errorf("read the delegates of accessplanit user %s: %w", user.ID, err)
					}
					out["read"] = "single"
					out["accessplanit_requests"] = 1
				}
				out["delegates"] = len(delegates)
				if c.DelegateID != "" {
					out["trigger_delegate"] = c.DelegateID
				}
				var bookings []string
				for _, d := range delegates {
					bookings = append(bookings, fmt.Sprintf("%s %s (%s)", d.Course, d.Start.Format(time.DateOnly), orString(d.RawStatus, string(d.Status))))
				}
				if len(bookings) > 0 {
					out["bookings"] = bookings
				}
				read := TrainingActivity(delegates, in.Activity, e.now())
				read.ReadAt, read.Marker = e.now().UTC(), marker
				act = &read
				return nil
			})
			if err != nil {
				return m, err
			}
		case known == nil:
			// The User has never booked: no delegates to read.
			none := TrainingActivity(nil, in.Activity, e.now())
			act = &none
		}
		activityTags = act.Tags
		var before Values
		if known != nil && !known.Unsent {
			before = known.Fields
		}
		m.fields = Values{}
		for _, tag := range act.Fields.Diff(before) {
			m.fields[tag] = act.Fields[tag]
		}
		m.activity = act
	}
	m.tags = ContactTags(in, user, activityTags)
	return m, nil
}

// readsActivity reports whether a change reads its User's delegates: a
// booking, a change of a User whose booking dates (marker) differ from
// those the known activity was read with, or one whose next course has
// started since (NEXTCOURSE moves on); a User that has never booked has
// none to read.
func readsActivity(c Change, known *Activity, marker string, now time.Time) bool {
	return c.Event == EventBooking || known == nil && marker != "" || known != nil && (known.Marker != marker || known.started(now))
}

// pending reports whether the member needs a write beyond its fields.
func (m marketing) pending(contact Contact) bool {
	if !m.on {
		return false
	}
	return len(m.fields) > 0 || !sameTags(m.tags, contact.Mailchimp.Tags)
}

// remember puts what was read into the contact state to save, as sent to
// the member.
func (m marketing) remember(seen Contact) Contact {
	if m.activity != nil {
		a := *m.activity
		a.Unsent = false
		seen.Accessplanit.Activity = &a
	}
	return seen
}

// rememberUnsent puts what was read into the contact state to save when
// the member gets none of it (not added, or refused): kept, so the
// bookings need not be read again, but marked unsent, so the write that
// reaches the member sends every activity field.
func (m marketing) rememberUnsent(seen Contact) Contact {
	if m.activity != nil {
		a := *m.activity
		a.Unsent = true
		seen.Accessplanit.Activity = &a
	}
	return seen
}

// withFields adds the activity fields to a write.
func (m marketing) withFields(write Values) Values {
	if len(m.fields) == 0 {
		return write
	}
	out := maps.Clone(write)
	if out == nil {
		out = Values{}
	}
	maps.Copy(out, m.fields)
	return out
}

// applyTags decides and writes the member's tags: the step "update_tags".
// written is the member as a write just answered it (its tags known), or
// nil when the member was not written. It returns the managed tags to
// remember, and whether it wrote. Tags are added blind (no read first);
// only taking off a tag the service applied blind reads the member's tags
// first, to leave a marketer's tag of the same name where it is — unless
// the tag is under the instance's prefix, which makes it the service's.
func (e *Engine) applyTags(ctx context.Context, rec *recorder, mc Mailchimp, in Instance, email string, m marketing, managed []ManagedTag, written *Member) ([]ManagedTag, bool, error) {
	if !m.on {
		return managed, false, nil
	}
	input := TagInput{Desired: m.tags, Managed: managed, Prefix: in.Tags.Prefix, Since: rec.since}
	if written != nil {
		input.Current, input.CurrentKnown = memberTagNames(written.Tags), true
	}
	if NeedsTagDates(input) {
		// A tag to take off was added blind: it is the service's only if
		// Mailchimp added it no earlier than the service did.
		err := rec.step("read_member_tags", func(out map[string]any) error {
			ctx, wait := WithBudgetWait(ctx)
			defer wait.record(out)
			tags, err := mc.MemberTags(ctx, in.MailchimpListID, email)
			if err != nil {
				return fmt.Errorf("read Mailchimp member tags: %w", err)
			}
			input.Current, input.CurrentKnown, input.CurrentDated = tags, true, true
			out["tags"] = len(tags)
			return nil
		})
		if err != nil {
			return nil, false, err
		}
	}
	plan := DecideTags(input)
	if len(plan.Disowned) > 0 {
		rec.logf("info", "Mailchimp tags %q of %s were there before the service applied them (a marketer's): left on the member", plan.Disowned, email)
	}
	if len(plan.Add) == 0 && len(plan.Remove) == 0 {
		return plan.Managed, false, nil
	}
	var applied time.Time
	err := rec.step("update_tags", func(out map[string]any) error {
		if len(plan.Add) > 0 {
			out["tags_added"] = plan.Add
		}
		if len(plan.Remove) > 0 {
			out["tags_removed"] = plan.Remove
		}
		ctx, wait := WithBudgetWait(ctx)
		defer wait.record(out)
		var err error
		applied, err = mc.UpdateTags(ctx, in.MailchimpListID, email, plan.Changes())
		if err != nil {
			return fmt.Errorf("write Mailchimp member tags: %w", err)
		}
		if len(plan.Blind) > 0 {
			if applied.IsZero() {
				applied = e.now()
			}
			out["tags_applied_at"] = applied.UTC().Format(time.RFC3339)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	rec.logf("info", "Mailchimp tags of %s written: %d added, %d removed", email, len(plan.Add), len(plan.Remove))
	if !rec.since.IsZero() && rec.since.Before(applied) {
		// An earlier attempt may have added the blind tags already, and
		// Mailchimp keeps the date it added them.
		applied = rec.since
	}
	return plan.Stamp(applied), true, nil
}

// tagsOnly ends a change whose member fields need no write: only its tags
// may. It writes nothing when they match.
func (e *Engine) tagsOnly(ctx context.Context, rec *recorder, mc Mailchimp, in Instance, c Change, email string, m marketing, plan Plan, contact Contact) (outcome, error) {
	if !m.pending(contact) {
		if c.Event == EventBooking && plan.Action != ActionSkip {
			plan.Action, plan.Reason = ActionRecord, "the booking changes none of the member's tags or fields; nothing written to Mailchimp"
		}
		return e.settle(ctx, rec, plan, contact)
	}
	seen := plan.Seen
	tags, wrote, err := e.applyTags(ctx, rec, mc, in, email, m, ManagedTags(contact.Mailchimp), nil)
	if err != nil {
		return outcome{}, err
	}
	seen.Mailchimp = seen.Mailchimp.withManagedTags(tags)
	if !wrote {
		plan.Seen = seen
		plan.Action, plan.Reason = ActionRecord, "the member's tags need no write (those that differ are a marketer's, added in Mailchimp before the service's, or gone already); nothing written"
		return e.settle(ctx, rec, plan, contact)
	}
	err = rec.step("save_contact_state", func(out map[string]any) error {
		_, err := e.saveContact(ctx, contact, seen, true, out)
		return err
	})
	return outcome{status: StatusSucceeded, changed: true}, err
}

// tagsAfterWrite writes the member's tags after its fields were written
// (written is the write's answer, which carries the member's tags) and
// returns the contact state as stored and to store. done says the state is
// stored already: a booking, queued by User rather than with the contact's
// email, can run beside the echo of its own member write, so its write is
// recorded before the tags call, for the echo to find it pending.
//
// managed are the tags the service applied to the member written (none when
// an email change wrote to another member than the one it had).
func (e *Engine) tagsAfterWrite(ctx context.Context, rec *recorder, mc Mailchimp, in Instance, c Change, email string, m marketing, plan Plan, contact, seen Contact, written Member, managed []ManagedTag) (stored, next Contact, done bool, err error) {
	early := c.Event == EventBooking && plan.Action != ActionMove
	if early {
		err = rec.step("save_contact_state", func(out map[string]any) error {
			var err error
			contact, err = e.saveContact(ctx, contact, seen, true, out)
			return err
		})
		if err != nil {
			return contact, seen, false, err
		}
		seen = contact
	}
	tags, wrote, err := e.applyTags(ctx, rec, mc, in, email, m, managed, &written)
	if err != nil {
		return contact, seen, false, err
	}
	seen.Mailchimp = seen.Mailchimp.withManagedTags(tags)
	return contact, seen, early && !wrote, nil
}
