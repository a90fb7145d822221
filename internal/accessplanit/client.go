package accessplanit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// DefaultTimeout bounds each API call unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// maxResponseBytes caps how much of a response body is read.
const maxResponseBytes = 16 << 20

// Client calls one accessplanit platform's API v2 with one API key.
type Client struct {
	base    *url.URL
	apiKey  string
	http    *http.Client
	timeout time.Duration
}

var _ apmc.Accessplanit = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithTimeout bounds each API call (default DefaultTimeout); zero or less
// leaves only the caller's context to bound it.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// New returns a client for the platform whose API v2 lives at baseURL, such
// as https://host/instance/api/v2/. The URL must pass apmc.CheckBaseURL
// (https, so the API key never travels in clear; plain http only to a
// loopback address, and not in the Lambda build), and the client follows a
// redirect only as apmc.CheckRedirect allows: on the same host, never to
// plain http.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	baseURL = strings.TrimSpace(baseURL)
	if err := apmc.CheckBaseURL(baseURL); err != nil {
		return nil, fmt.Errorf("accessplanit base URL %w", err)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("accessplanit base URL is not a URL: %w", err)
	}
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("accessplanit API key is empty")
	}
	u.RawQuery, u.Fragment = "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	c := &Client{base: u, apiKey: apiKey, http: http.DefaultClient, timeout: DefaultTimeout}
	for _, o := range opts {
		o(c)
	}
	hc := *c.http
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		return apmc.CheckRedirect(via[len(via)-1].URL, req.URL, len(via))
	}
	c.http = &hc
	return c, nil
}

// BaseURL returns the normalised base URL, ending with a slash.
func (c *Client) BaseURL() string { return c.base.String() }

// String describes the client without its API key.
func (c *Client) String() string { return "accessplanit.Client(" + c.base.String() + ")" }

// query is an ordered list of OData query options. The keys keep their
// literal "$" and spaces are sent as %20, the form OData servers expect.
type query [][2]string

func (q query) encode() string {
	var b strings.Builder
	for i, kv := range q {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(kv[1]), "+", "%20"))
	}
	return b.String()
}

// do sends one request to path (relative to the base URL) and returns the
// body of a 2xx answer, or an error: *APIError for any other status.
func (c *Client) do(ctx context.Context, method, path string, q query, body any) ([]byte, http.Header, error) {
	what := method + " " + path
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	target := c.base.String() + path
	if len(q) > 0 {
		target += "?" + q.encode()
	}
	var reader io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: encode body: %w", what, err)
		}
		reader = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// Network errors and timeouts are transient: no Permanent method. A
		// refused redirect stays permanent.
		if apmc.IsPermanent(err) {
			return nil, nil, apmc.Permanentf("%s: %s", what, c.redact(err.Error()))
		}
		return nil, nil, fmt.Errorf("%s: %s", what, c.redact(err.Error()))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: read response: %s", what, c.redact(err.Error()))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := newAPIError(resp.StatusCode, data)
		apiErr.Message = c.redact(apiErr.Message)
		for i, e := range apiErr.Errors {
			apiErr.Errors[i] = c.redact(e)
		}
		return nil, nil, fmt.Errorf("%s: %w", what, apiErr)
	}
	return data, resp.Header, nil
}

// redact removes the API key from text that came from elsewhere (a
// transport error, a server's message), so it never reaches an error.
func (c *Client) redact(s string) string { return apmc.Redact(s, []string{c.apiKey}) }
