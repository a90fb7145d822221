package dynamo

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// inFlight counts holders of an account's slots and remembers the most
// seen at once.
type inFlight struct {
	now, peak atomic.Int64
}

func (f *inFlight) enter() {
	n := f.now.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (f *inFlight) leave() { f.now.Add(-1) }

func TestMailchimpBudgetConcurrency(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		tables := newTables(t, b.client)
		budget := NewMailchimpBudget(b.client, tables.Contacts, 10, 30*time.Second, 20*time.Second)
		tests := []struct {
			name      string
			accounts  []string
			perAcct   int
			wantPeaks int // each account's peak must reach this, and never exceed 10
		}{
			{"one account, 30 callers", []string{"acct-a"}, 30, 10},
			{"two accounts in parallel", []string{"acct-b", "acct-c"}, 20, 10},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				counts := map[string]*inFlight{}
				for _, a := range tt.accounts {
					counts[a] = &inFlight{}
				}
				// Every caller holds its slot until ten are held at once (or
				// a few seconds passed), so the peak shows the limit being
				// reached on a slow server too, and never passed.
				var wg sync.WaitGroup
				errs := make(chan error, len(tt.accounts)*tt.perAcct)
				for _, a := range tt.accounts {
					for range tt.perAcct {
						wg.Add(1)
						go func() {
							defer wg.Done()
							release, _, err := budget.Acquire(context.Background(), a)
							if err != nil {
								errs <- err
								return
							}
							counts[a].enter()
							for held := time.Now(); counts[a].peak.Load() < 10 && time.Since(held) < 3*time.Second; {
								time.Sleep(5 * time.Millisecond)
							}
							counts[a].leave()
							release.Release()
						}()
					}
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("Acquire() error = %v, want nil", err)
				}
				for a, c := range counts {
					if p := c.peak.Load(); p > 10 || p < int64(tt.wantPeaks) {
						t.Errorf("account %s: peak requests in flight = %d, want %d (never more than 10)", a, p, tt.wantPeaks)
					}
				}
			})
		}
	})
}

func TestMailchimpBudgetLeaseAndWait(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		budget := NewMailchimpBudget(b.client, tables.Contacts, 2, 400*time.Millisecond, 150*time.Millisecond)

		// Two holders that crash: they never release.
		for i := range 2 {
			if _, _, err := budget.Acquire(ctx, "acct"); err != nil {
				t.Fatalf("Acquire() #%d error = %v", i+1, err)
			}
		}
		start := time.Now()
		_, waited, err := budget.Acquire(ctx, "acct")
		if !errors.Is(err, ErrBudgetWait) || apmc.IsPermanent(err) {
			t.Fatalf("Acquire() with every slot held = %v, want a transient ErrBudgetWait", err)
		}
		if took := time.Since(start); waited < 150*time.Millisecond || took > 2*time.Second {
			t.Errorf("Acquire() with every slot held waited %s (took %s), want about 150ms", waited, took)
		}

		// Another account is not affected.
		if _, _, err := budget.Acquire(ctx, "other"); err != nil {
			t.Errorf("Acquire(other account) error = %v, want nil", err)
		}

		// Once the crashed holders' leases run out, their slots are free.
		time.Sleep(450 * time.Millisecond)
		release, _, err := budget.Acquire(ctx, "acct")
		if err != nil {
			t.Fatalf("Acquire() after the leases ran out error = %v", err)
		}
		release.Release()

		// A released slot can be taken again at once, a stale release does
		// not free someone else's slot.
		budget.MaxWait = 2 * time.Second
		r1, _, err := budget.Acquire(ctx, "acct")
		if err != nil {
			t.Fatalf("Acquire() error = %v", err)
		}
		if _, _, err := budget.Acquire(ctx, "acct"); err != nil {
			t.Fatalf("Acquire() second slot error = %v", err)
		}
		r1.Release()
		r1.Release() // no effect: the slot is no longer r1's once taken below
		budget.MaxWait = 100 * time.Millisecond
		if _, _, err := budget.Acquire(ctx, "acct"); err != nil {
			t.Fatalf("Acquire() after a release error = %v", err)
		}
		r1.Release()
		if _, _, err := budget.Acquire(ctx, "acct"); !errors.Is(err, ErrBudgetWait) {
			t.Errorf("Acquire() after a stale release = %v, want ErrBudgetWait (the slot is still held)", err)
		}
	})
}

// TestMailchimpBudgetKeep shows a process reusing the slot it kept after a
// request, without asking DynamoDB, while other processes cannot take it;
// once the process has been idle for Keep, the slot is theirs again.
func TestMailchimpBudgetKeep(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		const keep = 300 * time.Millisecond
		mine := NewMailchimpBudget(b.client, tables.Contacts, 1, 10*time.Second, 100*time.Millisecond)
		mine.Keep = keep
		other := NewMailchimpBudget(b.client, tables.Contacts, 1, 10*time.Second, 100*time.Millisecond)

		release, _, err := mine.Acquire(ctx, "acct")
		if err != nil {
			t.Fatalf("Acquire() error = %v", err)
		}
		release.Release()
		if _, _, err := other.Acquire(ctx, "acct"); !errors.Is(err, ErrBudgetWait) {
			t.Fatalf("another process's Acquire() while the slot is kept = %v, want ErrBudgetWait", err)
		}
		// The kept slot is handed out again as it is: a fresh take would
		// write a new owner.
		before := slotOwner(t, b, tables.Contacts, "acct")
		reused, waited, err := mine.Acquire(ctx, "acct")
		if err != nil || waited != 0 {
			t.Fatalf("Acquire() of the kept slot = waited %s, error %v; want at once, nil", waited, err)
		}
		if after := slotOwner(t, b, tables.Contacts, "acct"); after != before || after == "" {
			t.Errorf("slot owner after reuse = %q, want %q (the kept lease, not a new take)", after, before)
		}
		reused.Release()
		time.Sleep(keep + 200*time.Millisecond)
		r, _, err := other.Acquire(ctx, "acct")
		if err != nil {
			t.Fatalf("another process's Acquire() after the slot was idle for Keep = %v, want nil", err)
		}
		r.Release()
	})
}

// TestMailchimpBudgetFlush shows Flush giving back at once every slot the
// process kept, of every account, so another process can take them before
// Keep has passed; a slot in use is not given back.
func TestMailchimpBudgetFlush(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		mine := NewMailchimpBudget(b.client, tables.Contacts, 1, 10*time.Second, 100*time.Millisecond)
		mine.Keep = time.Hour
		other := NewMailchimpBudget(b.client, tables.Contacts, 1, 10*time.Second, 100*time.Millisecond)

		for _, account := range []string{"acct", "acct2"} {
			release, _, err := mine.Acquire(ctx, account)
			if err != nil {
				t.Fatalf("Acquire(%s) error = %v", account, err)
			}
			release.Release()
		}
		inUse, _, err := mine.Acquire(ctx, "acct")
		if err != nil {
			t.Fatalf("Acquire(the kept slot) error = %v", err)
		}
		mine.Flush(ctx)
		if _, _, err := other.Acquire(ctx, "acct"); !errors.Is(err, ErrBudgetWait) {
			t.Errorf("another process's Acquire() of a slot in use after Flush() = %v, want ErrBudgetWait", err)
		}
		if _, _, err := other.Acquire(ctx, "acct2"); err != nil {
			t.Errorf("another process's Acquire() of a kept slot after Flush() = %v, want nil", err)
		}
		inUse.Release()
		mine.Flush(ctx)
		if _, _, err := other.Acquire(ctx, "acct"); err != nil {
			t.Errorf("another process's Acquire() after the slot in use was kept and flushed = %v, want nil", err)
		}
	})
}

// slotOwner reads the owner of the account's slot 0.
func slotOwner(t *testing.T, b backend, table, account string) string {
	t.Helper()
	out, err := b.client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: slotKey(account, 0), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem(slot) error = %v", err)
	}
	owner, _ := out.Item[attrLeaseOwner].(*types.AttributeValueMemberS)
	if owner == nil {
		return ""
	}
	return owner.Value
}

// TestMailchimpBudgetRetakesItsLastSlot: a process takes first the slot it
// gave back last, likely still free, rather than a random one that another
// process may hold (each held slot tried costs a failed take).
func TestMailchimpBudgetRetakesItsLastSlot(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		budget := NewMailchimpBudget(b.client, tables.Contacts, 10, 10*time.Second, time.Second)
		held := func() []int {
			t.Helper()
			var out []int
			for slot := range 10 {
				got, err := b.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tables.Contacts), Key: slotKey("acct", slot), ConsistentRead: aws.Bool(true)})
				if err != nil {
					t.Fatalf("GetItem(slot %d) error = %v", slot, err)
				}
				if _, ok := got.Item[attrLeaseOwner]; ok {
					out = append(out, slot)
				}
			}
			return out
		}
		release, _, err := budget.Acquire(ctx, "acct")
		if err != nil {
			t.Fatalf("Acquire error = %v", err)
		}
		first := held()
		release.Release()
		for i := range 5 {
			release, _, err := budget.Acquire(ctx, "acct")
			if err != nil {
				t.Fatalf("Acquire %d error = %v", i, err)
			}
			if got := held(); !slices.Equal(got, first) {
				t.Fatalf("take %d holds slots %v, want %v: the one given back last", i, got, first)
			}
			release.Release()
		}
	})
}

// TestMailchimpBudgetWaitBoundedWhenRacesAreLost: a slot that shows as free
// but is taken by another process first is a lost race. A waiter that keeps
// losing still stops at MaxWait with ErrBudgetWait (not at its request's
// deadline) and backs off between tries instead of hammering the account's
// partition.
func TestMailchimpBudgetWaitBoundedWhenRacesAreLost(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		tables := newTables(t, b.client)
		const account, maxWait = "acct", 150 * time.Millisecond
		// The rival frees its slot before each of the waiter's reads and
		// takes it back before each of the waiter's takes.
		rival := NewMailchimpBudget(b.client, tables.Contacts, 1, time.Minute, time.Second)
		if _, ok, err := rival.take(context.Background(), account, 0, "rival"); err != nil || !ok {
			t.Fatalf("rival take = %v, %v; want the slot", ok, err)
		}
		rec := &recorder{before: func(op string) {
			switch op {
			case "Query":
				rival.giveBack(context.Background(), account, 0, "rival")
			case "UpdateItem":
				_, _, _ = rival.take(context.Background(), account, 0, "rival")
			}
		}}
		waiter := NewMailchimpBudget(rec.client(b.client), tables.Contacts, 1, time.Minute, maxWait)

		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, waited, err := waiter.Acquire(ctx, account)
		took := time.Since(start)
		if !errors.Is(err, ErrBudgetWait) {
			t.Errorf("Acquire() losing every race = %v after %s, want ErrBudgetWait", err, took)
		}
		if waited < maxWait || took > maxWait+time.Second {
			t.Errorf("Acquire() losing every race waited %s (took %s), want about %s", waited, took, maxWait)
		}
		rec.mu.Lock()
		sent := len(rec.sent)
		rec.mu.Unlock()
		if sent > 40 {
			t.Errorf("Acquire() losing every race for %s sent %d DynamoDB requests, want at most 40 (backing off between tries)", took, sent)
		}
	})
}

// TestMailchimpBudgetHoldUntil: a slot held for a request Mailchimp may
// still be running stays taken past its lease, until the hold ends, and is
// free again then without anyone giving it back; a hold the lease already
// covers costs no request.
func TestMailchimpBudgetHoldUntil(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		const lease, hold = 200 * time.Millisecond, 700 * time.Millisecond
		rec := &recorder{}
		mine := NewMailchimpBudget(rec.client(b.client), tables.Contacts, 1, lease, 50*time.Millisecond)
		other := NewMailchimpBudget(b.client, tables.Contacts, 1, lease, 50*time.Millisecond)

		slot, _, err := mine.Acquire(ctx, "acct")
		if err != nil {
			t.Fatalf("Acquire() error = %v", err)
		}
		taken := time.Now()
		rec.mu.Lock()
		before := len(rec.sent)
		rec.mu.Unlock()
		if err := slot.HoldUntil(ctx, taken.Add(lease/2)); err != nil {
			t.Fatalf("HoldUntil(within the lease) error = %v", err)
		}
		rec.mu.Lock()
		sent := len(rec.sent) - before
		rec.mu.Unlock()
		if sent != 0 {
			t.Errorf("HoldUntil(within the lease) sent %d requests, want none", sent)
		}
		slot, _, err = mine.Acquire(ctx, "acct-held")
		if err != nil {
			t.Fatalf("Acquire() error = %v", err)
		}
		taken = time.Now()
		if err := slot.HoldUntil(ctx, taken.Add(hold)); err != nil {
			t.Fatalf("HoldUntil() error = %v", err)
		}
		slot.Release() // no effect: the slot is held
		time.Sleep(lease + 100*time.Millisecond)
		if _, _, err := other.Acquire(ctx, "acct-held"); !errors.Is(err, ErrBudgetWait) {
			t.Errorf("Acquire() after the lease but within the hold = %v, want ErrBudgetWait", err)
		}
		time.Sleep(time.Until(taken.Add(hold + 50*time.Millisecond)))
		free, _, err := other.Acquire(ctx, "acct-held")
		if err != nil {
			t.Fatalf("Acquire() after the hold ran out = %v, want the slot", err)
		}
		free.Release()
	})
}
