package apmc

import (
	"errors"
	"fmt"
	"net"
	"net/url"
)

// CheckBaseURL reports whether raw may be the base URL of an accessplanit
// or Mailchimp API, which is sent an API key on every call: it must be an
// absolute https URL without credentials. Plain http is accepted only to a
// loopback address (simulators on the same machine), and only in builds
// where LoopbackHTTP is true: never in the Lambda build, whatever an
// instance's configuration says. Instance.Validate and both API clients
// apply it, so a base URL is checked again where it is used.
func CheckBaseURL(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.User != nil {
		return errors.New("must not hold credentials")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if !LoopbackHTTP {
			return errors.New("must use https")
		}
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("must use https (plain http only to a loopback address)")
	}
	return fmt.Errorf("scheme %q is not https", u.Scheme)
}

// CheckNotificationURL reports whether raw may be an instance's
// notification URL: the same rules as CheckBaseURL (https, no credentials;
// plain http only to a loopback address outside the Lambda build). In the
// Lambda build (LoopbackHTTP false) its host may not be a private,
// loopback, link-local or unspecified IP address (nor localhost): the sync
// function would otherwise post to its own network, such as the instance
// metadata address, on an operator's say-so. The error never repeats the
// URL, which is a secret.
func CheckNotificationURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return errors.New("is not an absolute URL")
	}
	if err := CheckBaseURL(u.Scheme + "://" + u.Host); err != nil {
		if u.Scheme != "https" && u.Scheme != "http" {
			return fmt.Errorf("scheme %q is not https", u.Scheme)
		}
		return err
	}
	if u.User != nil {
		return errors.New("must not hold credentials")
	}
	if !LoopbackHTTP && isInternal(u.Hostname()) {
		return errors.New("must not be a private, loopback or link-local address")
	}
	return nil
}

// isInternal reports whether host is localhost or an IP literal of a
// private, loopback, link-local or unspecified address.
func isInternal(host string) bool {
	if isLoopback(host) {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified())
}

// maxRedirects is how many redirects an API client follows for one call,
// as many as net/http's default.
const maxRedirects = 10

// CheckRedirect reports whether an API client may follow the redirect to
// to, having called from and been redirected followed times already: only
// on the same host and port, and never from https to http, so an API key is
// neither sent to another server nor in clear. A refusal is permanent:
// following it would need a configuration change, not a retry. Both API
// clients make it their http.Client's CheckRedirect.
func CheckRedirect(from, to *url.URL, followed int) error {
	if followed >= maxRedirects {
		return Permanentf("refused a redirect to %s after %d redirects", to.Redacted(), followed)
	}
	if to.Host != from.Host {
		return Permanentf("refused a redirect from host %s to another host, %s", from.Host, to.Host)
	}
	if to.Scheme != "https" && to.Scheme != from.Scheme {
		return Permanentf("refused a redirect from %s to %s on host %s: only https is followed", from.Scheme, to.Scheme, to.Host)
	}
	if err := CheckBaseURL(to.Scheme + "://" + to.Host); err != nil {
		return Permanentf("refused a redirect to host %s: %v", to.Host, err)
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
