package mailchimp

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apmc-sync/apmc/internal/apmc"
)

func FuzzParseWebhook(f *testing.F) {
	f.Add("type=profile&fired_at=2009-03-26+21%3A31%3A21&data%5Bid%5D=8a25ff1d98&data%5Bemail%5D=API%40mailchimp.com&data%5Bmerges%5D%5BFNAME%5D=Zo%C3%AB")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		c, err := ParseWebhook(form, "inst", time.Unix(0, 0))
		if err != nil {
			return
		}
		if c.Source != apmc.SideMailchimp || c.OccurredAt.IsZero() {
			t.Errorf("ParseWebhook(%q) = %+v, want source mailchimp and a time", body, c)
		}
		if c.Email != strings.ToLower(c.Email) {
			t.Errorf("ParseWebhook(%q).Email = %q, want it lower-cased", body, c.Email)
		}
		for k, v := range c.Merges {
			if !utf8.ValidString(k) || !utf8.ValidString(v) || v == "" {
				t.Errorf("ParseWebhook(%q).Merges[%q] = %q, want valid, non-empty UTF-8", body, k, v)
			}
		}
		if c.Event != apmc.EventCampaign && c.ContactEmail() == "" {
			t.Errorf("ParseWebhook(%q) has no contact email for %s", body, c.Event)
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("t=1700000000,v1="+knownMAC, []byte("hello"), "secret")
	f.Fuzz(func(t *testing.T, header string, body []byte, secret string) {
		now := time.Unix(1700000000, 0)
		// Arbitrary headers must never panic, and must not verify a
		// different body than the one signed.
		if VerifySignature(header, body, secret, now) == nil && secret == "" {
			t.Errorf("VerifySignature(%q) with no secret = nil, want an error", header)
		}
		if secret == "" {
			return
		}
		signed := Sign(secret, body, now)
		if err := VerifySignature(signed, body, secret, now); err != nil {
			t.Errorf("VerifySignature(Sign(...)) = %v, want nil", err)
		}
		other := append(bytes.Clone(body), 'x')
		if err := VerifySignature(signed, other, secret, now); err == nil {
			t.Errorf("VerifySignature(Sign(body), body+x) = nil, want an error")
		}
	})
}
