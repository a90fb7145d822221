package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
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

// TestWebhooksRotate checks that rotation issues new tokens, registers the
// Mailchimp webhook at the new URL, prints the new accessplanit URL, and
// that the old URLs work during the grace period (here none: they stop).
func TestWebhooksRotate(t *testing.T) {
	s := startStack(t)
	s.must(t, s.createArgs("Shop", "--id", "shop")...)
	s.must(t, "webhooks", "register", "shop")
	before, err := s.Instances.Instance(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(s.Info.APIURL, "api/")
	oldAP := base + "webhooks/accessplanit/shop/" + before.Secrets.AccessplanitToken

	if _, _, err := s.apmc(t, "webhooks", "rotate", "shop", "--grace", "-1h"); err == nil {
		t.Errorf("webhooks rotate --grace -1h error = nil, want one")
	}
	time.Sleep(1100 * time.Millisecond) // the endpoints re-read credentials at most once a second
	out := s.must(t, "webhooks", "rotate", "shop", "--grace", "0s")
	after, err := s.Instances.Instance(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if after.Secrets.AccessplanitToken == before.Secrets.AccessplanitToken || after.Secrets.MailchimpToken == before.Secrets.MailchimpToken {
		t.Fatalf("webhooks rotate kept a token")
	}
	newAP := base + "webhooks/accessplanit/shop/" + after.Secrets.AccessplanitToken
	if !strings.Contains(out, "Mailchimp webhook registered") || !strings.Contains(out, newAP) {
		t.Errorf("webhooks rotate = %q, want the Mailchimp webhook registered and the new accessplanit URL", out)
	}
	if after.Secrets.MailchimpSigningSecret == "" || after.Secrets.MailchimpSigningSecret == before.Secrets.MailchimpSigningSecret {
		t.Errorf("webhooks rotate stored no new signing secret")
	}
	if strings.Contains(out, after.Secrets.MailchimpToken) || strings.Contains(out, after.Secrets.MailchimpSigningSecret) {
		t.Errorf("webhooks rotate printed the Mailchimp token or signing secret:\n%s", out)
	}
	post := func(url string) int {
		resp, err := http.Post(url, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("POST %s: %v", redactPath(url), err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	time.Sleep(1100 * time.Millisecond)
	if got := post(newAP); got != http.StatusBadRequest {
		t.Errorf("the new accessplanit URL answers %d, want 400 (known instance and token, empty delivery)", got)
	}
	if got := post(oldAP); got != http.StatusNotFound {
		t.Errorf("the old accessplanit URL after a rotation without grace answers %d, want 404", got)
	}
	out = s.must(t, "webhooks", "check", "shop")
	if strings.Count(out, " ok ") < 3 && strings.Contains(out, "FAILED") {
		t.Errorf("webhooks check after rotation:\n%s", out)
	}
}

func TestConfigureRequireSignature(t *testing.T) {
	s := startStack(t)
	s.must(t, s.createArgs("Shop", "--id", "shop")...)
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"--require-signature"}, true},
		{[]string{"--name", "Shop 2"}, true}, // other settings keep it
		{[]string{"--require-signature=false"}, false},
	} {
		s.must(t, append([]string{"instance", "configure", "shop"}, tt.args...)...)
		in, err := s.Instances.Display(context.Background(), "shop")
		if err != nil {
			t.Fatal(err)
		}
		if in.RequireSignature != tt.want {
			t.Errorf("after configure %v, RequireSignature = %v, want %v", tt.args, in.RequireSignature, tt.want)
		}
		auth, err := s.Instances.WebhookAuth(context.Background(), "shop", "mailchimp")
		if err != nil || auth.RequireSignature != tt.want {
			t.Errorf("after configure %v, WebhookAuth() = %+v, %v; want RequireSignature %v", tt.args, auth.RequireSignature, err, tt.want)
		}
	}
}
