package apmc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
)

// mergeContact applies what one execution changed in a contact state (from
// base, the state it loaded, to mine, the state it means to save) onto
// theirs, the state another execution stored meanwhile. It reports false
// when both changed the same part differently: then the execution is tried
// again on the stored state. Pending writes merge as lists (those mine
// added are added, those mine used up are taken out), and source and write
// times keep the later.
//
// A booking is queued by User, not by email (its delivery carries no
// address), so it can run beside the echo of its own member write; the tags
// it applied must not be forgotten to that: a forgotten managed tag would
// look like a marketer's and never be taken off again.
func mergeContact(base, mine, theirs Contact) (Contact, bool) {
	out := theirs
	ok := true
	take := func(b, m, t any, set func()) {
		if reflect.DeepEqual(b, m) {
			return
		}
		if !reflect.DeepEqual(b, t) && !reflect.DeepEqual(m, t) {
			ok = false
		}
		set()
	}
	take(base.UserID, mine.UserID, theirs.UserID, func() { out.UserID = mine.UserID })
	take(base.MemberContactID, mine.MemberContactID, theirs.MemberContactID, func() { out.MemberContactID = mine.MemberContactID })
	take(base.MovedTo, mine.MovedTo, theirs.MovedTo, func() { out.MovedTo = mine.MovedTo })
	take(base.MovedFrom, mine.MovedFrom, theirs.MovedFrom, func() { out.MovedFrom = mine.MovedFrom })
	take(base.MarketingOptIn, mine.MarketingOptIn, theirs.MarketingOptIn, func() { out.MarketingOptIn = mine.MarketingOptIn })
	for _, side := range []struct{ b, m, t, o *SideState }{
		{&base.Mailchimp, &mine.Mailchimp, &theirs.Mailchimp, &out.Mailchimp},
		{&base.Accessplanit, &mine.Accessplanit, &theirs.Accessplanit, &out.Accessplanit},
	} {
		b, m, t, o := side.b, side.m, side.t, side.o
		take(b.Values.Set(), m.Values.Set(), t.Values.Set(), func() { o.Values = m.Values })
		take(ManagedTags(*b), ManagedTags(*m), ManagedTags(*t), func() { o.Tags, o.TagsAppliedAt = m.Tags, m.TagsAppliedAt })
		take(b.Activity, m.Activity, t.Activity, func() { o.Activity = m.Activity })
		take(b.Status, m.Status, t.Status, func() { o.Status = m.Status })
		o.WrittenAt = later(t.WrittenAt, m.WrittenAt)
		o.SourceTime = later(t.SourceTime, m.SourceTime)
		o.OthersChangedAt = later(t.OthersChangedAt, m.OthersChangedAt)
		pending := slices.DeleteFunc(slices.Clone(t.Pending), func(p PendingWrite) bool {
			return slices.Contains(b.Pending, p) && !slices.Contains(m.Pending, p)
		})
		for _, p := range m.Pending {
			if !slices.Contains(b.Pending, p) && !slices.Contains(pending, p) {
				pending = append(pending, p)
			}
		}
		o.Pending = pending
	}
	return out, ok
}

// saveContact saves mine, loaded as base, and returns it as stored. With
// mergeable, a state another change stored meanwhile is merged with it
// (mergeContact) when the two changed different parts; otherwise the
// conflict is returned and the change is tried again.
func (e *Engine) saveContact(ctx context.Context, base, mine Contact, mergeable bool, out map[string]any) (Contact, error) {
	err := e.Contacts.SaveContact(ctx, mine)
	if err == nil {
		mine.Version++
		return mine, nil
	}
	if !errors.Is(err, ErrConflict) || !mergeable || base.Email != mine.Email || base.Version != mine.Version {
		return Contact{}, fmt.Errorf("save contact state: %w", err)
	}
	theirs, err := e.Contacts.Contact(ctx, mine.InstanceID, mine.Email)
	if err != nil {
		return Contact{}, fmt.Errorf("save contact state: read the state stored meanwhile: %w", err)
	}
	merged, ok := mergeContact(base, mine, theirs)
	if !ok {
		return Contact{}, fmt.Errorf("save contact state: another change of the contact changed the same values meanwhile: %w", ErrConflict)
	}
	merged.Version = theirs.Version
	if err := e.Contacts.SaveContact(ctx, merged); err != nil {
		return Contact{}, fmt.Errorf("save contact state: %w", err)
	}
	out["merged_with_concurrent_change"] = true
	merged.Version++
	return merged, nil
}
