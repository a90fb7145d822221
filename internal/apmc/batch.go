package apmc

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"
)

// DefaultLinger is how long a write of a Batch waits at most for the other
// changes of its batch before it goes out with the writes already waiting.
// It is short beside a Mailchimp call (~100 ms or more), so a change that is
// still reading delays the others little.
const DefaultLinger = 25 * time.Millisecond

// maxBatchUpserts is the most members one Mailchimp batch subscribe takes.
const maxBatchUpserts = 500

// Batch is what the changes of one queue batch share while they are
// applied concurrently: their writes are committed as a group. The Mailchimp
// upserts to one audience go out in one batch subscribe call (one request,
// one slot of the account's budget, instead of one each), and the execution
// records in as few store requests as the store allows.
//
// A write waits until every change of the batch still being applied waits
// too (nothing more can join it), or at most Linger; then every waiting
// write goes out. A lone upsert is a single PUT, as without a Batch. Each
// change keeps its own outcome: a member Mailchimp refuses fails only its
// own change, and a call that fails as a whole fails (and so retries) the
// changes it carried, no others.
//
// The consumer calls Begin when it starts applying a message group's
// changes and End when it is done with them: a group applies its changes
// one after the other, so it has at most one write waiting.
type Batch struct {
	// Linger bounds how long a write waits for the others; 0 means
	// DefaultLinger.
	Linger time.Duration

	mu      sync.Mutex
	running int
	upserts []*pendingUpsert
	records []*pendingRecord
	timer   *time.Timer
}

// pendingUpsert is one Mailchimp upsert waiting for its group.
type pendingUpsert struct {
	ctx         context.Context
	mc          Mailchimp
	key         string // the audience: instance, configuration, list and status_if_new
	listID      string
	statusIfNew string
	member      Member
	// announce, when set, is recorded in announcer before the call.
	announce  *Announcement
	announcer WriteAnnouncer
	done      chan struct{}
	// Set before done is closed.
	written Member
	err     error
	call    upsertCall
}

// upsertCall describes the call a write went out in, for its execution.
type upsertCall struct {
	members    int // members the call carried (1: a single PUT)
	budgetWait time.Duration
}

// pendingRecord is one execution record waiting for its group.
type pendingRecord struct {
	ctx   context.Context
	store Executions
	exec  Execution
	done  chan struct{}
	err   error
}

// Begin says that one more message group of the batch is being applied.
func (b *Batch) Begin() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.running++
}

// End says that a message group of the batch is done: the writes waiting
// for it go out if it was the last one they waited for.
func (b *Batch) End() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.running--
	b.flushIfAllWaitLocked()
}

func (b *Batch) linger() time.Duration {
	if b.Linger > 0 {
		return b.Linger
	}
	return DefaultLinger
}

// flushIfAllWaitLocked sends the waiting writes when every running group
// is waiting, and otherwise makes sure a timer sends them after Linger.
// b.mu is held.
func (b *Batch) flushIfAllWaitLocked() {
	waiting := len(b.upserts) + len(b.records)
	if waiting == 0 {
		return
	}
	if waiting >= b.running {
		b.flushLocked()
		return
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(b.linger(), func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.timer = nil
			b.flushLocked()
		})
	}
}

// flushLocked sends every waiting write, in the background: the calls at
// once, but a call carrying an address an earlier call carries only once
// that call is answered, so two writes of one member never cross. b.mu is
// held.
func (b *Batch) flushLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	ups, recs := b.upserts, b.records
	b.upserts, b.records = nil, nil
	calls := groupUpserts(ups)
	answered := make([]chan struct{}, len(calls))
	for i, call := range calls {
		answered[i] = make(chan struct{})
		var after []chan struct{}
		for j := range i {
			if shareMember(calls[j], call) {
				after = append(after, answered[j])
			}
		}
		go func() {
			defer close(answered[i])
			for _, earlier := range after {
				<-earlier
			}
			sendUpserts(call)
		}()
	}
	for _, group := range groupRecords(recs) {
		go sendRecords(group)
	}
}

// shareMember reports whether two calls write a member of one audience.
func shareMember(a, b []*pendingUpsert) bool {
	for _, p := range a {
		for _, q := range b {
			if p.listID == q.listID && NormaliseEmail(p.member.Email) == NormaliseEmail(q.member.Email) {
				return true
			}
		}
	}
	return false
}

// upsert writes m to the instance's audience, with the other upserts of the
// batch when there are any; without a Batch it is a single call.
//
// A member that carries GDPR marketing permissions is always written alone:
// batch subscribe takes none.
//
// When a is set, the write is announced (announce.go) before it is made:
// the announcements of one call's members in one request.
func (b *Batch) upsert(ctx context.Context, mc Mailchimp, in Instance, m Member, statusIfNew string, wa WriteAnnouncer, a *Announcement) (Member, upsertCall, error) {
	if b == nil || len(m.MarketingPermissions) > 0 {
		if err := announceNow(ctx, wa, a); err != nil {
			return Member{}, upsertCall{}, err
		}
		written, err := mc.UpsertMember(ctx, in.MailchimpListID, m, statusIfNew)
		return written, upsertCall{members: 1}, err
	}
	p := &pendingUpsert{
		ctx: ctx, mc: mc, listID: in.MailchimpListID, statusIfNew: statusIfNew, member: m, done: make(chan struct{}),
		announce: a, announcer: wa,
		key: fmt.Sprintf("%s@%d|%s|%s", in.ID, in.ConfigVersion, in.MailchimpListID, statusIfNew),
	}
	b.mu.Lock()
	b.upserts = append(b.upserts, p)
	b.flushIfAllWaitLocked()
	b.mu.Unlock()
	<-p.done
	return p.written, p.call, p.err
}

// save records e, with the other records of the batch when there are any.
func (b *Batch) save(ctx context.Context, store Executions, e Execution) error {
	if b == nil {
		return store.SaveExecution(ctx, e)
	}
	p := &pendingRecord{ctx: ctx, store: store, exec: e, done: make(chan struct{})}
	b.mu.Lock()
	b.records = append(b.records, p)
	b.flushIfAllWaitLocked()
	b.mu.Unlock()
	<-p.done
	return p.err
}

// groupUpserts splits waiting upserts into calls: one per audience, each
// with every member at most once (a second write of one address goes in a
// later call, which flushLocked sends once the earlier one is answered,
// keeping the writes' order) and at most maxBatchUpserts members. Calls
// keep the order in which their first upsert came. Two groups of a batch
// can write one member: a booking is queued by User, not by address.
func groupUpserts(ups []*pendingUpsert) [][]*pendingUpsert {
	var calls [][]*pendingUpsert
	emails := []map[string]bool{}
	for _, p := range ups {
		email := NormaliseEmail(p.member.Email)
		placed := false
		for i, call := range calls {
			if call[0].key != p.key || len(call) >= maxBatchUpserts || emails[i][email] {
				continue
			}
			calls[i] = append(call, p)
			emails[i][email] = true
			placed = true
			break
		}
		if !placed {
			calls = append(calls, []*pendingUpsert{p})
			emails = append(emails, map[string]bool{email: true})
		}
	}
	return calls
}

// sendUpserts makes one call for upserts of one audience: a single PUT for
// one member (or a client without batch calls, one PUT each), else one
// batch subscribe whose answer settles each member's upsert.
func sendUpserts(ups []*pendingUpsert) {
	defer func() {
		for _, p := range ups {
			close(p.done)
		}
	}()
	first := ups[0]
	if err := announceUpserts(ups); err != nil {
		for _, p := range ups {
			p.err = err
		}
		return
	}
	// The writes outlive no change: the call is bounded by the client's own
	// timeout, and each change waits for it.
	ctx, wait := WithBudgetWait(context.WithoutCancel(first.ctx))
	bm, ok := first.mc.(MailchimpBatch)
	if len(ups) == 1 || !ok {
		for _, p := range ups {
			pctx, pwait := WithBudgetWait(context.WithoutCancel(p.ctx))
			p.written, p.err = p.mc.UpsertMember(pctx, p.listID, p.member, p.statusIfNew)
			p.call = upsertCall{members: 1, budgetWait: pwait.Total()}
		}
		return
	}
	members := make([]Member, len(ups))
	for i, p := range ups {
		members[i] = p.member
	}
	written, refused, err := bm.UpsertMembers(ctx, first.listID, members, first.statusIfNew)
	results := memberResults(members, written, refused, err)
	for i, p := range ups {
		p.written, p.err = results[i].member, results[i].err
		p.call = upsertCall{members: len(ups), budgetWait: wait.Total()}
	}
}

// announceUpserts records the announcements of a call's members, in one
// request, before the call is made.
func announceUpserts(ups []*pendingUpsert) error {
	var as []Announcement
	var wa WriteAnnouncer
	for _, p := range ups {
		if p.announce != nil && p.announcer != nil {
			as = append(as, *p.announce)
			wa = p.announcer
		}
	}
	if len(as) == 0 {
		return nil
	}
	if err := wa.AnnounceWrites(context.WithoutCancel(ups[0].ctx), as); err != nil {
		return fmt.Errorf("announce the writes to Mailchimp: %w", err)
	}
	return nil
}

// memberResult is what a batch call did to one of its members.
type memberResult struct {
	member Member
	err    error
}

// memberResults maps a batch call's answer back to its members, in order:
// the member as written, its own refusal, or the call's error. A member the
// answer does not mention was not confirmed written, so its change is
// tried again (a transient error).
func memberResults(members []Member, written map[string]Member, refused map[string]error, callErr error) []memberResult {
	out := make([]memberResult, len(members))
	for i, m := range members {
		email := NormaliseEmail(m.Email)
		switch w, ok := written[email]; {
		case callErr != nil:
			out[i].err = callErr
		case ok:
			out[i].member = w
		case refused[email] != nil:
			out[i].err = refused[email]
		default:
			out[i].err = fmt.Errorf("the batch answer from Mailchimp does not mention %s", email)
		}
	}
	return out
}

// groupRecords splits waiting records by store.
func groupRecords(recs []*pendingRecord) [][]*pendingRecord {
	var groups [][]*pendingRecord
	for _, p := range recs {
		placed := false
		for i, g := range groups {
			if sameStore(g[0].store, p.store) {
				groups[i] = append(g, p)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []*pendingRecord{p})
		}
	}
	return groups
}

// sameStore reports whether two stores are one; a store whose type cannot
// be compared is alone.
func sameStore(a, b Executions) bool {
	ta := reflect.TypeOf(a)
	return ta != nil && ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// sendRecords stores records of one store: together when it can, else one
// by one.
func sendRecords(recs []*pendingRecord) {
	defer func() {
		for _, p := range recs {
			close(p.done)
		}
	}()
	bs, ok := recs[0].store.(ExecutionBatch)
	if len(recs) == 1 || !ok {
		for _, p := range recs {
			p.err = p.store.SaveExecution(context.WithoutCancel(p.ctx), p.exec)
		}
		return
	}
	execs := make([]Execution, len(recs))
	for i, p := range recs {
		execs[i] = p.exec
	}
	errs := bs.SaveExecutions(context.WithoutCancel(recs[0].ctx), execs)
	for i, p := range recs {
		if i < len(errs) {
			p.err = errs[i]
		}
	}
}
