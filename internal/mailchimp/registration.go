package mailchimp

import (
	"context"
	"fmt"
	"net/http"
)

// Webhook is a webhook registered on an audience.
type Webhook struct {
	ID      string         `json:"id,omitempty"`
	URL     string         `json:"url"`
	Events  WebhookEvents  `json:"events"`
	Sources WebhookSources `json:"sources"`
	// SigningSecret is returned once, by the registration; it is a secret
	// and is never shown by String.
	SigningSecret string `json:"signing_secret,omitempty"`
}

// WebhookEvents are the events a webhook is sent for.
type WebhookEvents struct {
	Subscribe   bool `json:"subscribe"`
	Unsubscribe bool `json:"unsubscribe"`
	Profile     bool `json:"profile"`
	Cleaned     bool `json:"cleaned"`
	UpEmail     bool `json:"upemail"`
	Campaign    bool `json:"campaign"`
}

// WebhookSources are whose actions fire a webhook. API must stay true for
// changes made by other apps to sync (the service's own are suppressed as
// echoes).
type WebhookSources struct {
	User  bool `json:"user"`
	Admin bool `json:"admin"`
	API   bool `json:"api"`
}

// String describes the webhook without its signing secret (nor the URL,
// whose path holds a secret token).
func (w Webhook) String() string {
	return fmt.Sprintf("mailchimp.Webhook{ID:%s Events:%+v Sources:%+v}", w.ID, w.Events, w.Sources)
}

// GoString is String, also for %#v.
func (w Webhook) GoString() string { return w.String() }

// CreateWebhook registers w on the audience and returns it with its id and,
// when Mailchimp signs deliveries, the one-time signing secret. Events and
// sources are always sent explicitly.
func (c *Client) CreateWebhook(ctx context.Context, listID string, w Webhook) (Webhook, error) {
	body := struct {
		URL     string         `json:"url"`
		Events  WebhookEvents  `json:"events"`
		Sources WebhookSources `json:"sources"`
	}{w.URL, w.Events, w.Sources}
	var out Webhook
	if err := c.do(ctx, http.MethodPost, webhooksPath(listID), nil, body, &out); err != nil {
		return Webhook{}, fmt.Errorf("create webhook on audience %s: %w", listID, err)
	}
	return out, nil
}

// Webhooks returns the webhooks registered on the audience.
func (c *Client) Webhooks(ctx context.Context, listID string) ([]Webhook, error) {
	var out struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	if err := c.do(ctx, http.MethodGet, webhooksPath(listID), nil, nil, &out); err != nil {
		return nil, fmt.Errorf("list webhooks of audience %s: %w", listID, err)
	}
	return out.Webhooks, nil
}

func webhooksPath(listID string) string { return "/lists/" + pathSegment(listID) + "/webhooks" }
