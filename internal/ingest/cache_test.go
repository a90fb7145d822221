package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ingest"
)

// countingAuths counts the reads that reach the store.
type countingAuths struct {
	next  apmc.WebhookAuths
	reads atomic.Int64
}

func (c *countingAuths) WebhookAuth(ctx context.Context, id string, side apmc.Side) (apmc.WebhookAuth, error) {
	c.reads.Add(1)
	return c.next.WebhookAuth(ctx, id, side)
}

func TestCacheRemembersUnknownInstances(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	store := &countingAuths{next: e.instances}
	cache := &ingest.Cache{Next: store, TTL: time.Minute, MissTTL: 10 * time.Second, MaxEntries: 5, Now: func() time.Time { return now }}
	ep := e.start(t, func(d *ingest.Deps, _ *string) { d.Webhooks = cache; d.Now = func() time.Time { return now } })

	for range 20 {
		checkAnswer(t, ep.send(t, http.MethodGet, "/webhooks/mailchimp/nobody/wrong", "", nil, nil), http.StatusNotFound, "no such webhook")
	}
	if got := store.reads.Load(); got != 1 {
		t.Errorf("20 requests for one unknown instance read the store %d times, want 1", got)
	}
	now = now.Add(11 * time.Second) // past MissTTL
	checkAnswer(t, ep.send(t, http.MethodGet, "/webhooks/mailchimp/nobody/wrong", "", nil, nil), http.StatusNotFound, "no such webhook")
	if got := store.reads.Load(); got != 2 {
		t.Errorf("after MissTTL the store was read %d times in all, want 2", got)
	}

	for i := range 50 {
		checkAnswer(t, ep.send(t, http.MethodGet, fmt.Sprintf("/webhooks/mailchimp/made-up-%d/wrong", i), "", nil, nil), http.StatusNotFound, "no such webhook")
	}
	if n := cache.Len(); n > 5 {
		t.Errorf("after 50 made-up ids the cache holds %d entries, want at most MaxEntries 5", n)
	}
	checkAnswer(t, ep.send(t, http.MethodGet, ep.mcPath(plainID), "", nil, nil), http.StatusOK, "")
}

func TestCacheSeesANewInstanceAfterAMiss(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	cache := &ingest.Cache{Next: e.instances, TTL: time.Minute, Now: func() time.Time { return now }}
	ep := e.start(t, func(d *ingest.Deps, _ *string) { d.Webhooks = cache; d.Now = func() time.Time { return now } })
	in := validInstance("late")
	checkAnswer(t, ep.send(t, http.MethodGet, "/webhooks/mailchimp/late/"+in.Secrets.MailchimpToken, "", nil, nil), http.StatusNotFound, "no such webhook")
	if err := e.instances.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Second) // a remembered miss is checked again after a second
	checkAnswer(t, ep.send(t, http.MethodGet, "/webhooks/mailchimp/late/"+in.Secrets.MailchimpToken, "", nil, nil), http.StatusOK, "")
}

// TestRotatedTokens checks, with a clock, that after a rotation the new
// token works at once (even with the old credentials cached) and the old
// one until the grace period ends, then not.
func TestRotatedTokens(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	now := start
	cache := &ingest.Cache{Next: e.instances, TTL: time.Hour, Now: func() time.Time { return now }}
	ep := e.start(t, func(d *ingest.Deps, _ *string) { d.Webhooks = cache; d.Now = func() time.Time { return now } })
	old := e.byID[plainID].Secrets
	body := wholeUser("Grace")
	post := func(token string, body string) int {
		return ep.send(t, http.MethodPost, "/webhooks/accessplanit/"+plainID+"/"+token, "application/json", strings.NewReader(body), nil).status
	}
	if got := post(old.AccessplanitToken, body); got != http.StatusAccepted {
		t.Fatalf("before rotation: %d, want 202", got)
	}
	if _, err := e.instances.RotateWebhookTokens(context.Background(), plainID, "ap-rotated", "mc-rotated", time.Hour); err != nil {
		t.Fatal(err)
	}
	now = start.Add(2 * time.Second)
	tests := []struct {
		name  string
		after time.Duration
		token string
		want  int
	}{
		{"new token at once", 2 * time.Second, "ap-rotated", http.StatusAccepted},
		{"old token in the grace period", 30 * time.Minute, old.AccessplanitToken, http.StatusAccepted},
		{"old token after it", 61 * time.Minute, old.AccessplanitToken, http.StatusNotFound},
		{"new token after it", 62 * time.Minute, "ap-rotated", http.StatusAccepted},
	}
	for i, tt := range tests {
		now = start.Add(tt.after)
		if got := post(tt.token, wholeUser(fmt.Sprint("Grace", i))); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
}
