package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Cache defaults.
const (
	// DefaultMissTTL is how long an unknown instance id is remembered.
	DefaultMissTTL = 30 * time.Second
	// DefaultMaxEntries bounds the entries kept, found and unknown alike.
	DefaultMaxEntries = 10_000
	// recheckAfter is how old a known instance's entry must be before a
	// delivery whose token it refuses reads the credentials again (after a
	// rotation), so a stream of wrong tokens costs at most one read per
	// instance a second. An unknown instance is not read again before
	// MissTTL: a newly created one is accepted within MissTTL.
	recheckAfter = time.Second
)

// Cache keeps webhook credentials read from Next, so a warm function reads
// an instance's at most once per TTL. Unknown instances are remembered too
// (for MissTTL, and not read again before it ends, so an instance created
// meanwhile is accepted once it does), so unauthenticated requests for
// made-up ids cost one read per id per MissTTL; at most MaxEntries are
// kept, whatever ids are sent.
type Cache struct {
	Next       apmc.WebhookAuths
	TTL        time.Duration
	MissTTL    time.Duration // default DefaultMissTTL
	MaxEntries int           // default DefaultMaxEntries
	Now        func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
}

type cacheKey struct {
	id   string
	side apmc.Side
}

type cacheEntry struct {
	auth    apmc.WebhookAuth
	missing bool // the instance does not exist
	read    time.Time
	expires time.Time
}

var _ apmc.WebhookAuths = (*Cache)(nil)

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// WebhookAuth returns the cached credentials or reads them. Only "not
// found" is remembered of the errors; any other is returned and forgotten.
func (c *Cache) WebhookAuth(ctx context.Context, id string, side apmc.Side) (apmc.WebhookAuth, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[cacheKey{id, side}]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.answer(id)
	}
	return c.read(ctx, id, side, now)
}

// recheck reads a known instance's credentials again when the cached ones
// refused a token and are older than recheckAfter; otherwise it returns
// them. A remembered unknown instance is answered from the cache until
// MissTTL ends, so made-up ids cannot buy a read a second each.
func (c *Cache) recheck(ctx context.Context, id string, side apmc.Side) (apmc.WebhookAuth, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[cacheKey{id, side}]
	c.mu.Unlock()
	if ok && now.Before(e.expires) && (e.missing || now.Sub(e.read) < recheckAfter) {
		return e.answer(id)
	}
	return c.read(ctx, id, side, now)
}

func (e cacheEntry) answer(id string) (apmc.WebhookAuth, error) {
	if e.missing {
		return apmc.WebhookAuth{}, notFound(id)
	}
	return e.auth, nil
}

// notFound is a remembered "not found"; it names the id's length, not the
// id, which anyone can choose.
func notFound(id string) error {
	return fmt.Errorf("instance id of %d bytes (remembered): %w", len(id), apmc.ErrNotFound)
}

func (c *Cache) read(ctx context.Context, id string, side apmc.Side, now time.Time) (apmc.WebhookAuth, error) {
	auth, err := c.Next.WebhookAuth(ctx, id, side)
	missing := errors.Is(err, apmc.ErrNotFound)
	if err != nil && !missing {
		return apmc.WebhookAuth{}, err
	}
	ttl := c.TTL
	if missing {
		ttl = c.MissTTL
		if ttl <= 0 {
			ttl = DefaultMissTTL
		}
	}
	c.store(cacheKey{id, side}, cacheEntry{auth: auth, missing: missing, read: now, expires: now.Add(ttl)}, now)
	return auth, err
}

// store keeps e, making room first: expired entries go, then, if the cache
// is still full, arbitrary ones (Go's map order), so no sequence of ids can
// grow it past MaxEntries.
func (c *Cache) store(k cacheKey, e cacheEntry, now time.Time) {
	limit := c.MaxEntries
	if limit <= 0 {
		limit = DefaultMaxEntries
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[cacheKey]cacheEntry{}
	}
	if _, ok := c.entries[k]; !ok && len(c.entries) >= limit {
		for old, v := range c.entries {
			if !now.Before(v.expires) {
				delete(c.entries, old)
			}
		}
		for old := range c.entries {
			if len(c.entries) < limit {
				break
			}
			delete(c.entries, old)
		}
	}
	c.entries[k] = e
}

// Len returns the number of entries kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
