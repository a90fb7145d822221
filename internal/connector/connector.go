// Package connector builds the Mailchimp and accessplanit API clients for an
// instance's credentials, once per instance configuration, so a warm function
// reuses connections.
package connector

import (
	"fmt"
	"net/http"
	gosync "sync"
	"time"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/mailchimp"
	"github.com/apmc-sync/apmc/internal/sync"
)

// Connector implements sync.Connector.
type Connector struct {
	// HTTPClient is shared by every client; nil means a client with sensible
	// connection pooling.
	HTTPClient *http.Client
	// Timeout bounds each API call; 0 means 30 s.
	Timeout time.Duration

	mu           gosync.Mutex
	mailchimps   map[string]*mailchimp.Client
	accessplanit map[string]*accessplanit.Client
}

var _ sync.Connector = (*Connector)(nil)

// cacheKey changes whenever the instance's configuration does.
func cacheKey(in sync.Instance) string { return fmt.Sprintf("%s@%d", in.ID, in.ConfigVersion) }

func (c *Connector) httpClient() *http.Client {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		}}
	}
	return c.HTTPClient
}

func (c *Connector) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 30 * time.Second
}

// Mailchimp returns the Mailchimp client for the instance.
func (c *Connector) Mailchimp(in sync.Instance) (sync.Mailchimp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey(in)
	if cl, ok := c.mailchimps[k]; ok {
		return cl, nil
	}
	opts := []mailchimp.Option{mailchimp.WithHTTPClient(c.httpClient()), mailchimp.WithTimeout(c.timeout())}
	if in.MailchimpBaseURL != "" {
		opts = append(opts, mailchimp.WithBaseURL(in.MailchimpBaseURL))
	}
	cl, err := mailchimp.New(in.Secrets.MailchimpAPIKey, opts...)
	if err != nil {
		return nil, sync.Permanentf("instance %s: Mailchimp connection: %v", in.ID, err)
	}
	if c.mailchimps == nil {
		c.mailchimps = map[string]*mailchimp.Client{}
	}
	c.mailchimps[k] = cl
	return cl, nil
}

// Accessplanit returns the accessplanit client for the instance.
func (c *Connector) Accessplanit(in sync.Instance) (sync.Accessplanit, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey(in)
	if cl, ok := c.accessplanit[k]; ok {
		return cl, nil
	}
	cl, err := accessplanit.New(in.AccessplanitBaseURL, in.Secrets.AccessplanitAPIKey, accessplanit.WithHTTPClient(c.httpClient()), accessplanit.WithTimeout(c.timeout()))
	if err != nil {
		return nil, sync.Permanentf("instance %s: accessplanit connection: %v", in.ID, err)
	}
	if c.accessplanit == nil {
		c.accessplanit = map[string]*accessplanit.Client{}
	}
	c.accessplanit[k] = cl
	return cl, nil
}
