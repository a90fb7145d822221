package connector

import (
	"fmt"
	"io"
	"net/http"
	"sync"

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
// apmc.BudgetWait.
type limitedTransport struct {
	base    http.RoundTripper
	slots   chan struct{}
	budget  Budget
	account string
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
	releaseShared := func() {}
	if t.budget != nil {
		rel, waited, err := t.budget.Acquire(ctx, t.account)
		apmc.AddBudgetWait(ctx, waited)
		if err != nil {
			<-t.slots
			if r.Body != nil {
				_ = r.Body.Close()
			}
			return nil, fmt.Errorf("wait for the Mailchimp request budget: %w", err)
		}
		releaseShared = rel
	}
	release := sync.OnceFunc(func() {
		releaseShared()
		<-t.slots
	})
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		release()
		return nil, err
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		release()
		return resp, nil
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody gives its slot back at the end of the body or on Close.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
