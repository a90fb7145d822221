package backfill

import (
	"context"
	"maps"
	"slices"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// newMemberStatus is the status the contact's member gets if the write
// creates it: the instance's consent decides from the planned User's
// MarketingOptIn (apmc.NewMemberStatus). A User the instance does not add
// is never planned for Mailchimp (apmc.DecidePair), so only an existing
// member can reach here without a status, and the status then does not
// apply.
func newMemberStatus(in apmc.Instance, p apmc.Pair, d apmc.PairPlan) string {
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
// they get if new (Mailchimp's status_if_new is one per call here): one
// call without consent settings, at most two with them.
func (a Applier) upsertByStatus(ctx context.Context, in apmc.Instance, batch []apmc.Member, statuses []string, res *Result) ([]apmc.Member, map[string]error, error) {
	var written []apmc.Member
	refused := map[string]error{}
	for _, status := range slices.Compact(slices.Sorted(slices.Values(statuses))) {
		var part []apmc.Member
		for i, m := range batch {
			if statuses[i] == status {
				part = append(part, m)
			}
		}
		res.MailchimpRequests++
		w, r, err := a.Mailchimp.UpsertMembers(ctx, in.MailchimpListID, part, status)
		if err != nil {
			return nil, nil, err
		}
		written = append(written, w...)
		maps.Copy(refused, r)
	}
	return written, refused, nil
}
