package connector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// AccountRecorder stores the Mailchimp account an instance's API key belongs
// to, for an instance that has none stored; *dynamo.InstanceStore is one.
type AccountRecorder interface {
	RecordMailchimpAccount(ctx context.Context, instanceID, accountID string) error
}

// accountRetry is how long a failed look-up of an instance's Mailchimp
// account is remembered before the next request tries again.
const accountRetry = time.Minute

// accountLookup is one look-up of an instance's Mailchimp account; done is
// closed once id (or failedAt) is set.
type accountLookup struct {
	done     chan struct{}
	id       string
	failedAt time.Time
}

// account names the budget the instance's Mailchimp requests count against.
// An instance configured before the account was stored (`apmc instance
// configure` reads it) would otherwise count against a budget of its API
// key's own, so two keys of one account would get 10 slots each: with a
// budget, the account is read from the API root (GET /) once per process
// and instance, and recorded on the instance (Accounts) so other functions
// and later processes find it there. Until it is known (the read failed), a
// digest of the key names the budget, and the read is tried again after
// accountRetry.
func (c *Connector) account(in apmc.Instance) string {
	if in.MailchimpAccountID != "" || c.Budget == nil {
		return budgetAccount(in)
	}
	k := in.ID + "|" + budgetAccount(in)
	c.mu.Lock()
	l, ok := c.accounts[k]
	if ok {
		select {
		case <-l.done:
			if l.id == "" && time.Since(l.failedAt) > accountRetry {
				ok = false
			}
		default:
		}
	}
	if !ok {
		l = &accountLookup{done: make(chan struct{})}
		if c.accounts == nil {
			c.accounts = map[string]*accountLookup{}
		}
		c.accounts[k] = l
		hc := c.limitedClient(budgetAccount(in))
		c.mu.Unlock()
		c.learnAccount(in, l, hc)
	} else {
		c.mu.Unlock()
		<-l.done
	}
	if l.id == "" {
		return budgetAccount(in)
	}
	return l.id
}

// learnAccount reads the account of the instance's key and records it, then
// closes l.done.
func (c *Connector) learnAccount(in apmc.Instance, l *accountLookup, hc *http.Client) {
	defer close(l.done)
	ctx, cancel := context.WithTimeout(context.Background(), 2*c.timeout())
	defer cancel()
	id, err := c.readAccount(ctx, in, hc)
	if err != nil {
		l.failedAt = time.Now()
		c.log().Warn("Mailchimp account of the instance unknown: its requests count against a budget of the API key's own until it is read",
			"instance_id", in.ID, "error", err.Error())
		return
	}
	l.id = id
	if c.Accounts == nil {
		return
	}
	if err := c.Accounts.RecordMailchimpAccount(ctx, in.ID, id); err != nil {
		c.log().Warn("Mailchimp account of the instance read but not stored: read again by the next process",
			"instance_id", in.ID, "error", fmt.Errorf("record Mailchimp account: %w", err).Error())
	}
}

// readAccount reads the account the instance's API key belongs to.
func (c *Connector) readAccount(ctx context.Context, in apmc.Instance, hc *http.Client) (string, error) {
	opts := []mailchimp.Option{mailchimp.WithHTTPClient(hc), mailchimp.WithTimeout(c.timeout())}
	if in.MailchimpBaseURL != "" {
		opts = append(opts, mailchimp.WithBaseURL(in.MailchimpBaseURL))
	}
	cl, err := mailchimp.New(in.Secrets.MailchimpAPIKey, opts...)
	if err != nil {
		return "", fmt.Errorf("connect to Mailchimp: %w", err)
	}
	return cl.AccountID(ctx)
}

func (c *Connector) log() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}
