package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// runWebhooks dispatches `apmc webhooks …`.
func runWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "webhooks", map[string]subcommand{
		"register": webhooksRegister,
		"check":    webhooksCheck,
		"rotate":   webhooksRotate,
	}, args, stdout, stderr)
}

// allEvents and allSources are what the Mailchimp webhook is registered
// for: every event, and every source, the API's included, so changes other
// apps make still sync (the service's own are recognised as echoes).
var (
	allEvents  = mailchimp.WebhookEvents{Subscribe: true, Unsubscribe: true, Profile: true, Cleaned: true, UpEmail: true, Campaign: true}
	allSources = mailchimp.WebhookSources{User: true, Admin: true, API: true}
)

// webhookURLs are an instance's two endpoints; they hold its path tokens.
type webhookURLs struct{ mailchimp, accessplanit string }

// withURLs reads the instance, secrets opened, and its webhook URLs.
func withURLs(ctx context.Context, t *target, id string) (apmc.Instance, webhookURLs, error) {
	if t.WebhookBaseURL == "" {
		return apmc.Instance{}, webhookURLs{}, errNoWebhookBase
	}
	in, err := t.Instances.Instance(ctx, id)
	if err != nil {
		return apmc.Instance{}, webhookURLs{}, fmt.Errorf("read instance %s: %w", id, err)
	}
	if in.Secrets.MailchimpToken == "" || in.Secrets.AccessplanitToken == "" {
		return apmc.Instance{}, webhookURLs{}, fmt.Errorf("instance %s has no webhook tokens", in.ID)
	}
	return in, webhookURLs{
		mailchimp:    fmt.Sprintf("%s/webhooks/mailchimp/%s/%s", t.WebhookBaseURL, in.ID, in.Secrets.MailchimpToken),
		accessplanit: fmt.Sprintf("%s/webhooks/accessplanit/%s/%s", t.WebhookBaseURL, in.ID, in.Secrets.AccessplanitToken),
	}, nil
}

// errNoWebhookBase says how to give the CLI the deployment's webhook base URL.
var errNoWebhookBase = errors.New("the webhook base URL is unknown: pass -webhook-base-url (stack output ApiUrl) or set APMC_WEBHOOK_BASE_URL")

func webhooksRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("webhooks register", stderr)
	show := c.fs.Bool("show-webhook-urls", false, "print the webhook URLs in full, path tokens included, to paste into accessplanit")
	t, pos, err := c.open(ctx, args, "ID")
	if err != nil {
		return err
	}
	in, urls, err := withURLs(ctx, t, pos[0])
	if err != nil {
		return err
	}
	mc, err := connectMailchimp(ctx, t.HTTP, in.Secrets.MailchimpAPIKey, in.MailchimpBaseURL)
	if err != nil {
		return err
	}
	hooks, err := mc.Webhooks(ctx, in.MailchimpListID)
	if err != nil {
		return scrubbed(err, in)
	}
	existing := ""
	for _, h := range hooks {
		if h.URL == urls.mailchimp {
			existing = h.ID
		}
	}
	if existing != "" {
		fmt.Fprintf(stdout, "Mailchimp webhook already registered on audience %s (webhook %s)\n", in.MailchimpListID, existing)
	} else if err := registerMailchimp(ctx, t, mc, in, urls, stdout); err != nil {
		return err
	}
	printURLs(stdout, urls, *show)
	return nil
}

// registerMailchimp registers the instance's Mailchimp webhook at
// urls.mailchimp and stores the signing secret Mailchimp returns.
func registerMailchimp(ctx context.Context, t *target, mc *mailchimp.Client, in apmc.Instance, urls webhookURLs, stdout io.Writer) error {
	hook, err := mc.CreateWebhook(ctx, in.MailchimpListID, mailchimp.Webhook{URL: urls.mailchimp, Events: allEvents, Sources: allSources})
	if err != nil {
		return scrubbed(fmt.Errorf("register the Mailchimp webhook (Mailchimp first checks that the URL answers a GET): %w", err), in)
	}
	fmt.Fprintf(stdout, "Mailchimp webhook registered on audience %s (webhook %s), all events and sources (api included)\n", in.MailchimpListID, hook.ID)
	if hook.SigningSecret != "" {
		in.Secrets.MailchimpSigningSecret = hook.SigningSecret
		if err := t.Instances.Update(ctx, in); err != nil {
			return fmt.Errorf("store the webhook's signing secret: %w", err)
		}
		fmt.Fprintf(stdout, "signing secret stored (config version %d)\n", in.ConfigVersion+1)
	}
	return nil
}

// printURLs prints both webhook URLs, path tokens redacted unless show.
func printURLs(stdout io.Writer, urls webhookURLs, show bool) {
	shown := func(u string) string {
		if show {
			return u
		}
		return redactPath(u)
	}
	fmt.Fprintf(stdout, "Mailchimp webhook URL:    %s\n", shown(urls.mailchimp))
	fmt.Fprintf(stdout, "accessplanit webhook URL: %s\n", shown(urls.accessplanit))
	if show {
		fmt.Fprintln(stdout, "In accessplanit, add a webhook on the User module (create, update and delete) sending to the accessplanit URL above. Keep it secret: its last part is the instance's token.")
	} else {
		fmt.Fprintln(stdout, "To see the accessplanit URL to paste into the platform, run again with --show-webhook-urls (it prints a secret token).")
	}
}

// DefaultRotationGrace is how long replaced webhook tokens keep working
// after `webhooks rotate`: a day, time to update accessplanit's webhook.
const DefaultRotationGrace = 24 * time.Hour

// webhooksRotate issues new path tokens for both webhooks: the replaced
// ones keep working for --grace, then stop. It registers the Mailchimp
// webhook at its new URL and prints the new accessplanit URL, which the
// operator pastes into accessplanit within the grace period.
func webhooksRotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("webhooks rotate", stderr)
	grace := c.fs.Duration("grace", DefaultRotationGrace, "how long the replaced tokens keep working (0: they stop at once)")
	t, pos, err := c.open(ctx, args, "ID")
	if err != nil {
		return err
	}
	if *grace < 0 {
		return fmt.Errorf("-grace %s: must not be negative", *grace)
	}
	if t.WebhookBaseURL == "" {
		return errNoWebhookBase // before any token is replaced
	}
	apToken, err := newToken()
	if err != nil {
		return err
	}
	mcToken, err := newToken()
	if err != nil {
		return err
	}
	if _, err := t.Instances.RotateWebhookTokens(ctx, pos[0], apToken, mcToken, *grace); err != nil {
		return fmt.Errorf("rotate the webhook tokens of instance %s: %w", pos[0], err)
	}
	fmt.Fprintf(stdout, "new webhook tokens stored for instance %s; the replaced ones work until %s\n", pos[0], time.Now().Add(*grace).UTC().Format(time.RFC3339))
	in, urls, err := withURLs(ctx, t, pos[0])
	if err != nil {
		return err
	}
	mc, err := connectMailchimp(ctx, t.HTTP, in.Secrets.MailchimpAPIKey, in.MailchimpBaseURL)
	if err != nil {
		return err
	}
	if err := registerMailchimp(ctx, t, mc, in, urls, stdout); err != nil {
		return fmt.Errorf("%w (the new tokens are stored and the old ones keep working for the grace period: run apmc webhooks register %s to retry)", err, in.ID)
	}
	fmt.Fprintln(stdout, "The Mailchimp webhook at the old URL stays registered: delete it in Mailchimp (Audience → Settings → Webhooks); it is refused once the grace period ends.")
	fmt.Fprintf(stdout, "Mailchimp webhook URL:    %s\n", redactPath(urls.mailchimp))
	fmt.Fprintf(stdout, "accessplanit webhook URL: %s\n", urls.accessplanit)
	fmt.Fprintln(stdout, "In accessplanit, point the User module's webhooks (create, update and delete) at the new accessplanit URL above before the grace period ends. Keep it secret: its last part is the instance's token.")
	return nil
}

// check is one verification and its outcome.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func webhooksCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("webhooks check", stderr)
	t, pos, err := c.open(ctx, args, "ID")
	if err != nil {
		return err
	}
	in, urls, err := withURLs(ctx, t, pos[0])
	if err != nil {
		return err
	}
	checks := []check{
		registeredCheck(ctx, t, in, urls),
		endpointCheck(ctx, t, in, "Mailchimp endpoint answers", http.MethodGet, urls.mailchimp, http.StatusOK, ""),
		endpointCheck(ctx, t, in, "accessplanit endpoint answers", http.MethodPost, urls.accessplanit, http.StatusBadRequest, "malformed"),
	}
	failed := 0
	for _, c := range checks {
		if !c.OK {
			failed++
		}
	}
	if *c.jsonOut {
		if err := printJSON(stdout, checks); err != nil {
			return err
		}
	} else {
		tb := newTable(stdout, "CHECK", "RESULT", "DETAIL")
		for _, c := range checks {
			tb.row(c.Name, map[bool]string{true: "ok", false: "FAILED"}[c.OK], c.Detail)
		}
		if err := tb.flush(); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d webhook checks failed for instance %s", failed, len(checks), in.ID)
	}
	return nil
}

// registeredCheck verifies Mailchimp has the webhook at the instance's URL,
// for every event and source.
func registeredCheck(ctx context.Context, t *target, in apmc.Instance, urls webhookURLs) check {
	c := check{Name: "Mailchimp webhook registered"}
	mc, err := connectMailchimp(ctx, t.HTTP, in.Secrets.MailchimpAPIKey, in.MailchimpBaseURL)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	hooks, err := mc.Webhooks(ctx, in.MailchimpListID)
	if err != nil {
		c.Detail = scrubbed(err, in).Error()
		return c
	}
	for _, h := range hooks {
		if h.URL != urls.mailchimp {
			continue
		}
		if h.Events != allEvents || h.Sources != allSources {
			c.Detail = fmt.Sprintf("webhook %s misses events or sources: events %+v, sources %+v; register it again with all on", h.ID, h.Events, h.Sources)
			return c
		}
		c.OK, c.Detail = true, fmt.Sprintf("webhook %s on audience %s, all events and sources", h.ID, in.MailchimpListID)
		return c
	}
	c.Detail = fmt.Sprintf("audience %s has %d webhook(s), none at the instance's URL; run apmc webhooks register %s", in.MailchimpListID, len(hooks), in.ID)
	return c
}

// endpointCheck calls one of the instance's endpoints. The accessplanit one
// is sent an empty JSON object: a 400 "malformed" answer proves instance
// and token are right without queuing anything, where a wrong one is a 404.
func endpointCheck(ctx context.Context, t *target, in apmc.Instance, name, method, url string, want int, wantBody string) check {
	c := check{Name: name}
	var body io.Reader
	if method == http.MethodPost {
		body = bytes.NewReader([]byte("{}"))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		c.Detail = scrubbed(err, in).Error()
		return c
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.HTTP.Do(req)
	if err != nil {
		c.Detail = scrubbed(err, in).Error()
		return c
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	text := apmc.Redact(strings.TrimSpace(string(b)), in.Secrets.Values())
	switch {
	case resp.StatusCode == want && strings.Contains(text, wantBody):
		c.OK, c.Detail = true, fmt.Sprintf("%s %s → %d", method, redactPath(url), resp.StatusCode)
		if want == http.StatusBadRequest {
			c.Detail += " (an empty delivery, refused as expected: the instance and token are right; nothing was queued)"
		}
	case resp.StatusCode == http.StatusNotFound:
		c.Detail = fmt.Sprintf("%s %s → 404: the endpoint does not know this instance and token", method, redactPath(url))
	default:
		c.Detail = fmt.Sprintf("%s %s → %d %s, want %d", method, redactPath(url), resp.StatusCode, shorten(text, 200), want)
	}
	return c
}

// scrubbed removes the instance's secrets from an error's text.
func scrubbed(err error, in apmc.Instance) error {
	return errors.New(apmc.Redact(err.Error(), in.Secrets.Values()))
}
