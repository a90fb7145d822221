package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// DefaultMaxMailchimpConnections is Mailchimp's limit of simultaneous
// connections per user: a client that opens more is answered 429.
const DefaultMaxMailchimpConnections = 10

// limitedTransport lets at most cap(slots) requests be in flight at once. A
// slot is taken before the request is sent and given back once its response
// body is read to the end or closed, so the server has finished the request
// before the slot is used again.
//
// With a budget, the request then also takes one of the account's shared
// slots, and the time it waited for it is reported to the request's
// apmc.BudgetWait. A request that fails after it may have reached Mailchimp
// (a timeout, a connection lost) does not give its shared slot back:
// Mailchimp may still be running it, holding one of the account's
// connections ("requests that time out for you may still run"), so the slot
// is held until MailchimpCallLimit after the request was sent, when
// Mailchimp has ended it; the slot's own lease, meant for requests that
// finish, is shorter. Only a request that never left (its connection could
// not be opened) gives it back at once. The function's own gate is given
// back either way: it counts this process's requests, and the shared budget
// is what counts Mailchimp's connections.
type limitedTransport struct {
	base    http.RoundTripper
	slots   chan struct{}
	budget  Budget
	account string
	// callLimit is how long Mailchimp may run a call (MailchimpCallLimit).
	callLimit time.Duration
	log       *slog.Logger
}

// RoundTrip waits for a slot (or the request's context), then sends r.
func (t *limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, ctx.Err()
	}
	var shared apmc.BudgetSlot
	if t.budget != nil {
		slot, waited, err := t.budget.Acquire(ctx, t.account)
		apmc.AddBudgetWait(ctx, waited)
		if err != nil {
			<-t.slots
			if r.Body != nil {
				_ = r.Body.Close()
			}
			return nil, fmt.Errorf("wait for the Mailchimp request budget: %w", err)
		}
		shared = slot
	}
	sent := time.Now()
	var once sync.Once
	done := func(giveBack bool) {
		once.Do(func() {
			switch {
			case shared == nil:
			case giveBack:
				shared.Release()
			default:
				t.holdWhileRunning(ctx, shared, sent)
			}
			<-t.slots
		})
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		done(neverSent(err))
		return nil, err
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		done(true)
		return resp, nil
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, done: done}
	return resp, nil
}

// holdWhileRunning keeps the shared slot of a request Mailchimp may still be
// running until Mailchimp has certainly ended it. The request's context has
// usually ended (it timed out), so the hold gets a bounded one of its own;
// should the hold fail, the slot's shorter lease runs out instead.
func (t *limitedTransport) holdWhileRunning(ctx context.Context, slot apmc.BudgetSlot, sent time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	limit := t.callLimit
	if limit <= 0 {
		limit = MailchimpCallLimit
	}
	if err := slot.HoldUntil(ctx, sent.Add(limit)); err != nil {
		t.log.Warn("a Mailchimp request that may still be running could not keep its budget slot; the slot comes free when its lease runs out",
			"account", t.account, "error", err)
	}
}

// neverSent reports whether a request failed before any of it reached the
// server: its connection could not be opened.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// releasingBody gives its slot back at the end of the body or on Close; a
// body cut off by an error (a timeout mid-answer) holds the shared slot, as
// the request may still be running.
type releasingBody struct {
	io.ReadCloser
	done func(giveBack bool)
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done(errors.Is(err, io.EOF))
	}
	return n, err
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.done(true)
	return err
}
