package local

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/connector"
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
	// embedded kumo. A loopback endpoint gets dummy credentials; any other
	// (a shared emulator, or AWS through a proxy) the default AWS credential
	// chain and region. Tables, queues, the KMS key (alias/<Prefix>-local-secrets)
	// and the demo instance found there are reused.
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
	// Workers is how many batches are applied at once (default 4), split
	// between the changes queue's pollers and the bulk queue's as the
	// template splits the sync's concurrency (queue.BulkShare).
	Workers int
	// Parallel is how many message groups of one batch are applied at once
	// (default: the consumer's, 10).
	Parallel int
	// SingleWrites makes the sync write each change on its own rather than
	// group a batch's writes (benchmarks compare the two).
	SingleWrites bool
	// MailchimpMaxConnections caps the Mailchimp requests in flight per API
	// key (default connector.DefaultMaxMailchimpConnections, 10).
	MailchimpMaxConnections int
	// MailchimpCallLimit is how long the simulated Mailchimp may keep
	// running a call the client gave up on (a timed-out request holds its
	// budget slot until then); 0 means real Mailchimp's 120 s.
	MailchimpCallLimit time.Duration
	// BurstWindowCache is how long the ingest functions keep an instance's
	// burst window (apmc.BurstWindow); the sync takes a window as settled
	// twice that after it opened (one store, strongly consistent reads).
	// Locally 250 ms, so a burst's writes stop being announced within a
	// second, as in a long burst on AWS.
	BurstWindowCache time.Duration
	// AWSHTTPClient, when set, carries every DynamoDB, SQS and KMS request
	// (benchmarks count requests with it).
	AWSHTTPClient *http.Client
	// RetryBase is the first retry delay (default 1 s); later ones double.
	RetryBase time.Duration
	// VisibilityTimeout of the changes queue (default 30 s).
	VisibilityTimeout time.Duration
	// HealthPolicy tunes the sync function's health decisions (zero: the
	// deployed default); tests shorten the quiet period before a recovery.
	HealthPolicy apmc.HealthPolicy
	// InstanceCacheTTL is how long functions keep an instance (default 2 s).
	InstanceCacheTTL time.Duration
	// APITimeout bounds each call to the Mailchimp and accessplanit APIs
	// (default connector.DefaultTimeout, as in the sync function); tests
	// shorten it to provoke timeouts.
	APITimeout time.Duration

	// ReconcileInterval, when positive, reconciles every instance at that
	// interval, as the deployed schedule does; 0 never does (Stack.Reconcile
	// runs one on demand).
	ReconcileInterval time.Duration

	Logger *slog.Logger
	// Metrics receives the sync function's embedded-metric-format records
	// (default: discarded, as no CloudWatch reads them here).
	Metrics io.Writer
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
	if c.BurstWindowCache <= 0 {
		c.BurstWindowCache = 250 * time.Millisecond
	}
	if c.APITimeout <= 0 {
		c.APITimeout = connector.DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = io.Discard
	}
}

// awsConfig returns the AWS configuration for endpoint: fixed dummy
// credentials for a server on this machine, the default credential chain
// and region for any other.
func (c *Config) awsConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	cfg := awsconfig.Local()
	if !isLoopback(endpoint) {
		var err error
		if cfg, err = awsconfig.Load(ctx); err != nil {
			return aws.Config{}, err
		}
	}
	if c.AWSHTTPClient != nil {
		cfg.HTTPClient = c.AWSHTTPClient
	}
	return cfg, nil
}

// isLoopback reports whether an endpoint URL names this machine.
func isLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// atEndpoint moves a queue URL onto the endpoint's scheme and host, keeping
// its path: emulators answer queue URLs under a placeholder host (kumo's is
// not where it listens), and the state file should name a URL that works.
func atEndpoint(queueURL, endpoint string) string {
	q, err := url.Parse(queueURL)
	if err != nil || queueURL == "" {
		return queueURL
	}
	e, err := url.Parse(endpoint)
	if err != nil || e.Host == "" {
		return queueURL
	}
	q.Scheme, q.Host = e.Scheme, e.Host
	return q.String()
}
