// Package notify posts short messages to Slack-compatible incoming
// webhooks: an instance's notification URL, told when its health changes.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// DefaultTimeout bounds one delivery: a notification is best-effort and
// must not hold up the changes behind it.
const DefaultTimeout = 3 * time.Second

// Webhook delivers messages as {"text": "..."}, the body Slack's incoming
// webhooks (and Mattermost's, Teams' workflows, Discord's /slack
// endpoints, …) accept.
type Webhook struct {
	// Client sends the requests; nil means a client that follows no
	// redirect (a redirect is reported as a failure).
	Client *http.Client
	// Timeout bounds each delivery; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Send posts text to rawURL. The error never holds the URL, which is a
// secret: it says only what went wrong.
func (w *Webhook) Send(ctx context.Context, rawURL, text string) error {
	if err := apmc.CheckNotificationURL(rawURL); err != nil {
		return fmt.Errorf("notification URL %w", err)
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(struct {
		Text string `json:"text"`
	}{slackEscaper.Replace(text)})
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return errors.New("build notification request: invalid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client().Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the URL
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("post notification: no answer within %s", timeout)
		}
		if errors.Is(err, errInternalAddress) {
			return fmt.Errorf("post notification: %w", errInternalAddress)
		}
		return fmt.Errorf("post notification: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post notification: answered %d", resp.StatusCode)
	}
	return nil
}

func (w *Webhook) client() *http.Client {
	if w.Client != nil {
		return w.Client
	}
	return noRedirects
}

// slackEscaper escapes the three characters Slack reads as markup (<…>
// as a link or mention, & as an entity), so a name such as "Smith & Co
// <Training>" is shown as written.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// noRedirects follows no redirect, so a message goes only where the URL
// says, uses no proxy from the environment, and connects to no internal
// address (guardDial).
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: DefaultTimeout, Control: guardDial}).DialContext,
		TLSHandshakeTimeout: DefaultTimeout,
		ForceAttemptHTTP2:   true,
	},
}

// guardDial refuses a connection to an internal address, whatever name
// led to it: the URL check (apmc.CheckNotificationURL) sees only the host
// as written, and a public name can resolve to a private, loopback,
// link-local or metadata address. It runs on the address about to be
// dialled, after resolution. Loopback is allowed only where the build
// allows plain http to it (apmc.LoopbackHTTP: tests and the local stack).
func guardDial(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("notification address: %w", err)
	}
	if refusedAddress(net.ParseIP(host)) {
		return errInternalAddress
	}
	return nil
}

// errInternalAddress is what guardDial refuses with; Send reports it
// without the address (net's error names it, and it says where the
// secret URL points).
var errInternalAddress = errors.New("notification URL resolves to a private, loopback or link-local address: refused")

// refusedAddress reports whether a notification may not be sent to ip.
func refusedAddress(ip net.IP) bool {
	switch {
	case ip == nil:
		return true
	case ip.IsLoopback():
		return !apmc.LoopbackHTTP
	default:
		return ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast()
	}
}
