package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// A Mailchimp account's request budget lives in the contacts table, in the
// partition "budget#<account>", one item per slot under the sort keys
// "slot#0".."slot#<n-1>" (no "@", so contact reads skip them). A slot is held
// while its lease_until (epoch milliseconds) is in the future; its holder is
// named by owner, so only the holder can give it back early. A holder that
// crashes leaks nothing: its lease runs out.
const (
	budgetPrefix    = "budget#"
	slotPrefix      = "slot#"
	attrLeaseUntil  = "lease_until"
	attrLeaseOwner  = "owner"
	budgetFirstWait = 20 * time.Millisecond
	budgetMaxPause  = 250 * time.Millisecond
)

// BudgetPartition is the contacts-table partition key of an account's
// budget slots; the template's least-privilege policies name it.
func BudgetPartition(account string) string { return budgetPrefix + account }

// MailchimpBudget shares Mailchimp's limit of simultaneous requests per
// account between every process that calls Mailchimp, with leased slots in
// DynamoDB.
type MailchimpBudget struct {
	client *dynamodb.Client
	table  string
	// Slots is how many requests an account may have in flight.
	Slots int
	// Lease is how long a slot is held unless given back; longer than any
	// one request may take.
	Lease time.Duration
	// MaxWait bounds how long Acquire waits for a slot.
	MaxWait time.Duration
	// Keep is how long a slot given back stays with this process for its
	// next request to the account (0: given back at once). A busy process
	// then reuses its slots instead of paying a take and a give-back in
	// DynamoDB per request; an idle one gives them back after Keep, and
	// Flush gives them all back at once.
	Keep  time.Duration
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	mu sync.Mutex
	// idle holds, per account, the slots this process kept after use.
	idle map[string][]*keptSlot
	// giving is read-held by each give-back a timer started, so Flush can
	// wait for them.
	giving sync.RWMutex
	// returned holds, per account, the slots this process gave back, the
	// latest last: tried first by its next take, as they are likely still
	// free where a random one may be held (each held slot tried costs a
	// failed take, and then a read of every slot).
	returned map[string][]int
}

// keptSlot is a slot this process holds between two of its requests.
type keptSlot struct {
	slot  int
	owner string
	until time.Time // the lease's end
	timer *time.Timer
}

// budgetReuseWindow is how long after it was taken a slot may be reused:
// leases are the request timeout plus 5 s (connector.BudgetLease), so a
// slot reused within 5 s still outlasts the request that reuses it.
const budgetReuseWindow = 5 * time.Second

// reusable reports whether a lease ending at until still outlasts a request
// started now.
func (b *MailchimpBudget) reusable(until, now time.Time) bool {
	return until.Sub(now) > b.Lease-min(budgetReuseWindow, b.Lease/3)
}

// NewMailchimpBudget returns a budget of slots requests per account kept in
// the contacts table, leased for lease, waiting at most maxWait for one.
func NewMailchimpBudget(client *dynamodb.Client, contactsTable string, slots int, lease, maxWait time.Duration) *MailchimpBudget {
	return &MailchimpBudget{
		client: client, table: contactsTable, Slots: slots, Lease: lease, MaxWait: maxWait,
		now: time.Now, sleep: sleepCtx,
	}
}

// ErrBudgetWait is wrapped by Acquire's error when no slot was free within
// MaxWait. It is transient: the change is retried later.
var ErrBudgetWait = errors.New("no Mailchimp request slot free")

// Acquire takes one of the account's slots, waiting (with jittered backoff)
// while all are held. It returns the slot, for the request to give back or
// hold, and how long it waited. At best it costs one write, and Release one
// more.
func (b *MailchimpBudget) Acquire(ctx context.Context, account string) (held apmc.BudgetSlot, waited time.Duration, err error) {
	start := b.now()
	if k := b.takeKept(account, start); k != nil {
		return b.heldSlot(account, k.slot, k.owner, k.until), 0, nil
	}
	owner, err := newOwner()
	if err != nil {
		return nil, 0, err
	}
	pause := budgetFirstWait
	// First the slot this process gave back last, or a random one, blind:
	// when the account is not busy this is the only request. If it is
	// held, the slots are read at once; every later read comes after a
	// pause, whether nothing was free or the free slots it showed were
	// taken by others first, so waiters on a busy account neither flood
	// its partition nor outlast MaxWait.
	candidates := []int{b.lastReturned(account)}
	for tries := 0; ; tries++ {
		for _, slot := range candidates {
			until, ok, err := b.take(ctx, account, slot, owner)
			if err != nil {
				return nil, b.now().Sub(start), err
			}
			if ok {
				return b.heldSlot(account, slot, owner, until), b.now().Sub(start), nil
			}
		}
		waited := b.now().Sub(start)
		if waited >= b.MaxWait {
			return nil, waited, fmt.Errorf("account %s: %w after %s", account, ErrBudgetWait, waited.Round(time.Millisecond))
		}
		if tries > 0 {
			if err := b.sleep(ctx, budgetPause(pause, b.MaxWait-waited)); err != nil {
				return nil, b.now().Sub(start), fmt.Errorf("wait for a Mailchimp request slot of account %s: %w", account, err)
			}
			pause = min(2*pause, budgetMaxPause)
		}
		if candidates, err = b.freeSlots(ctx, account); err != nil {
			return nil, b.now().Sub(start), err
		}
	}
}

// budgetPause is how long a waiter pauses before it looks at the slots
// again: a random time up to pause (full jitter keeps waiting invocations
// from retrying in step), never past the left of its wait.
func budgetPause(pause, left time.Duration) time.Duration {
	return min(time.Duration(mathrand.Int64N(int64(pause)))+time.Millisecond, left)
}

// updateSlot updates the account's slot under cond: one conditional
// UpdateItem, whose refusal conditionFailed reports.
func (b *MailchimpBudget) updateSlot(ctx context.Context, account string, slot int, cond expression.ConditionBuilder, update expression.UpdateBuilder) error {
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build()
	if err != nil {
		return fmt.Errorf("build the update of Mailchimp request slot %d: %w", slot, err)
	}
	_, err = b.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(b.table), Key: slotKey(account, slot),
		ConditionExpression: expr.Condition(), UpdateExpression: expr.Update(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	return err
}

func slotKey(account string, slot int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrInstanceID: &types.AttributeValueMemberS{Value: BudgetPartition(account)},
		AttrEmail:      &types.AttributeValueMemberS{Value: slotPrefix + strconv.Itoa(slot)},
	}
}

// take leases slot to owner if nobody holds it, returning when the lease
// ends; false means it is held.
func (b *MailchimpBudget) take(ctx context.Context, account string, slot int, owner string) (time.Time, bool, error) {
	now := b.now()
	until := now.Add(b.Lease)
	free := expression.AttributeNotExists(expression.Name(attrLeaseUntil)).
		Or(expression.Name(attrLeaseUntil).LessThanEqual(expression.Value(now.UnixMilli())))
	update := expression.Set(expression.Name(attrLeaseUntil), expression.Value(until.UnixMilli())).
		Set(expression.Name(attrLeaseOwner), expression.Value(owner))
	err := b.updateSlot(ctx, account, slot, free, update)
	switch {
	case err == nil:
		return until, true, nil
	case conditionFailed(err):
		return time.Time{}, false, nil
	default:
		return time.Time{}, false, fmt.Errorf("take Mailchimp request slot %d of account %s: %w", slot, account, err)
	}
}

// freeSlots reads the account's slots and returns, shuffled, those nobody
// holds (never written, or with a lease run out).
func (b *MailchimpBudget) freeSlots(ctx context.Context, account string) ([]int, error) {
	keyCond := expression.Key(AttrInstanceID).Equal(expression.Value(BudgetPartition(account)))
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).Build()
	if err != nil {
		return nil, fmt.Errorf("read Mailchimp request slots: build query: %w", err)
	}
	out, err := b.client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(b.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read Mailchimp request slots of account %s: %w", account, err)
	}
	held := make(map[int]bool, len(out.Items))
	now := b.now().UnixMilli()
	for _, it := range out.Items {
		sk, _ := it[AttrEmail].(*types.AttributeValueMemberS)
		until, _ := it[attrLeaseUntil].(*types.AttributeValueMemberN)
		if sk == nil || until == nil {
			continue
		}
		n, err1 := strconv.Atoi(sk.Value[len(slotPrefix):])
		ms, err2 := strconv.ParseInt(until.Value, 10, 64)
		if err1 == nil && err2 == nil && ms > now {
			held[n] = true
		}
	}
	var free []int
	for _, n := range mathrand.Perm(b.Slots) {
		if !held[n] {
			free = append(free, n)
		}
	}
	return free, nil
}

// budgetSlot is a slot held by one of this process's requests.
type budgetSlot struct {
	b       *MailchimpBudget
	account string
	slot    int
	owner   string
	until   time.Time // the lease's end
	ended   sync.Once
}

var _ apmc.BudgetSlot = (*budgetSlot)(nil)

func (b *MailchimpBudget) heldSlot(account string, slot int, owner string, until time.Time) *budgetSlot {
	return &budgetSlot{b: b, account: account, slot: slot, owner: owner, until: until}
}

// Release ends the request's use of its slot: the process keeps it for Keep
// when its lease still outlasts another request, and otherwise gives it
// back. Only the first Release or HoldUntil counts.
func (s *budgetSlot) Release() {
	s.ended.Do(func() {
		b := s.b
		if b.Keep <= 0 || !b.reusable(s.until, b.now()) {
			b.giveBack(context.Background(), s.account, s.slot, s.owner)
			return
		}
		k := &keptSlot{slot: s.slot, owner: s.owner, until: s.until}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.idle == nil {
			b.idle = map[string][]*keptSlot{}
		}
		b.idle[s.account] = append(b.idle[s.account], k)
		k.timer = time.AfterFunc(b.Keep, func() {
			if b.unkeep(s.account, k) {
				defer b.giving.RUnlock()
				b.giveBack(context.Background(), s.account, k.slot, k.owner)
			}
		})
	})
}

// HoldUntil extends the slot's lease to until, for a request Mailchimp may
// still be running: neither given back nor kept, the slot is free again
// only when that lease runs out. It costs one write, on that path only, and
// none when the lease already lasts that long. Only the first Release or
// HoldUntil counts.
func (s *budgetSlot) HoldUntil(ctx context.Context, until time.Time) error {
	var err error
	s.ended.Do(func() {
		if until.After(s.until) {
			err = s.b.extend(ctx, s.account, s.slot, s.owner, until)
		}
	})
	return err
}

// extend moves the end of owner's lease of the slot to until.
func (b *MailchimpBudget) extend(ctx context.Context, account string, slot int, owner string, until time.Time) error {
	cond := expression.Name(attrLeaseOwner).Equal(expression.Value(owner))
	update := expression.Set(expression.Name(attrLeaseUntil), expression.Value(until.UnixMilli()))
	err := b.updateSlot(ctx, account, slot, cond, update)
	switch {
	case err == nil:
		return nil
	case conditionFailed(err):
		return fmt.Errorf("hold Mailchimp request slot %d of account %s: it is no longer this request's (its lease ran out)", slot, account)
	default:
		return fmt.Errorf("hold Mailchimp request slot %d of account %s: %w", slot, account, err)
	}
}

// takeKept hands out a slot the process kept for account, if one still
// outlasts a request; kept slots too old to reuse (kept across a frozen
// Lambda environment) are given back first.
func (b *MailchimpBudget) takeKept(account string, now time.Time) *keptSlot {
	var stale []*keptSlot
	defer func() {
		for _, k := range stale {
			b.giveBack(context.Background(), account, k.slot, k.owner)
		}
	}()
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.idle[account]) > 0 {
		kept := b.idle[account]
		k := kept[len(kept)-1]
		b.idle[account] = kept[:len(kept)-1]
		k.timer.Stop()
		if b.reusable(k.until, now) {
			return k
		}
		stale = append(stale, k)
	}
	return nil
}

// unkeep removes k from the kept slots; false means a request or Flush took
// it. When true, the caller gives the slot back holding giving (read),
// taken here so a Flush that runs meanwhile waits for it.
func (b *MailchimpBudget) unkeep(account string, k *keptSlot) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.idle[account]
	for i, x := range kept {
		if x == k {
			b.idle[account] = append(kept[:i:i], kept[i+1:]...)
			b.giving.RLock()
			return true
		}
	}
	return false
}

// Flush gives back every slot the process keeps, and waits for the give-backs
// already under way, before it returns. The sync function calls it before
// its handler returns: Lambda freezes the environment then, timers and all,
// and a slot kept through the freeze would stay out of the other functions'
// reach until its lease ran out. A give-back that fails leaves its lease to
// run out.
func (b *MailchimpBudget) Flush(ctx context.Context) {
	type kept struct {
		account string
		slot    *keptSlot
	}
	var all []kept
	b.mu.Lock()
	for account, slots := range b.idle {
		for _, k := range slots {
			k.timer.Stop()
			all = append(all, kept{account, k})
		}
	}
	b.idle = nil
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, k := range all {
		wg.Go(func() { b.giveBack(ctx, k.account, k.slot.slot, k.slot.owner) })
	}
	wg.Wait()
	b.giving.Lock()
	b.giving.Unlock() //nolint:staticcheck // an empty critical section: it only waits for the timers' give-backs
}

// giveBack frees the slot if owner still holds it. Requests pass a context
// of their own (not the request's), so a cancelled request still frees its
// slot; should it fail, the lease runs out instead.
func (b *MailchimpBudget) giveBack(ctx context.Context, account string, slot int, owner string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cond := expression.Name(attrLeaseOwner).Equal(expression.Value(owner))
	update := expression.Remove(expression.Name(attrLeaseUntil)).Remove(expression.Name(attrLeaseOwner))
	err := b.updateSlot(ctx, account, slot, cond, update)
	if err == nil {
		b.mu.Lock()
		if b.returned == nil {
			b.returned = map[string][]int{}
		}
		r := slices.DeleteFunc(b.returned[account], func(n int) bool { return n == slot })
		b.returned[account] = append(r, slot)
		b.mu.Unlock()
	}
}

// lastReturned takes the slot this process gave back last for the account
// (a random one when none), so two takes of one process do not both try it.
func (b *MailchimpBudget) lastReturned(account string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.returned[account]
	if len(r) == 0 {
		return mathrand.IntN(b.Slots)
	}
	slot := r[len(r)-1]
	b.returned[account] = r[:len(r)-1]
	return slot
}

func newOwner() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new request slot owner: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
