package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// TestCacheSeesANewInstanceAfterAMiss checks, against the real store, that
// an instance created after a delivery found it unknown is accepted once
// the remembered miss expires, and not before.
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
	now = now.Add(2 * time.Second) // a remembered miss is not read again before MissTTL
	checkAnswer(t, ep.send(t, http.MethodGet, "/webhooks/mailchimp/late/"+in.Secrets.MailchimpToken, "", nil, nil), http.StatusNotFound, "no such webhook")
	now = now.Add(ingest.DefaultMissTTL) // past it, the new instance is read and accepted
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

// fakeAuths is an in-memory apmc.WebhookAuths that counts the reads of
// each instance id: the domain port the cache wraps, not an AWS API.
type fakeAuths struct {
	mu    sync.Mutex
	known map[string]apmc.WebhookAuth
	reads map[string]int
}

func (f *fakeAuths) WebhookAuth(_ context.Context, id string, _ apmc.Side) (apmc.WebhookAuth, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads[id]++
	auth, ok := f.known[id]
	if !ok {
		return apmc.WebhookAuth{}, fmt.Errorf("instance %s: %w", id, apmc.ErrNotFound)
	}
	return auth, nil
}

func (f *fakeAuths) set(id, token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.known[id] = apmc.WebhookAuth{Tokens: []apmc.TokenDigest{{Digest: apmc.DigestToken(token)}}}
}

func (f *fakeAuths) readsOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads[id]
}

// TestCacheMissesHonourMissTTL checks, with a clock, that a remembered
// unknown instance is not read again before MissTTL ends however often
// and however slowly it is asked for (a newly created instance is
// accepted once it does), while a known instance whose cached tokens
// refuse one is read again at most once a second, so a rotation is seen.
func TestCacheMissesHonourMissTTL(t *testing.T) {
	const missTTL = 30 * time.Second
	tests := []struct {
		name string
		// known says the instance exists (with the token "current") from
		// the start.
		known bool
		// create, if set, creates the instance with this token after the
		// first request.
		create string
		// token is sent in every request.
		token string
		// rotate, if set, replaces the known instance's token with this
		// one after the first request.
		rotate string
		every  time.Duration
		count  int
		// wantReads is the reads of the instance's id that reach the store.
		wantReads int
		// wantLast is the status of the last request.
		wantLast int
	}{
		{name: "unknown id, asked 100 times a second", token: "t", every: 10 * time.Millisecond, count: 100, wantReads: 1, wantLast: http.StatusNotFound},
		{name: "unknown id, asked every 2 s within MissTTL", token: "t", every: 2 * time.Second, count: 15, wantReads: 1, wantLast: http.StatusNotFound},
		{name: "unknown id, asked every 2 s for a minute", token: "t", every: 2 * time.Second, count: 31, wantReads: 3, wantLast: http.StatusNotFound},
		{name: "created after a miss, within MissTTL", create: "new-token", token: "new-token", every: time.Second, count: 29, wantReads: 1, wantLast: http.StatusNotFound},
		{name: "created after a miss, after MissTTL", create: "new-token", token: "new-token", every: time.Second, count: 31, wantReads: 2, wantLast: http.StatusOK},
		{name: "known id, wrong token every 100 ms", known: true, token: "wrong", every: 100 * time.Millisecond, count: 51, wantReads: 6, wantLast: http.StatusNotFound},
		{name: "known id, rotated token seen after a second", known: true, rotate: "rotated", token: "rotated", every: 2 * time.Second, count: 2, wantReads: 2, wantLast: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeAuths{known: map[string]apmc.WebhookAuth{}, reads: map[string]int{}}
			const id = "inst-1"
			if tt.known {
				store.set(id, "current")
			}
			now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			cache := &ingest.Cache{Next: store, TTL: time.Hour, MissTTL: missTTL, Now: clock}
			h := ingest.NewMailchimp(ingest.Deps{Webhooks: cache, Now: clock})
			status := 0
			for i := range tt.count {
				if i > 0 {
					now = now.Add(tt.every)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/mailchimp/"+id+"/"+tt.token, nil))
				status = rec.Code
				if i == 0 && tt.create != "" {
					store.set(id, tt.create)
				}
				if i == 0 && tt.rotate != "" {
					store.set(id, tt.rotate)
				}
			}
			if got := store.readsOf(id); got != tt.wantReads {
				t.Errorf("%d requests %v apart read the store %d times, want %d", tt.count, tt.every, got, tt.wantReads)
			}
			if status != tt.wantLast {
				t.Errorf("last request: status %d, want %d", status, tt.wantLast)
			}
		})
	}
}

// TestCacheSprayOfMadeUpIDs checks that made-up ids sent over and over
// cost one read each per MissTTL, not one a second.
func TestCacheSprayOfMadeUpIDs(t *testing.T) {
	store := &fakeAuths{known: map[string]apmc.WebhookAuth{}, reads: map[string]int{}}
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cache := &ingest.Cache{Next: store, TTL: time.Hour, MissTTL: 30 * time.Second, Now: clock}
	h := ingest.NewMailchimp(ingest.Deps{Webhooks: cache, Now: clock})
	const ids = 20
	for second := range 25 {
		now = now.Add(time.Second)
		for i := range ids {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/webhooks/mailchimp/made-up-%d/token", i), nil))
			if rec.Code != http.StatusNotFound {
				t.Fatalf("second %d, id %d: status %d, want 404", second, i, rec.Code)
			}
		}
	}
	total := 0
	for i := range ids {
		total += store.readsOf(fmt.Sprintf("made-up-%d", i))
	}
	if total != ids {
		t.Errorf("%d made-up ids, each sent every second for 25 s, read the store %d times, want %d", ids, total, ids)
	}
}
