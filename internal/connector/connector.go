package connector

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// DefaultTimeout bounds each call to Mailchimp or accessplanit unless a
// Connector says otherwise. It is 10 s, the value the README documents for
// the sync function (API_TIMEOUT_SECONDS): a change makes up to three API
// calls in a row, and the sync function (30 s by default) does not start one
// with less than half its time left, so its calls and the execution's record
// fit in one invocation. The local stack and the CLI use the same bound.
const DefaultTimeout = 10 * time.Second

// Connector implements apmc.Connector.
type Connector struct {
	// HTTPClient is shared by every client; nil means a client with sensible
	// connection pooling.
	HTTPClient *http.Client
	// Timeout bounds each API call; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxMailchimpConnections is how many Mailchimp requests one API key may
	// have in flight at once from this process; 0 means
	// DefaultMaxMailchimpConnections. Mailchimp counts connections per user
	// and answers 429 beyond 10, so processes sharing a key should split
	// the 10 between them. Further requests wait for a free connection.
	MaxMailchimpConnections int
	// Budget, when set, shares Mailchimp's limit per account between every
	// process: each request also holds one of the account's slots in it.
	// MaxMailchimpConnections then only gates this process's own requests
	// before they ask the budget.
	Budget Budget
	// CallLimit is how long the Mailchimp it talks to may keep running a
	// call the client gave up on (a request that timed out holds its
	// slot of the Budget until then); 0 means MailchimpCallLimit, real
	// Mailchimp's.
	CallLimit time.Duration
	// Accounts, when set, stores the Mailchimp account the connector reads
	// for an instance that has none (see account).
	Accounts AccountRecorder
	// Logger receives the warnings of that read and of the budget; nil
	// discards them.
	Logger *slog.Logger

	mu           sync.Mutex
	mailchimps   map[string]*mailchimp.Client
	accessplanit map[string]*accessplanit.Client
	// mailchimpSlots holds one semaphore per Mailchimp account (see
	// budgetAccount), shared by every instance (and configuration version)
	// using it.
	mailchimpSlots map[string]chan struct{}
	// accounts are the Mailchimp accounts read for instances that have
	// none stored, by instance and key digest.
	accounts map[string]*accountLookup
}

var _ apmc.Connector = (*Connector)(nil)

// cacheKey changes whenever the instance's configuration does.
func cacheKey(in apmc.Instance) string { return fmt.Sprintf("%s@%d", in.ID, in.ConfigVersion) }

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

// limitedClient returns an HTTP client that keeps at most
// MaxMailchimpConnections requests to account in flight, each also holding
// a slot of the account's shared Budget when there is one. c.mu is held.
func (c *Connector) limitedClient(account string) *http.Client {
	slots, ok := c.mailchimpSlots[account]
	if !ok {
		n := c.MaxMailchimpConnections
		if n <= 0 {
			n = DefaultMaxMailchimpConnections
		}
		slots = make(chan struct{}, n)
		if c.mailchimpSlots == nil {
			c.mailchimpSlots = map[string]chan struct{}{}
		}
		c.mailchimpSlots[account] = slots
	}
	hc := *c.httpClient()
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	callLimit := c.CallLimit
	if callLimit <= 0 {
		callLimit = MailchimpCallLimit
	}
	hc.Transport = &limitedTransport{base: base, slots: slots, budget: c.Budget, account: account, callLimit: callLimit, log: c.log()}
	return &hc
}

func (c *Connector) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Mailchimp returns the Mailchimp client for the instance.
func (c *Connector) Mailchimp(in apmc.Instance) (apmc.Mailchimp, error) {
	return c.mailchimpClient(in)
}

// Accessplanit returns the accessplanit client for the instance.
func (c *Connector) Accessplanit(in apmc.Instance) (apmc.Accessplanit, error) {
	return c.accessplanitClient(in)
}

func (c *Connector) mailchimpClient(in apmc.Instance) (*mailchimp.Client, error) {
	account := c.account(in)
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey(in) + "|" + account
	if cl, ok := c.mailchimps[k]; ok {
		return cl, nil
	}
	opts := []mailchimp.Option{mailchimp.WithHTTPClient(c.limitedClient(account)), mailchimp.WithTimeout(c.timeout())}
	if in.MailchimpBaseURL != "" {
		opts = append(opts, mailchimp.WithBaseURL(in.MailchimpBaseURL))
	}
	cl, err := mailchimp.New(in.Secrets.MailchimpAPIKey, opts...)
	if err != nil {
		return nil, apmc.Permanentf("instance %s: Mailchimp connection: %v", in.ID, err)
	}
	if c.mailchimps == nil {
		c.mailchimps = map[string]*mailchimp.Client{}
	}
	c.mailchimps[k] = cl
	return cl, nil
}

func (c *Connector) accessplanitClient(in apmc.Instance) (*accessplanit.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey(in)
	if cl, ok := c.accessplanit[k]; ok {
		return cl, nil
	}
	cl, err := accessplanit.New(in.AccessplanitBaseURL, in.Secrets.AccessplanitAPIKey, accessplanit.WithHTTPClient(c.httpClient()), accessplanit.WithTimeout(c.timeout()))
	if err != nil {
		return nil, apmc.Permanentf("instance %s: accessplanit connection: %v", in.ID, err)
	}
	if c.accessplanit == nil {
		c.accessplanit = map[string]*accessplanit.Client{}
	}
	c.accessplanit[k] = cl
	return cl, nil
}
