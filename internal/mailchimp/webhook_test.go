package mailchimp

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/google/go-cmp/cmp"
)

var received = time.Date(2009, 3, 26, 21, 40, 0, 0, time.UTC)

func readForm(t *testing.T, name string) url.Values {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	form, err := url.ParseQuery(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return form
}

func TestParseWebhookSamples(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	base := apmc.Change{InstanceID: "inst-1", Source: apmc.SideMailchimp, ReceivedAt: received}
	with := func(f func(*apmc.Change)) apmc.Change { c := base; f(&c); return c }
	tests := []struct {
		file string
		want apmc.Change
	}{
		{"subscribe.form", with(func(c *apmc.Change) {
			c.Event = apmc.EventSubscribe
			c.OccurredAt = at("2009-03-26 21:35:57")
			c.Email = "api+test@mailchimp.com"
			c.Merges = apmc.Values{"EMAIL": "api+test@mailchimp.com", "FNAME": "Zoë", "LNAME": "Łukasiewicz", "INTERESTS": "Group1,Group2"}
		})},
		{"profile.form", with(func(c *apmc.Change) {
			c.Event = apmc.EventProfile
			c.OccurredAt = at("2009-03-26 21:31:21")
			c.Email = "api@mailchimp.com"
			c.Merges = apmc.Values{"EMAIL": "api@mailchimp.com", "FNAME": "José", "LNAME": "Núñez", "INTERESTS": "Group1",
				"ADDRESS": "1 Rue de l'Église  Montréal  QC  H2X 1Y4  CA"}
		})},
		{"unsubscribe.form", with(func(c *apmc.Change) {
			c.Event = apmc.EventUnsubscribe
			c.OccurredAt = at("2009-03-26 21:40:57")
			c.Email = "api+unsub@mailchimp.com"
			c.Action = "unsub"
			c.Reason = "manual"
			c.Merges = apmc.Values{"EMAIL": "api+unsub@mailchimp.com", "FNAME": "Mailchimp", "LNAME": "API",
				"ADDRESS": "675 Ponce de Leon Ave NE  Suite 5000  Atlanta  GA  30308  US"}
		})},
		{"upemail.form", with(func(c *apmc.Change) {
			c.Event = apmc.EventUpEmail
			c.OccurredAt = at("2009-03-26 22:15:09")
			c.Email = "new.address+news@example.com"
			c.NewEmail = "new.address+news@example.com"
			c.OldEmail = "old.address@example.com"
		})},
		{"cleaned.form", with(func(c *apmc.Change) {
			c.Event = apmc.EventCleaned
			c.OccurredAt = at("2009-03-26 22:01:00")
			c.Email = "api+cleaned@mailchimp.com"
			c.Reason = "hard"
		})},
		{"campaign.form", with(func(c *apmc.Change) {
			c.Event = apmc.EventCampaign
			c.OccurredAt = at("2009-03-26 21:31:21")
		})},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseWebhook(readForm(t, tt.file), "inst-1", received)
			if err != nil {
				t.Fatalf("ParseWebhook(%s) error = %v, want nil", tt.file, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseWebhook(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestParseWebhookDetails(t *testing.T) {
	tests := []struct {
		name string
		body string
		want apmc.Values
	}{
		{"first value wins", "type=profile&fired_at=2020-01-01+00:00:00&data[email]=a@b.co&data[merges][FNAME]=First&data[merges][FNAME]=Second",
			apmc.Values{"EMAIL": "a@b.co", "FNAME": "First"}},
		{"string address wins over nested", "type=profile&fired_at=2020-01-01+00:00:00&data[email]=a@b.co&data[merges][ADDRESS]=1+Main&data[merges][ADDRESS][city]=X",
			apmc.Values{"EMAIL": "a@b.co", "ADDRESS": "1 Main"}},
		{"groupings skipped", "type=profile&fired_at=2020-01-01+00:00:00&data[email]=a@b.co&data[merges][GROUPINGS][0][id]=1&data[merges][GROUPINGS][0][groups]=A",
			apmc.Values{"EMAIL": "a@b.co"}},
		{"email merge lower-cased from data[email]", "type=subscribe&fired_at=2020-01-01+00:00:00&data[email]=A%2BB@B.CO&data[merges][EMAIL]=A%2BB@B.CO",
			apmc.Values{"EMAIL": "a+b@b.co"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, err := url.ParseQuery(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseWebhook(form, "i", received)
			if err != nil {
				t.Fatalf("ParseWebhook(%q) error = %v, want nil", tt.body, err)
			}
			if diff := cmp.Diff(tt.want, got.Merges); diff != "" {
				t.Errorf("ParseWebhook(%q).Merges mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestParseWebhookMalformed(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
	}{
		{"no type", url.Values{"fired_at": {"2020-01-01 00:00:00"}, "data[email]": {"a@b.co"}}},
		{"unknown type", url.Values{"type": {"bounce"}, "fired_at": {"2020-01-01 00:00:00"}, "data[email]": {"a@b.co"}}},
		{"no fired_at", url.Values{"type": {"profile"}, "data[email]": {"a@b.co"}}},
		{"bad fired_at", url.Values{"type": {"profile"}, "fired_at": {"2020-01-01T00:00:00Z"}, "data[email]": {"a@b.co"}}},
		{"profile without email", url.Values{"type": {"profile"}, "fired_at": {"2020-01-01 00:00:00"}, "data[id]": {"x"}}},
		{"subscribe with a non-email", url.Values{"type": {"subscribe"}, "fired_at": {"2020-01-01 00:00:00"}, "data[email]": {"not an email"}}},
		{"cleaned without email", url.Values{"type": {"cleaned"}, "fired_at": {"2020-01-01 00:00:00"}}},
		{"upemail without new_email", url.Values{"type": {"upemail"}, "fired_at": {"2020-01-01 00:00:00"}, "data[old_email]": {"a@b.co"}}},
		{"upemail without old_email", url.Values{"type": {"upemail"}, "fired_at": {"2020-01-01 00:00:00"}, "data[new_email]": {"a@b.co"}}},
		{"campaign without id", url.Values{"type": {"campaign"}, "fired_at": {"2020-01-01 00:00:00"}}},
		{"invalid UTF-8 value", url.Values{"type": {"profile"}, "fired_at": {"2020-01-01 00:00:00"}, "data[email]": {"a@b.co"}, "data[merges][FNAME]": {"\xff"}}},
		{"invalid UTF-8 key", url.Values{"type": {"profile"}, "fired_at": {"2020-01-01 00:00:00"}, "data[email]": {"a@b.co"}, "data[merges][\xfe]": {"x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWebhook(tt.form, "i", received)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseWebhook(%v) = %+v, %v; want an error wrapping ErrMalformed", tt.form, got, err)
			}
		})
	}
}
