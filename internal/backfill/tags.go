package backfill

import "github.com/apmc-sync/apmc/internal/apmc"

// newMemberTags are the tags a member the first sync creates is given in
// the batch: the User's tags, when the instance syncs them. A member that
// exists already gets none from the batch (the live sync decides its tags,
// so one a marketer added is never taken over), and training activity is
// read by the contact's first live change.
func newMemberTags(in apmc.Instance, p apmc.Pair, d apmc.PairPlan) []string {
	if p.Member != nil || !in.Tags.Sync {
		return nil
	}
	for _, u := range p.Users {
		if u.ID == d.UserID {
			return apmc.ContactTags(in, u, nil)
		}
	}
	return nil
}
