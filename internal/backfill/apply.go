package backfill

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// MaxBatch is the most members one batch subscribe call carries
// (Mailchimp's limit).
const MaxBatch = 500

// MemberBatches writes many members of an audience in one call.
type MemberBatches interface {
	// UpsertMembers creates or updates the members in one call: a new member
	// gets statusIfNew, an existing member's status is never changed. It
	// returns the members written and, by email, why the others were
	// refused; err means the whole call failed.
	UpsertMembers(ctx context.Context, listID string, members []apmc.Member, statusIfNew string) (written Written, refused map[string]error, err error)
}

// Written are the members a batch call wrote, as Mailchimp's answer tells
// them apart: Created (its new_members) did not exist before the call;
// Updated (its updated_members) did, even when planned as new, since a
// member may sign up between the read and the write.
type Written struct {
	Created, Updated []apmc.Member
}

// add appends o's members to w's.
func (w *Written) add(o Written) {
	w.Created = append(w.Created, o.Created...)
	w.Updated = append(w.Updated, o.Updated...)
}

// Applier applies a plan: it reads both sides again, decides every contact
// afresh and writes what that decision says.
type Applier struct {
	Reader    Reader
	Mailchimp MemberBatches
	// Member makes the single calls a move needs.
	Member       apmc.Mailchimp
	Accessplanit apmc.Accessplanit
	Contacts     apmc.Contacts
	Executions   apmc.Executions
	// Pace waits before each accessplanit write (the instance's request
	// budget); nil does not wait.
	Pace func(ctx context.Context) error
	// Cancelled is asked between batches; true stops the apply cleanly.
	Cancelled func(ctx context.Context) bool
	// Until, when set, stops the apply at the first batch boundary at or
	// after it, with an incomplete result: the job function's time is up
	// and a continuation carries on. At least one batch is written first,
	// so every run makes progress.
	Until time.Time
	// Concurrency caps the batch calls in flight (the function's share of
	// Mailchimp's connections); 0 means BatchConcurrency.
	Concurrency int
	Now         func() time.Time
}

// Result is what an apply did.
type Result struct {
	// Counts are the fresh decisions, by action.
	Counts map[apmc.PairAction]int `json:"counts"`
	// Written counts the contacts written, Failed those refused and
	// Blocked those Mailchimp will not take (compliance state, permanently
	// deleted): their executions are blocked, not failed.
	Written int `json:"written"`
	Failed  int `json:"failed"`
	Blocked int `json:"blocked"`
	// ChangedSincePlan counts contacts decided otherwise than in the plan.
	ChangedSincePlan int `json:"changed_since_plan"`
	// ChangedLive counts contacts left alone because a live change reached
	// them while the apply ran.
	ChangedLive int `json:"changed_live"`
	// MailchimpRequests counts the batch calls (and single moves).
	MailchimpRequests int  `json:"mailchimp_requests"`
	Cancelled         bool `json:"cancelled,omitempty"`
	// Incomplete says the apply stopped at Applier.Until with contacts
	// left to write; applying the plan again carries on.
	Incomplete bool `json:"incomplete,omitempty"`
}

// then is the result of a job whose earlier runs did r and whose latest
// run did next. The counts and the changes since the plan are the first
// run's: a later run finds the contacts written before unchanged.
func (r *Result) then(next Result) Result {
	if r == nil {
		return next
	}
	out := next
	out.Counts, out.ChangedSincePlan = r.Counts, r.ChangedSincePlan
	out.Written += r.Written
	out.Failed += r.Failed
	out.Blocked += r.Blocked
	out.ChangedLive += r.ChangedLive
	out.MailchimpRequests += r.MailchimpRequests
	return out
}

// refused counts a contact whose write was refused, and marks its write
// step: blocked when Mailchimp will not take the contact (not a failure:
// nothing to retry or fix), failed otherwise.
func (r *Result) refused(step *apmc.Step, why error) {
	if reason, blocked := apmc.BlockedReason(why); blocked {
		step.Status, step.Error = string(apmc.StatusBlocked), reason
		r.Blocked++
		return
	}
	step.Status, step.Error = "failed", why.Error()
	r.Failed++
}

// Apply applies plan to the instance. A plan from another instance, or an
// expired one, is refused.
func (a Applier) Apply(ctx context.Context, in apmc.Instance, plan Plan, progress Progress) (Result, error) {
	now := a.now()
	if plan.InstanceID != in.ID {
		return Result{}, apmc.Invalidf("plan %s is for instance %s, not %s", plan.ID, plan.InstanceID, in.ID)
	}
	if !now.Before(plan.ExpiresAt) {
		return Result{}, apmc.Invalidf("plan %s expired at %s: make a new plan", plan.ID, plan.ExpiresAt.Format(time.RFC3339))
	}
	planned := make(map[string]apmc.PairAction, len(plan.Contacts))
	for _, c := range plan.Contacts {
		planned[c.Email] = c.Action
	}
	return a.apply(ctx, in, planned, progress)
}

// apply reads both sides, decides every contact afresh and writes. With
// planned (the plan's actions by email) it counts the contacts decided
// otherwise; a continuation passes nil, its job having counted them in its
// first run.
func (a Applier) apply(ctx context.Context, in apmc.Instance, planned map[string]apmc.PairAction, progress Progress) (Result, error) {
	now := a.now()
	pairs, err := a.Reader.Pairs(ctx, in)
	if err != nil {
		return Result{}, err
	}
	res := Result{}
	var decided []apmc.PairPlan
	var toMC, toAP []int // indexes into pairs/decided
	for i, p := range pairs {
		d := apmc.DecidePair(in, p, now)
		decided = append(decided, d)
		if was, ok := planned[d.Email]; planned != nil && (ok && was != d.Action || !ok && d.Action != apmc.PairUnchanged) {
			res.ChangedSincePlan++
		}
		switch side, writes := d.Writes(); {
		case writes && side == apmc.SideMailchimp:
			toMC = append(toMC, i)
		case writes && side == apmc.SideAccessplanit:
			toAP = append(toAP, i)
		case p.Member == nil && p.Contact.MovedTo != "" && p.Contact.Version > 0:
			// An email change Mailchimp made while its webhook was lost: the
			// contact remembers it, so the live sync never adds the old
			// address back for the old User either.
			if err := a.Contacts.SaveContact(ctx, p.Contact); err != nil && !errors.Is(err, apmc.ErrConflict) {
				return res, fmt.Errorf("remember the move of %s: %w", p.Contact.Email, err)
			}
		default:
			if err := a.rememberUnchanged(ctx, in, p, d, &res); err != nil {
				return res, err
			}
		}
	}
	res.Counts = apmc.PlanCounts(decided)
	done := 0
	report := func(n int) {
		done += n
		if progress != nil {
			progress("apply", done)
		}
	}
	if err := a.batches(ctx, in, pairs, decided, toMC, &res, report); err != nil || res.Cancelled || res.Incomplete {
		return res, err
	}
	for _, i := range toAP {
		if a.cancelled(ctx) {
			res.Cancelled = true
			return res, nil
		}
		if done > 0 && a.timeUp() {
			res.Incomplete = true
			return res, nil
		}
		if err := a.toAccessplanit(ctx, in, pairs[i], decided[i], &res); err != nil {
			return res, err
		}
		report(1)
	}
	return res, nil
}

// BatchConcurrency is how many batch calls an apply has in flight at once:
// a batch call of 500 members takes about a second, so one at a time would
// cap an apply near 500 contacts a second. Eight stay under Mailchimp's 10
// connections per user, leaving two for the live sync: the CLI and the
// local stack, which run alone, use it; the deployed job function is held
// to its share of the connections (Applier.Concurrency).
const BatchConcurrency = 8

// batches writes the contacts at toMC to Mailchimp in batch calls, up to
// a.concurrency() at once. It stops sending batches at the first error or
// cancel, waits for those in flight, and reports each batch done.
func (a Applier) batches(ctx context.Context, in apmc.Instance, pairs []apmc.Pair, decided []apmc.PairPlan, toMC []int, res *Result, report func(int)) error {
	var (
		mu       sync.Mutex // guards res, failure and report
		failure  error
		wg       sync.WaitGroup
		inFlight = make(chan struct{}, a.concurrency())
	)
	sent := 0
	for chunk := range slices.Chunk(toMC, MaxBatch) {
		inFlight <- struct{}{}
		mu.Lock()
		stop := failure != nil
		mu.Unlock()
		if stop || a.cancelled(ctx) {
			<-inFlight
			mu.Lock()
			res.Cancelled = res.Cancelled || !stop
			mu.Unlock()
			break
		}
		// Near the run's deadline the apply stops at a batch boundary (after
		// one batch at least, so a run always makes progress); the job's
		// next run decides the rest afresh.
		if sent > 0 && a.timeUp() {
			<-inFlight
			mu.Lock()
			res.Incomplete = true
			mu.Unlock()
			break
		}
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inFlight }()
			var part Result
			err := a.toMailchimp(ctx, in, pairs, decided, chunk, &part)
			mu.Lock()
			defer mu.Unlock()
			res.Written += part.Written
			res.Failed += part.Failed
			res.Blocked += part.Blocked
			res.ChangedLive += part.ChangedLive
			res.MailchimpRequests += part.MailchimpRequests
			if err != nil {
				failure = cmp.Or(failure, err)
				return
			}
			report(len(chunk))
		}()
	}
	wg.Wait()
	return failure
}

// toMailchimp writes one batch of contacts to Mailchimp.
func (a Applier) toMailchimp(ctx context.Context, in apmc.Instance, pairs []apmc.Pair, decided []apmc.PairPlan, chunk []int, res *Result) error {
	var batch []apmc.Member
	var statuses []string // the status each member of batch gets if it is new
	var live []int
	for _, i := range chunk {
		p, d := pairs[i], decided[i]
		if p.Member != nil && apmc.NormaliseEmail(p.Member.Email) != d.Email {
			// A linked User whose email changed: the member moves, one call.
			if a.changedLive(ctx, in.ID, p) {
				res.ChangedLive++
				continue
			}
			if err := a.move(ctx, in, p, d, res); err != nil {
				return err
			}
			continue
		}
		// The write is announced in the contact's state before the call, so
		// the webhooks the batch makes Mailchimp send find it pending and are
		// suppressed as echoes, even when they are applied before this
		// apply gets the batch's answer. Saved under the version the pair
		// was read with: a live change since leaves the contact to the live
		// sync.
		c := contactFor(in, p, d)
		c.Mailchimp.RecordWrite(d.ToMailchimp.Fingerprint(), a.now())
		if err := a.Contacts.SaveContact(ctx, c); errors.Is(err, apmc.ErrConflict) {
			res.ChangedLive++
			continue
		} else if err != nil {
			return fmt.Errorf("announce the write of %s: %w", d.Email, err)
		}
		m := apmc.MemberToWrite(in.Mappings, d.Email, d.ToMailchimp)
		m.Tags = newMemberTags(in, p, d)
		batch = append(batch, m)
		statuses = append(statuses, newMemberStatus(in, p, d))
		live = append(live, i)
	}
	if len(batch) == 0 {
		return nil
	}
	started := a.now()
	written, refused, err := a.upsertByStatus(ctx, in, batch, statuses, res)
	if err != nil {
		return fmt.Errorf("batch write of %d members: %w", len(batch), err)
	}
	byEmail, created := map[string]apmc.Member{}, map[string]bool{}
	for _, m := range written.Updated {
		byEmail[apmc.NormaliseEmail(m.Email)] = m
	}
	for _, m := range written.Created {
		byEmail[apmc.NormaliseEmail(m.Email)], created[apmc.NormaliseEmail(m.Email)] = m, true
	}
	for _, i := range live {
		p, d := pairs[i], decided[i]
		step := apmc.Step{Name: "batch_upsert_members", Status: "ok", Output: map[string]any{"batch_size": len(batch), "mailchimp_requests_per_contact": 1 / float64(len(batch))}}
		if why := refused[d.Email]; why != nil {
			res.refused(&step, why)
			if err := a.record(ctx, in, p, d, apmc.FlowToMailchimp, started, step, why); err != nil {
				return err
			}
			continue
		}
		m, ok := byEmail[d.Email]
		if !ok {
			err := errors.New("the batch answer named the member neither written nor refused")
			step.Status, step.Error = "failed", err.Error()
			res.Failed++
			if err := a.record(ctx, in, p, d, apmc.FlowToMailchimp, started, step, err); err != nil {
				return err
			}
			continue
		}
		var tags []string
		if created[d.Email] {
			// Only a member the batch created is known not to have carried
			// the tags it sent; one that existed may hold a marketer's tag
			// of the same name, left the marketer's.
			tags = newMemberTags(in, p, d)
		}
		if err := a.written(ctx, in.ID, d, m, tags); err != nil {
			return err
		}
		res.Written++
		step.Output["member_id"] = m.ID
		if err := a.record(ctx, in, p, d, apmc.FlowToMailchimp, started, step, nil); err != nil {
			return err
		}
	}
	return nil
}

// written records in the contact's state what a batch wrote: both sides
// now hold the values, and the member's contact id, and the tags it gave
// a member it created are the service's own.
func (a Applier) written(ctx context.Context, instanceID string, d apmc.PairPlan, m apmc.Member, tags []string) error {
	return a.onTop(ctx, instanceID, d.Email, func(c *apmc.Contact) {
		if len(tags) > 0 {
			c.Mailchimp.Tags = tags
		}
		c.Accessplanit.Values = d.ToMailchimp
		c.Mailchimp.Values = d.ToMailchimp
		if d.UserID != "" {
			c.UserID = d.UserID
		}
		if m.ContactID != "" {
			c.MemberContactID = m.ContactID
		}
	})
}

// onTop records a write in the contact's state, after its announcement:
// the echo of the write may have been applied meanwhile (it used up the
// announced pending write), so the state is read again, changed by set and
// saved, and a lost race does it again on top of the newer state.
func (a Applier) onTop(ctx context.Context, instanceID, email string, set func(c *apmc.Contact)) error {
	var err error
	for range 3 {
		var c apmc.Contact
		if c, err = a.Contacts.Contact(ctx, instanceID, email); err != nil {
			return fmt.Errorf("record the write of %s: %w", email, err)
		}
		set(&c)
		if err = a.Contacts.SaveContact(ctx, c); !errors.Is(err, apmc.ErrConflict) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("record the write of %s: %w", email, err)
	}
	return nil
}

// move moves a linked contact's member to the User's new email: one call,
// and one more when mapped values changed too.
func (a Applier) move(ctx context.Context, in apmc.Instance, p apmc.Pair, d apmc.PairPlan, res *Result) error {
	started := a.now()
	from := apmc.NormaliseEmail(p.Member.Email)
	step := apmc.Step{Name: "move_member", Status: "ok", Output: map[string]any{"previous_email": from}}
	res.MailchimpRequests++
	m, err := a.Member.ChangeEmail(ctx, in.MailchimpListID, from, d.Email)
	if err == nil && !d.ToMailchimp.WithoutEmail().Equal(apmc.MemberValues(in.Mappings, *p.Member).WithoutEmail()) {
		res.MailchimpRequests++
		m, err = a.Member.UpsertMember(ctx, in.MailchimpListID, apmc.MemberToWrite(in.Mappings, d.Email, d.ToMailchimp), cmp.Or(newMemberStatus(in, p, d), in.StatusIfNew))
	}
	if err != nil {
		if !apmc.IsPermanent(err) {
			return fmt.Errorf("move member %s to %s: %w", from, d.Email, err)
		}
		res.refused(&step, err)
		return a.record(ctx, in, p, d, apmc.FlowToMailchimp, started, step, err)
	}
	c := contactFor(in, p, d)
	c.Accessplanit.Values = d.ToMailchimp
	c.Mailchimp.Values = d.ToMailchimp
	c.Mailchimp.RecordWrite(d.ToMailchimp.Fingerprint(), a.now())
	if m.ContactID != "" {
		c.MemberContactID = m.ContactID
	}
	c.Version = 0 // the state under the new address is new
	if err := a.save(ctx, c, res); err != nil {
		return err
	}
	if err := a.Contacts.DeleteContact(ctx, in.ID, from); err != nil {
		return fmt.Errorf("remove the contact state of %s: %w", from, err)
	}
	res.Written++
	return a.record(ctx, in, p, d, apmc.FlowToMailchimp, started, step, nil)
}

// toAccessplanit writes one contact to accessplanit, paced.
func (a Applier) toAccessplanit(ctx context.Context, in apmc.Instance, p apmc.Pair, d apmc.PairPlan, res *Result) error {
	if a.Pace != nil {
		if err := a.Pace(ctx); err != nil {
			return err
		}
	}
	// The write is announced in the contact's state before the call, as a
	// Mailchimp write is: the webhook the write makes accessplanit send
	// finds it pending and is suppressed as an echo, and the save, under
	// the version the pair was read with, lets only one writer through: a
	// live change, or another apply, since leaves the contact alone.
	values := restrictToMailchimp(in, p)
	c := contactFor(in, p, d)
	moved := p.Contact.Version > 0 && p.Contact.Email != d.Email
	if moved {
		// The contact moves to the address Mailchimp moved it to: its state
		// is a new item there, and the old one goes once the User is written.
		c.Version = 0
	}
	c.Accessplanit.RecordWrite(apmc.UserFingerprint(in, values, writtenUser(p, d)), a.now())
	if err := a.Contacts.SaveContact(ctx, c); errors.Is(err, apmc.ErrConflict) {
		res.ChangedLive++
		return nil
	} else if err != nil {
		return fmt.Errorf("announce the write of %s: %w", d.Email, err)
	}
	started := a.now()
	step := apmc.Step{Name: "write_user", Status: "ok", Output: map[string]any{"fields": d.ToAccessplanit}}
	var user apmc.User
	var err error
	if d.UserID != "" {
		step.Output["user_id"] = d.UserID
		err = a.Accessplanit.UpdateUser(ctx, d.UserID, d.ToAccessplanit)
		user = apmc.User{ID: d.UserID}
	} else {
		create := maps.Clone(d.ToAccessplanit)
		create["MainCompanyID"] = in.DefaultCompanyID
		user, err = a.Accessplanit.CreateUser(ctx, create)
		step.Output["user_id"] = user.ID
	}
	if err != nil {
		if !apmc.IsPermanent(err) {
			return fmt.Errorf("write accessplanit user for %s: %w", d.Email, err)
		}
		if werr := a.withdraw(ctx, p, c); werr != nil {
			return werr
		}
		res.refused(&step, err)
		return a.record(ctx, in, p, d, apmc.FlowToAccessplanit, started, step, err)
	}
	if err := a.onTop(ctx, in.ID, d.Email, func(c *apmc.Contact) {
		c.UserID = user.ID
		c.Mailchimp.Values = values
		c.Accessplanit.Values = values
		if p.Member != nil && p.Member.ContactID != "" {
			c.MemberContactID = p.Member.ContactID
		}
	}); err != nil {
		return err
	}
	if moved {
		if err := a.Contacts.DeleteContact(ctx, in.ID, p.Contact.Email); err != nil {
			return fmt.Errorf("remove the contact state of %s: %w", p.Contact.Email, err)
		}
	}
	res.Written++
	return a.record(ctx, in, p, d, apmc.FlowToAccessplanit, started, step, nil)
}

// withdraw takes back the announcement of a write accessplanit refused for
// good: the state announced (saved from announced, under its version)
// goes, or, when the contact had one under that address, the state as it
// was comes back. Otherwise the contact would pass for synced, and
// reconciliation would enqueue it on every full run. A state a live change
// saved since is left as it is.
func (a Applier) withdraw(ctx context.Context, p apmc.Pair, announced apmc.Contact) error {
	saved, err := a.Contacts.Contact(ctx, announced.InstanceID, announced.Email)
	switch {
	case errors.Is(err, apmc.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("read the contact state of %s: %w", announced.Email, err)
	case saved.Version != announced.Version+1:
		return nil // a live change saved it since
	}
	if announced.Version == 0 {
		if err := a.Contacts.DeleteContact(ctx, announced.InstanceID, announced.Email); err != nil {
			return fmt.Errorf("remove the contact state of %s: %w", announced.Email, err)
		}
		return nil
	}
	before := p.Contact
	before.Version = saved.Version
	if err := a.Contacts.SaveContact(ctx, before); err != nil && !errors.Is(err, apmc.ErrConflict) {
		return fmt.Errorf("restore the contact state of %s: %w", announced.Email, err)
	}
	return nil
}

// writtenUser is the User as the write of d leaves it, as far as the pair
// knows it: the User read with the pair (or a new one) with the written
// fields overlaid, for the write's echo fingerprint.
func writtenUser(p apmc.Pair, d apmc.PairPlan) apmc.User {
	u := apmc.User{ID: d.UserID}
	if i := slices.IndexFunc(p.Users, func(x apmc.User) bool { return x.ID == d.UserID }); d.UserID != "" && i >= 0 {
		u = p.Users[i]
	}
	u.Fields = maps.Clone(u.Fields)
	if u.Fields == nil {
		u.Fields = map[string]string{}
	}
	maps.Copy(u.Fields, d.ToAccessplanit)
	return u
}

// changedLive reports whether the live sync changed the contact's state
// since the pair was read: the job then leaves the contact to it.
func (a Applier) changedLive(ctx context.Context, instanceID string, p apmc.Pair) bool {
	c, err := a.Contacts.Contact(ctx, instanceID, p.Email)
	switch {
	case errors.Is(err, apmc.ErrNotFound):
		return p.Contact.Version != 0
	case err != nil:
		return true // unknown: leave it to the live sync
	}
	return c.Version != p.Contact.Version
}

// save stores a contact state under the version read; a lost race means a
// live change came in between, which the live sync has recorded.
func (a Applier) save(ctx context.Context, c apmc.Contact, res *Result) error {
	err := a.Contacts.SaveContact(ctx, c)
	if errors.Is(err, apmc.ErrConflict) {
		res.ChangedLive++
		return nil
	}
	if err != nil {
		return fmt.Errorf("save contact state of %s: %w", c.Email, err)
	}
	return nil
}

// record stores the execution of one contact's write.
func (a Applier) record(ctx context.Context, in apmc.Instance, p apmc.Pair, d apmc.PairPlan, flow apmc.Flow, started time.Time, write apmc.Step, failure error) error {
	now := a.now()
	event := apmc.EventUpdated
	if d.Action == apmc.PairCreateInMailchimp || d.Action == apmc.PairCreateInAccessplanit {
		event = apmc.EventCreated
	}
	e := apmc.Execution{
		ID: apmc.NewExecutionID(started), InstanceID: in.ID, ChangeID: "backfill:" + d.Email, Flow: flow, Event: event,
		Origin: apmc.OriginBackfill, Attempt: 1, Status: apmc.StatusSucceeded, Changed: true, Contact: d.Email,
		Reason: d.Reason, ConfigVersion: in.ConfigVersion, StartedAt: started.UTC(), FinishedAt: now.UTC(),
		ExpiresAt: started.Add(time.Duration(in.Retention()) * 24 * time.Hour),
		Steps:     []apmc.Step{{Name: "decide", Status: "ok", Output: map[string]any{"action": string(d.Action), "winner": string(d.Winner), "reason": d.Reason}}, write},
		Logs:      []apmc.LogLine{},
	}
	if reason, blocked := apmc.BlockedReason(failure); blocked {
		// Mailchimp will not take the contact: not a failure to retry.
		e.Status, e.Reason = apmc.StatusBlocked, apmc.Redact(reason, in.Secrets.Values())
	} else if failure != nil {
		e.Status = apmc.StatusFailed
		e.Error = apmc.Redact(failure.Error(), in.Secrets.Values())
	}
	if err := a.Executions.SaveExecution(ctx, e); err != nil {
		return fmt.Errorf("record the execution for %s: %w", d.Email, err)
	}
	return nil
}

func (a Applier) cancelled(ctx context.Context) bool {
	return ctx.Err() != nil || a.Cancelled != nil && a.Cancelled(ctx)
}

// concurrency is how many batch calls may be in flight at once.
func (a Applier) concurrency() int {
	if a.Concurrency > 0 {
		return min(a.Concurrency, BatchConcurrency)
	}
	return BatchConcurrency
}

// timeUp reports whether the apply has reached Until.
func (a Applier) timeUp() bool {
	return !a.Until.IsZero() && !a.now().Before(a.Until)
}

func (a Applier) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// contactFor is the state to store for a pair: what the service
// remembered, or a new one, with the decided User's MarketingOptIn
// remembered as the live sync remembers it, so the User's first opt-out
// after the first sync is recognised.
func contactFor(in apmc.Instance, p apmc.Pair, d apmc.PairPlan) apmc.Contact {
	c := p.Contact
	c.InstanceID, c.Email = in.ID, d.Email
	if d.UserID != "" {
		c.UserID = d.UserID
	}
	if u, ok := decidedUser(p, d); ok {
		c = apmc.RememberOptIn(in, c, u)
	}
	return c
}

// decidedUser is the pair's User the decision is about, if any.
func decidedUser(p apmc.Pair, d apmc.PairPlan) (apmc.User, bool) {
	if d.UserID == "" {
		return apmc.User{}, false
	}
	i := slices.IndexFunc(p.Users, func(u apmc.User) bool { return u.ID == d.UserID })
	if i < 0 {
		return apmc.User{}, false
	}
	return p.Users[i], true
}

// rememberUnchanged saves the MarketingOptIn of a contact first sync finds
// the same on both sides, when the instance syncs consent and the state
// does not remember it yet (a state it has none of is made, holding the
// values both sides hold). A live change since the pair was read wins.
func (a Applier) rememberUnchanged(ctx context.Context, in apmc.Instance, p apmc.Pair, d apmc.PairPlan, res *Result) error {
	u, ok := decidedUser(p, d)
	if in.Consent == nil || !in.Direction.Allows(apmc.FlowToMailchimp) || d.Action != apmc.PairUnchanged || p.Member == nil || !ok || p.Contact.Version > 0 && apmc.RemembersOptIn(in, p.Contact, u) {
		return nil
	}
	c := contactFor(in, p, d)
	if c.Version == 0 {
		c.Mailchimp.Values = apmc.MemberValues(in.Mappings, *p.Member)
		c.Accessplanit.Values = c.Mailchimp.Values
		c.MemberContactID = p.Member.ContactID
	}
	return a.save(ctx, c, res)
}

// restrictToMailchimp is the member's mapped values as the contact's known
// values after its User was written from them.
func restrictToMailchimp(in apmc.Instance, p apmc.Pair) apmc.Values {
	if p.Member == nil {
		return apmc.Values{}
	}
	return apmc.MemberValues(in.Mappings, *p.Member)
}

// Sides are an instance's two systems as first sync uses them.
type Sides struct {
	Users        UserPages
	Members      MemberPages
	Batches      MemberBatches
	Member       apmc.Mailchimp
	Accessplanit apmc.Accessplanit
}
