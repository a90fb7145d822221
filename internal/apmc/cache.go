package apmc

import (
	"context"
	"sync"
	"time"
)

// CachedInstances keeps instances read from Next for TTL, so a warm function
// reads (and opens the secrets of) an instance at most once per TTL.
type CachedInstances struct {
	Next Instances
	TTL  time.Duration
	Now  func() time.Time

	mu      sync.Mutex
	entries map[string]cachedInstance
}

type cachedInstance struct {
	in      Instance
	expires time.Time
}

// Instance returns the cached instance or reads it. Errors, not-found
// answers included, are not cached: ids that do not exist must not fill the
// cache (anyone can send them to a webhook endpoint).
func (c *CachedInstances) Instance(ctx context.Context, id string) (Instance, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now().Before(e.expires) {
		return e.in, nil
	}
	in, err := c.Next.Instance(ctx, id)
	if err != nil {
		return Instance{}, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]cachedInstance{}
	}
	c.entries[id] = cachedInstance{in: in, expires: now().Add(c.TTL)}
	c.mu.Unlock()
	return in, nil
}

// Forget drops an instance from the cache (after the local stack changed it).
func (c *CachedInstances) Forget(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}

// Fresh reads the instance from Next, bypassing and refreshing the cache. The
// engine uses it before holding a change, so a resume is seen at once.
func (c *CachedInstances) Fresh(ctx context.Context, id string) (Instance, error) {
	c.Forget(id)
	return c.Instance(ctx, id)
}
