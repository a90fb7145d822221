package connector

import (
	"io"
	"net/http"
	"sync"
)

// DefaultMaxMailchimpConnections is Mailchimp's limit of simultaneous
// connections per user: a client that opens more is answered 429.
const DefaultMaxMailchimpConnections = 10

// limitedTransport lets at most cap(slots) requests be in flight at once. A
// slot is taken before the request is sent and given back once its response
// body is read to the end or closed, so the server has finished the request
// before the slot is used again.
type limitedTransport struct {
	base  http.RoundTripper
	slots chan struct{}
}

// RoundTrip waits for a slot (or the request's context), then sends r.
func (t *limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case t.slots <- struct{}{}:
	case <-r.Context().Done():
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, r.Context().Err()
	}
	release := sync.OnceFunc(func() { <-t.slots })
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
