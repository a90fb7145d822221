package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestWebhooksRegisterAndCheck(t *testing.T) {
	s := startStack(t)
	s.must(t, s.createArgs("Shop", "--id", "shop")...)

	out, _, err := s.apmc(t, "webhooks", "check", "shop")
	if err == nil || !strings.Contains(out, "none at the instance's URL") {
		t.Errorf("webhooks check before register = %v\n%s; want a failed registration check", err, out)
	}

	out = s.must(t, "webhooks", "register", "shop")
	in, err := s.Instances.Instance(context.Background(), "shop")
	if err != nil {
		t.Fatalf("Instance(shop) error = %v", err)
	}
	if !strings.Contains(out, "Mailchimp webhook registered") || in.Secrets.MailchimpSigningSecret == "" || in.ConfigVersion != 2 {
		t.Errorf("webhooks register = %q; signing secret stored %v, version %d; want registered, stored, version 2", out, in.Secrets.MailchimpSigningSecret != "", in.ConfigVersion)
	}
	if strings.Contains(out, in.Secrets.AccessplanitToken) || strings.Contains(out, in.Secrets.MailchimpToken) {
		t.Errorf("webhooks register without --show-webhook-urls printed a path token:\n%s", out)
	}

	out = s.must(t, "webhooks", "register", "shop", "--show-webhook-urls")
	wantURL := strings.TrimSuffix(s.Info.APIURL, "api/") + "webhooks/accessplanit/shop/" + in.Secrets.AccessplanitToken
	if !strings.Contains(out, "already registered") || !strings.Contains(out, wantURL) {
		t.Errorf("webhooks register --show-webhook-urls = %q, want already registered and the accessplanit URL %s", out, redactPath(wantURL))
	}
	if strings.Contains(out, in.Secrets.MailchimpSigningSecret) || strings.Contains(out, in.Secrets.MailchimpAPIKey) {
		t.Errorf("webhooks register printed a key or the signing secret")
	}

	out = s.must(t, "webhooks", "check", "shop", "--json")
	var checks []check
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatalf("webhooks check --json does not decode: %v\n%s", err, out)
	}
	if len(checks) != 3 {
		t.Fatalf("webhooks check = %d checks, want 3", len(checks))
	}
	for _, c := range checks {
		if !c.OK {
			t.Errorf("check %q failed: %s", c.Name, c.Detail)
		}
	}
	for _, secret := range in.Secrets.Values() {
		if strings.Contains(out, secret) {
			t.Errorf("webhooks check printed a secret")
		}
	}
	n, _, err := s.Executions.Executions(context.Background(), "shop", syncQueryAll())
	if err != nil || len(n) != 0 {
		t.Errorf("executions after webhooks check = %d, %v; want none (the check queues nothing)", len(n), err)
	}
}
