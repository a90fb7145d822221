package backfill

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// newMemberStatus is the status the contact's member gets if the write
// creates it: the instance's consent decides from the planned User's
// MarketingOptIn (apmc.NewMemberStatus). It is "" for a member that exists,
// whose status a write never changes. A User the instance does not add is
// never planned for Mailchimp (apmc.DecidePair).
func newMemberStatus(in apmc.Instance, p apmc.Pair, d apmc.PairPlan) string {
	if p.Member != nil {
		return ""
	}
	var u apmc.User
	if i := slices.IndexFunc(p.Users, func(u apmc.User) bool { return u.ID == d.UserID }); i >= 0 {
		u = p.Users[i]
	}
	if status, add := apmc.NewMemberStatus(in.Consent, in.StatusIfNew, apmc.OptedIn(u)); add {
		return status
	}
	return string(apmc.NotOptedInTransactional)
}

// upsertByStatus writes a batch of members with one batch call per status
// the new ones get (status_if_new is one per call here); members that exist
// ("" status) go with the first call. Without consent settings, or when
// every new member gets the same status, that is one call.
func (a Applier) upsertByStatus(ctx context.Context, in apmc.Instance, batch []apmc.Member, statuses []string, res *Result) (Written, map[string]error, error) {
	var written Written
	refused := map[string]error{}
	// A batch subscribe takes no marketing permissions: a member with some
	// is written on its own, as the live sync does.
	var batched []apmc.Member
	var batchedStatuses []string
	for i, m := range batch {
		if len(m.MarketingPermissions) == 0 {
			batched, batchedStatuses = append(batched, m), append(batchedStatuses, statuses[i])
			continue
		}
		res.MailchimpRequests++
		w, err := a.Member.UpsertMember(ctx, in.MailchimpListID, m, cmp.Or(statuses[i], in.StatusIfNew))
		switch {
		case err == nil:
			// A single write does not say whether it created the member,
			// and sends no tags: it counts as one that existed.
			written.Updated = append(written.Updated, w)
		case apmc.IsPermanent(err):
			refused[apmc.NormaliseEmail(m.Email)] = err
		default:
			return Written{}, nil, fmt.Errorf("write member %s with its marketing permissions: %w", m.Email, err)
		}
	}
	if len(batched) == 0 {
		return written, refused, nil
	}
	batch, statuses = batched, batchedStatuses
	groups := slices.Compact(slices.Sorted(slices.Values(statuses)))
	if groups[0] == "" {
		groups = groups[1:]
	}
	if len(groups) == 0 {
		groups = []string{in.StatusIfNew}
	}
	for g, status := range groups {
		var part []apmc.Member
		for i, m := range batch {
			if statuses[i] == status || statuses[i] == "" && g == 0 {
				part = append(part, m)
			}
		}
		res.MailchimpRequests++
		w, r, err := a.Mailchimp.UpsertMembers(ctx, in.MailchimpListID, part, status)
		if err != nil {
			return Written{}, nil, err
		}
		written.add(w)
		maps.Copy(refused, r)
	}
	return written, refused, nil
}
