package mailchimp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// The client is the engine's Mailchimp port.
var _ apmc.Mailchimp = (*Client)(nil)

// DefaultTimeout bounds each API call unless WithTimeout says otherwise.
// Mailchimp itself gives up after 120 s; a sync should not wait that long.
const DefaultTimeout = 30 * time.Second

// maxBodyBytes caps how much of a response body is read. The largest
// responses the client asks for are pages of lists or merge fields.
const maxBodyBytes = 8 << 20

// dataCentrePattern is what a data centre looks like ("us21"); anything else
// after the key's last "-" is refused, so a key cannot steer the host name.
var dataCentrePattern = regexp.MustCompile(`^[a-z]{2,10}[0-9]{1,4}$`)

// Client calls the Mailchimp Marketing API v3 for one API key. It is safe
// for concurrent use.
type Client struct {
	baseURL string
	apiKey  string
	http    *http.Client
	timeout time.Duration
	optErr  error
}

// Option configures a Client.
type Option func(*Client)

// WithBaseURL sends calls to u instead of the data centre's URL (for
// simulators). u must pass apmc.CheckBaseURL (https; plain http only to a
// loopback address, and not in the Lambda build) and end in "/3.0".
func WithBaseURL(u string) Option {
	return func(c *Client) {
		u = strings.TrimRight(u, "/")
		p, err := url.Parse(u)
		if err != nil {
			c.optErr = errors.New("base URL does not parse as a URL")
			return
		}
		switch err := apmc.CheckBaseURL(u); {
		case err != nil:
			c.optErr = fmt.Errorf("base URL %q %w", p.Redacted(), err)
		case !strings.HasSuffix(p.Path, "/3.0"):
			c.optErr = fmt.Errorf("base URL %q must end in /3.0", p.Redacted())
		default:
			c.baseURL = u
		}
	}
}

// WithHTTPClient sends calls through hc instead of a default http.Client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithTimeout bounds each call (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// New returns a client for apiKey. The data centre is the part of the key
// after its last "-" ("…-us21" calls https://us21.api.mailchimp.com/3.0);
// a key without one is an error unless WithBaseURL names the server. The
// client follows a redirect only as apmc.CheckRedirect allows. Errors never
// contain the key.
func New(apiKey string, opts ...Option) (*Client, error) {
	apiKey = strings.TrimSpace(apiKey)
	if apiKey == "" {
		return nil, errors.New("mailchimp: API key is empty")
	}
	c := &Client{apiKey: apiKey, http: &http.Client{}, timeout: DefaultTimeout}
	for _, o := range opts {
		o(c)
	}
	if c.optErr != nil {
		return nil, fmt.Errorf("mailchimp: %w", c.optErr)
	}
	if c.baseURL == "" {
		dc, err := DataCentre(apiKey)
		if err != nil {
			return nil, fmt.Errorf("mailchimp: %w", err)
		}
		c.baseURL = "https://" + dc + ".api.mailchimp.com/3.0"
	}
	// A redirect is followed only on the same host and never to plain
	// http, so the key goes nowhere else.
	hc := *c.http
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		return apmc.CheckRedirect(via[len(via)-1].URL, req.URL, len(via))
	}
	c.http = &hc
	return c, nil
}

// DataCentre returns the data centre named by an API key: the part after
// its last "-". The error never contains the key.
func DataCentre(apiKey string) (string, error) {
	i := strings.LastIndex(apiKey, "-")
	if i < 0 {
		return "", errors.New("API key has no data centre suffix (expected …-us21)")
	}
	dc := apiKey[i+1:]
	if !dataCentrePattern.MatchString(dc) {
		return "", errors.New("API key's data centre suffix is not like us21")
	}
	return dc, nil
}

// BaseURL returns the URL calls are sent to (it holds no secret).
func (c *Client) BaseURL() string { return c.baseURL }

// String describes the client without its key.
func (c *Client) String() string {
	shown := c.baseURL
	if u, err := url.Parse(c.baseURL); err == nil {
		shown = u.Redacted()
	}
	return "mailchimp.Client(" + shown + ")"
}

// GoString describes the client without its key, also for %#v.
func (c *Client) GoString() string { return c.String() }

// do sends one call and decodes a 2xx JSON answer into out (if not nil).
// A non-2xx answer becomes an *APIError; a transport failure is returned
// wrapped as is, so it is never taken for a permanent failure.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	_, err := c.doAt(ctx, method, path, query, in, out)
	return err
}

// doAt is do, also returning when Mailchimp handled the call, by its own
// clock: the answer's Date header (whole seconds, written after the call's
// work) less the time from the request's last byte to the answer, cut to
// the second below, so never later than what the call did. An answer
// without a Date (every origin server with a clock must send one, RFC 9110)
// gives the service's clock when the request was written, to the second.
func (c *Client) doAt(ctx context.Context, method, path string, query url.Values, in, out any) (time.Time, error) {
	var wrote atomic.Pointer[time.Time] // set by the transport's writer
	start := time.Now()
	wrote.Store(&start)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
		now := time.Now()
		wrote.Store(&now)
	}})
	var at time.Time
	err := c.send(ctx, method, path, query, in, out, func(h http.Header) { at = answeredAt(h, *wrote.Load()) })
	return at, err
}

// answeredAt is when Mailchimp handled a call whose request was written at
// wrote and whose answer has header h (see doAt).
func answeredAt(h http.Header, wrote time.Time) time.Time {
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return wrote.UTC().Truncate(time.Second)
	}
	return date.Add(-time.Since(wrote)).UTC().Truncate(time.Second)
}

// send is do, handing the answer's headers to answered (when not nil)
// before the body is read.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in, out any, answered func(http.Header)) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s body: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "apmc-sync")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Mailchimp ignores the user name; only the password (the key) counts.
	req.SetBasicAuth("apmc", c.apiKey)

	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, c.scrub(err))
	}
	defer resp.Body.Close()
	if answered != nil {
		answered(resp.Header)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, c.scrub(err))
	}
	if len(raw) > maxBodyBytes {
		return fmt.Errorf("%s %s: response larger than %d bytes", method, path, maxBodyBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := parseAPIError(resp.StatusCode, resp.Header.Get("Content-Type"), raw)
		e.redact(c.apiKey)
		return classify(e)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// scrub makes sure a transport error cannot carry the key. net/http does not
// put headers in its errors, but a custom RoundTripper might.
func (c *Client) scrub(err error) error {
	if !strings.Contains(err.Error(), c.apiKey) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), c.apiKey, "[redacted]"), err: err}
}

// scrubbedError keeps the wrapped error for errors.Is/As (timeouts stay
// recognisable) while its text hides the key.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
