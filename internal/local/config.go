package local

import (
	"log/slog"
	"net/http"
	"time"
)

// Config configures the local stack. The zero value runs everything
// embedded on random loopback ports.
type Config struct {
	// Addr is where the webhooks and the API listen (default 127.0.0.1:0).
	Addr string
	// MailchimpSandboxAddr and AccessplanitSandboxAddr are where the
	// simulators listen (default 127.0.0.1:0).
	MailchimpSandboxAddr    string
	AccessplanitSandboxAddr string
	// PublicURL is the base URL the systems reach the stack at (default
	// http://<Addr>); webhooks are registered under it.
	PublicURL string
	// StateFile, when set, receives the stack's facts as JSON (mode 0600).
	StateFile string

	// AWSEndpoint, when set, is used for DynamoDB, SQS and KMS instead of the
	// embedded kumo.
	AWSEndpoint string
	// Prefix names the tables and queues (default "apmc").
	Prefix string

	// Real Mailchimp: when MailchimpAPIKey is set, the demo instance uses it
	// and the audience MailchimpListID instead of the simulator.
	MailchimpAPIKey string
	MailchimpListID string
	// Real accessplanit: when AccessplanitBaseURL is set, the demo instance
	// uses it instead of the simulator.
	AccessplanitBaseURL   string
	AccessplanitAPIKey    string
	AccessplanitCompanyID string

	// APIToken is the operator token; generated when empty.
	APIToken string
	// Workers is how many batches are applied at once (default 4).
	Workers int
	// Parallel is how many message groups of one batch are applied at once
	// (default: the consumer's, 10).
	Parallel int
	// MailchimpMaxConnections caps the Mailchimp requests in flight per API
	// key (default connector.DefaultMaxMailchimpConnections, 10).
	MailchimpMaxConnections int
	// AWSHTTPClient, when set, carries every DynamoDB, SQS and KMS request
	// (benchmarks count requests with it).
	AWSHTTPClient *http.Client
	// RetryBase is the first retry delay (default 1 s); later ones double.
	RetryBase time.Duration
	// VisibilityTimeout of the changes queue (default 30 s).
	VisibilityTimeout time.Duration
	// InstanceCacheTTL is how long functions keep an instance (default 2 s).
	InstanceCacheTTL time.Duration
	// APITimeout bounds each call to the Mailchimp and accessplanit APIs
	// (default 15 s); tests shorten it to provoke timeouts.
	APITimeout time.Duration

	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.MailchimpSandboxAddr == "" {
		c.MailchimpSandboxAddr = "127.0.0.1:0"
	}
	if c.AccessplanitSandboxAddr == "" {
		c.AccessplanitSandboxAddr = "127.0.0.1:0"
	}
	if c.Prefix == "" {
		c.Prefix = "apmc"
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.RetryBase <= 0 {
		c.RetryBase = time.Second
	}
	if c.VisibilityTimeout <= 0 {
		c.VisibilityTimeout = 30 * time.Second
	}
	if c.InstanceCacheTTL <= 0 {
		c.InstanceCacheTTL = 2 * time.Second
	}
	if c.APITimeout <= 0 {
		c.APITimeout = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}
