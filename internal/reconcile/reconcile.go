package reconcile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// UserPages reads the platform's Users page by page.
type UserPages interface {
	// ChangedUsers returns page n (from 0) of the Users changed at or after
	// since (every User when since is zero), with at least the given
	// properties; an empty page is the end.
	ChangedUsers(ctx context.Context, n int, since time.Time, fields []string) ([]apmc.User, error)
}

// MemberPages reads the audience's members page by page.
type MemberPages interface {
	// ChangedMembers returns page n (from 0) of the members changed after
	// since (every member when since is zero); an empty page is the end.
	ChangedMembers(ctx context.Context, n int, since time.Time) ([]apmc.Member, error)
}

// Sides is what a reconciliation reads of one instance's two systems.
type Sides struct {
	Users   UserPages
	Members MemberPages
}

// Contacts is what a reconciliation reads of the contact states.
//
// Reconciliation only reads contact states: every write is the sync's, from
// the changes it enqueues (and its role may write no contact).
type Contacts interface {
	// Contact returns the state for an email; none wraps apmc.ErrNotFound.
	Contact(ctx context.Context, instanceID, email string) (apmc.Contact, error)
	// ContactByUserID returns the state linked to an accessplanit User;
	// none wraps apmc.ErrNotFound.
	ContactByUserID(ctx context.Context, instanceID, userID string) (apmc.Contact, error)
	// EachContact calls fn with every contact state of the instance.
	EachContact(ctx context.Context, instanceID string, fn func(apmc.Contact) error) error
}

// Queue puts changes on the changes queue.
type Queue interface {
	Enqueue(ctx context.Context, c apmc.Change) error
}

// DefaultOverlap is how far before the last successful run's start an
// incremental run reads again: changes stamped by a clock slightly behind,
// or saved while the last run was reading, are not missed. A contact read
// twice costs nothing: an unchanged one is no difference.
const DefaultOverlap = 10 * time.Minute

// Service runs reconciliations; the scheduled function, the local stack and
// the CLI share it.
type Service struct {
	// Instances reads instances with their secrets opened.
	Instances apmc.Instances
	Connect   func(apmc.Instance) (Sides, error)
	Contacts  Contacts
	Runs      Runs
	Queue     Queue
	// Overlap is read again before the last run; 0 means DefaultOverlap.
	Overlap time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Options choose how a run reads.
type Options struct {
	// Full reads every User and member instead of those changed since the
	// last successful run. It repairs the contacts the service has synced;
	// of the others it enqueues only those changed since the last
	// successful run, as an incremental run would.
	Full bool
	// RunID names the run; a run retried under the same id enqueues the
	// same change ids, which the queue deduplicates. Empty: a new id.
	RunID string
}

// ScheduledRunID is the id of an instance's run for one scheduled time: a
// time-ordered id that a retry of the same invocation gets again.
func ScheduledRunID(instanceID string, scheduled time.Time) string {
	seed := sha256.Sum256([]byte(instanceID + "|" + scheduled.UTC().Format(time.RFC3339Nano)))
	return ulid.MustNew(ulid.Timestamp(scheduled), bytes.NewReader(seed[:])).String()
}

// Reconcile runs one reconciliation of the instance and records it. The run
// is returned, with its counts so far, also when it fails.
func (s Service) Reconcile(ctx context.Context, instanceID string, opts Options) (Run, error) {
	now := s.now()
	run := Run{ID: opts.RunID, InstanceID: instanceID, StartedAt: now.UTC(), Full: opts.Full}
	if run.ID == "" {
		run.ID = apmc.NewExecutionID(now)
	}
	in, err := s.Instances.Instance(ctx, instanceID)
	if errors.Is(err, apmc.ErrNotFound) {
		// Nothing to reconcile: no run is recorded for an instance that
		// does not exist (a mistyped id would otherwise leave one behind).
		return run, fmt.Errorf("reconcile instance %s: no such instance: %w", instanceID, err)
	}
	var secrets []string
	if err == nil {
		secrets, err = s.reconcile(ctx, in, &run)
	} else {
		err = fmt.Errorf("read instance: %w", err)
	}
	run.EndedAt = s.now().UTC()
	if err != nil {
		// An API client's error can quote a request with its key: the run's
		// record, the log and the caller get the text with the instance's
		// secrets replaced.
		if text := apmc.Redact(err.Error(), secrets); text != err.Error() {
			err = errors.New(text)
		}
		run.Error = err.Error()
	}
	if serr := s.Runs.SaveRun(context.WithoutCancel(ctx), run); serr != nil {
		err = errors.Join(err, fmt.Errorf("record reconciliation %s: %w", run.ID, serr))
	}
	if err != nil {
		return run, fmt.Errorf("reconcile instance %s: %w", instanceID, err)
	}
	s.log().InfoContext(ctx, "reconciled", "instance_id", instanceID, "run_id", run.ID, "full", run.Full,
		"since", run.Since, "checked", run.Checked, "enqueued", run.Enqueued, "skipped_unknown", run.SkippedUnknown)
	return run, nil
}

// Lister lists the deployment's instances.
type Lister interface {
	List(ctx context.Context) ([]apmc.Instance, error)
}

// ReconcileAll reconciles every instance, paused ones included (their
// changes are held by the sync like any other), each under the run id
// runID(instance) gives. A failed instance does not stop the others; their
// errors are returned together.
func (s Service) ReconcileAll(ctx context.Context, instances Lister, runID func(instanceID string) string) ([]Run, error) {
	list, err := instances.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	var runs []Run
	var errs []error
	for _, in := range list {
		opts := Options{}
		if runID != nil {
			opts.RunID = runID(in.ID)
		}
		run, err := s.Reconcile(ctx, in.ID, opts)
		runs = append(runs, run)
		if err != nil {
			s.log().ErrorContext(ctx, "reconciliation failed", "instance_id", in.ID, "run_id", run.ID, "error", err)
			errs = append(errs, err)
		}
	}
	return runs, errors.Join(errs...)
}

// scope is what one run reads and which contacts it may enqueue.
type scope struct {
	run *Run
	// unknownSince is the earliest change time at which a contact the
	// service has never synced is enqueued: the last successful run's
	// start less the overlap, not before the baseline. On the first run, the
	// instance's creation: what changed before it predates the integration
	// and is first synced with a plan. Zero when the creation time is
	// unknown (an instance stored before it was kept): then the first run
	// enqueues no unknown contact.
	unknownSince time.Time
}

// takesUnknown reports whether a contact with no state, last changed at
// changed, is enqueued: when it changed since unknownSince. A full run
// takes those too, so that it never leaves out one that the next
// incremental run, which starts after it, would no longer read.
func (sc scope) takesUnknown(changed time.Time) bool {
	switch {
	case sc.unknownSince.IsZero():
		return false
	case !sc.run.Full && !sc.unknownSince.After(sc.run.Since):
		return true // read because it changed since: the API's own filter
	}
	return !changed.Before(sc.unknownSince)
}

func (s Service) reconcile(ctx context.Context, in apmc.Instance, run *Run) (secrets []string, err error) {
	secrets = in.Secrets.Values()
	sc := scope{run: run}
	last, err := s.Runs.LastSuccess(ctx, in.ID)
	switch {
	case errors.Is(err, apmc.ErrNotFound):
		run.Full = true // nothing to start from: read everything
		run.Baseline = firstBaseline(in, run.StartedAt)
		if run.Baseline.Before(run.StartedAt) {
			sc.unknownSince = run.Baseline.Truncate(time.Second)
		}
	case err != nil:
		return secrets, fmt.Errorf("read the last reconciliation: %w", err)
	default:
		since := last.StartedAt.Add(-s.overlap()).UTC()
		if !run.Full {
			run.Since = since
		}
		run.Baseline = last.Baseline
		// The APIs' change times may be cut to the second: one in the
		// baseline's second counts as after it.
		sc.unknownSince = since
		if baseline := run.Baseline.Truncate(time.Second); since.Before(baseline) {
			sc.unknownSince = baseline
		}
	}
	sides, err := s.Connect(in)
	if err != nil {
		return secrets, err
	}
	states, err := s.states(ctx, in.ID, run.Full)
	if err != nil {
		return secrets, err
	}
	// Members before Users: a contact changed on both sides while their
	// webhooks were lost gets its member's change applied first. That
	// writes to the User only the fields that changed in Mailchimp, so the
	// User's own edits survive and then reach Mailchimp with its change;
	// the other way round, the User's change would send its unchanged names
	// (which Mailchimp's PUT requires) over a name edited in Mailchimp. An
	// edit of the same field on both sides ends as Mailchimp's.
	//
	// The Users are read first and their changes enqueued last: the sync,
	// applying the members' changes meanwhile, may write to Users, and a
	// User read after such a write would be enqueued for nothing (the echo
	// of the service's own write).
	var userChanges []userOutcome
	if in.Direction.Allows(apmc.FlowToMailchimp) {
		if userChanges, err = s.users(ctx, in, sides.Users, states, sc); err != nil {
			return secrets, err
		}
	}
	if in.Direction.Allows(apmc.FlowToAccessplanit) {
		if err := s.members(ctx, in, sides.Members, states, sc); err != nil {
			return secrets, err
		}
	}
	for _, out := range userChanges {
		if err := s.Queue.Enqueue(ctx, *out.change); err != nil {
			return secrets, fmt.Errorf("enqueue the change of user %s: %w", out.user.ID, err)
		}
		run.Enqueued++
	}
	return secrets, nil
}

// firstBaseline is the baseline of an instance's first successful run
// started at start: when the instance was created, so that a contact
// created or changed while the integration was already on, whose webhook
// was lost before the first run, is repaired like any later one; the run's
// start for an instance stored before its creation time was kept. The
// first run reads everything anyway, so this costs no further reads: only
// the contacts changed since creation are enqueued.
func firstBaseline(in apmc.Instance, start time.Time) time.Time {
	if in.CreatedAt.IsZero() || !in.CreatedAt.Before(start) {
		return start
	}
	return in.CreatedAt.UTC()
}

// userOutcome is what a run does about one User: enqueue its change, count
// it as never synced and left alone, or nothing.
type userOutcome struct {
	user    apmc.User
	change  *apmc.Change
	skipped bool
}

// newer reports whether a is the contact of their shared email rather
// than b: the most recently changed User, the lower id on a tie, as first
// sync and the sync decide.
func newer(a, b apmc.User) bool {
	if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
		return c > 0
	}
	return a.ID < b.ID
}

// users compares the Users read with their states. Several Users can share
// an email; only the most recently changed one is the contact, so the
// outcome of each email is decided once all are read: a User that shares
// its email with a newer one is left alone, or a full run would enqueue it
// every time (its values are not the contact's).
//
// It returns the outcomes that enqueue a change, for the caller to enqueue
// once the members' changes are.
func (s Service) users(ctx context.Context, in apmc.Instance, pages UserPages, states contactStates, sc scope) ([]userOutcome, error) {
	run := sc.run
	fields := apmc.MappedFields(in.Mappings)
	for _, f := range apmc.ReadFields(in) { // MarketingOptIn for consent, too
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	outcomes := map[string]userOutcome{}
	var emails []string
	for n := 0; ; n++ {
		page, err := pages.ChangedUsers(ctx, n, run.Since, fields)
		if err != nil {
			return nil, fmt.Errorf("read accessplanit users: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			run.Checked++
			email := u.Email()
			if email == "" {
				continue // nothing to map: no difference
			}
			prev, seen := outcomes[email]
			if seen && !newer(u, prev.user) {
				continue
			}
			if !seen {
				emails = append(emails, email)
			}
			out, err := s.userOutcome(ctx, in, u, states, sc)
			if err != nil {
				return nil, err
			}
			outcomes[email] = out
		}
	}
	var changes []userOutcome
	for _, email := range emails {
		out := outcomes[email]
		if out.skipped {
			run.SkippedUnknown++
		}
		if out.change != nil {
			changes = append(changes, out)
		}
	}
	return changes, nil
}

// userOutcome decides what the run does about the User.
func (s Service) userOutcome(ctx context.Context, in apmc.Instance, u apmc.User, states contactStates, sc scope) (userOutcome, error) {
	out := userOutcome{user: apmc.User{ID: u.ID, UpdatedAt: u.UpdatedAt}}
	c, err := states.byUser(ctx, u)
	if err != nil {
		return out, err
	}
	if !UserDiffers(in, u, c) && !forgetsOptIn(in, u, c) {
		return out, nil
	}
	if c == nil && !sc.takesUnknown(u.UpdatedAt) {
		out.skipped = true
		return out, nil
	}
	out.change = &apmc.Change{
		ID: fmt.Sprintf("reconcile:%s:user:%s", sc.run.ID, u.ID), InstanceID: in.ID,
		Source: apmc.SideAccessplanit, Event: apmc.EventUpdated, ReceivedAt: s.now().UTC(), OccurredAt: u.UpdatedAt,
		Email: u.Email(), UserID: u.ID, Origin: apmc.OriginReconcile,
	}
	return out, nil
}

func (s Service) members(ctx context.Context, in apmc.Instance, pages MemberPages, states contactStates, sc scope) error {
	run := sc.run
	for n := 0; ; n++ {
		page, err := pages.ChangedMembers(ctx, n, run.Since)
		if err != nil {
			return fmt.Errorf("read Mailchimp members: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		for _, m := range page {
			run.Checked++
			email := apmc.NormaliseEmail(m.Email)
			c, err := states.byEmail(ctx, email)
			if err != nil {
				return err
			}
			event := apmc.EventProfile
			switch {
			case MemberDiffers(in, m, c):
			case StatusDiffers(in, m, c):
				event = apmc.StatusEvent(m.Status)
			case StatusStale(m, c):
				// Its subscribe webhook was lost: read back as that
				// subscribe (the status field follows) or a profile change,
				// the sync records the status.
				if m.Status == "subscribed" {
					event = apmc.EventSubscribe
				}
			default:
				continue
			}
			if c == nil && !sc.takesUnknown(m.LastChanged) {
				run.SkippedUnknown++
				continue
			}
			change := apmc.Change{
				ID: fmt.Sprintf("reconcile:%s:member:%s", run.ID, email), InstanceID: in.ID,
				Source: apmc.SideMailchimp, Event: event, ReceivedAt: s.now().UTC(), OccurredAt: m.LastChanged,
				Email: email, Origin: apmc.OriginReconcile,
			}
			if err := s.Queue.Enqueue(ctx, change); err != nil {
				return fmt.Errorf("enqueue the change of member %s: %w", email, err)
			}
			run.Enqueued++
		}
	}
}

// forgetsOptIn reports whether a synced User that holds nothing new has a
// contact state that does not remember its MarketingOptIn yet (a state
// saved before consent was switched on, or by an older first sync): its
// change is enqueued all the same, and the sync records the opt-in, so the
// User's next opt-out is recognised. Users the sync does nothing with
// (deleted, or without an email) are left alone.
func forgetsOptIn(in apmc.Instance, u apmc.User, c *apmc.Contact) bool {
	if c == nil || u.Fields["Status"] == "Deleted" || apmc.RemembersOptIn(in, *c, u) {
		return false
	}
	_, _, err := apmc.MapToMailchimp(in.Mappings, u)
	return err == nil
}

// UserDiffers reports whether a User holds mapped values other than the
// ones its contact state (nil: none) remembers of accessplanit. Deleted
// Users and Users whose values cannot be mapped (no email) are no
// difference: the sync would do nothing with them.
func UserDiffers(in apmc.Instance, u apmc.User, c *apmc.Contact) bool {
	if u.Fields["Status"] == "Deleted" {
		return false
	}
	values, _, err := apmc.MapToMailchimp(in.Mappings, u)
	if err != nil {
		return false
	}
	// A lost opt-out is a difference too, when the instance sends opt-outs
	// to Mailchimp.
	return c == nil || !values.Equal(c.Accessplanit.Values) || apmc.OptOutToMailchimp(in.Consent, c.MarketingOptIn, apmc.OptedIn(u))
}

// MemberDiffers reports whether a member holds mapped values other than
// the ones its contact state (nil: none) remembers of Mailchimp. Only
// members the sync takes changes from count: subscribed, pending and
// transactional ones.
func MemberDiffers(in apmc.Instance, m apmc.Member, c *apmc.Contact) bool {
	if !slices.Contains([]string{"subscribed", "pending", "transactional"}, m.Status) {
		return false
	}
	return c == nil || !apmc.MemberValues(in.Mappings, m).Equal(c.Mailchimp.Values)
}

// StatusDiffers reports whether a member is unsubscribed or cleaned while
// its contact state (nil: none) does not know it, and the instance applies
// that status to accessplanit (apmc.StatusFlowsBack): its webhook may have
// been lost, and the sync applies it as it would have. A status the state
// knows was applied, or one the instance does nothing with, is no
// difference.
func StatusDiffers(in apmc.Instance, m apmc.Member, c *apmc.Contact) bool {
	if m.Status != "unsubscribed" && m.Status != "cleaned" || !apmc.StatusFlowsBack(in, m.Status) {
		return false
	}
	return c == nil || c.Mailchimp.Status != m.Status
}

// StatusStale reports whether the contact state holds a member unsubscribed
// or cleaned that Mailchimp now has subscribed, pending or transactional
// (it signed up again, and that webhook was lost): a later unsubscribe
// would be taken for the one already applied (apmc.OptOutToAccessplanit).
func StatusStale(m apmc.Member, c *apmc.Contact) bool {
	if c == nil || c.Mailchimp.Status != "unsubscribed" && c.Mailchimp.Status != "cleaned" {
		return false
	}
	return slices.Contains([]string{"subscribed", "pending", "transactional"}, m.Status)
}

func (s Service) overlap() time.Duration {
	if s.Overlap > 0 {
		return s.Overlap
	}
	return DefaultOverlap
}

func (s Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s Service) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
