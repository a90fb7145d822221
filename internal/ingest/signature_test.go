package ingest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// TestRequiredSignature checks that an instance set to require signatures
// refuses unsigned Mailchimp deliveries even before it holds a signing
// secret, and that one holding a secret refuses them anyway.
func TestRequiredSignature(t *testing.T) {
	e := newEnv(t)
	strict := validInstance("strict")
	strict.RequireSignature = true
	if err := e.instances.Create(context.Background(), strict); err != nil {
		t.Fatal(err)
	}
	e.byID[strict.ID] = strict
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	ep := e.start(t, withNow(now))
	body := "type=profile&fired_at=2026-03-04+10:00:00&data[email]=ada@example.com&data[merges][FNAME]=Ada&data[merges][LNAME]=L"
	signed := http.Header{mailchimp.SignatureHeader: {mailchimp.Sign(e.byID[signedID].Secrets.MailchimpSigningSecret, []byte(body), now)}}
	tests := []struct {
		name       string
		id         string
		header     http.Header
		wantStatus int
		wantError  string
	}{
		{"required, no secret yet, unsigned", "strict", nil, http.StatusUnauthorized, "requires signed deliveries"},
		{"required, no secret yet, signed with another secret", "strict", signed, http.StatusUnauthorized, "requires signed deliveries"},
		{"secret stored, unsigned", signedID, nil, http.StatusUnauthorized, "signature"},
		{"secret stored, signed", signedID, signed, http.StatusOK, ""},
		{"neither, unsigned", plainID, nil, http.StatusOK, ""},
	}
	want := 0
	for _, tt := range tests {
		a := ep.send(t, http.MethodPost, ep.mcPath(tt.id), formType, strings.NewReader(body), tt.header)
		if a.status != tt.wantStatus || !strings.Contains(a.text("error"), tt.wantError) {
			t.Errorf("%s: %d %s, want %d mentioning %q", tt.name, a.status, a.raw, tt.wantStatus, tt.wantError)
		}
		if tt.wantStatus < 300 {
			want++
		}
	}
	if q := ep.drain(t); len(q) != want {
		t.Errorf("%d messages queued, want %d", len(q), want)
	}
}
