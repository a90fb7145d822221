package apmc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// countingInstances counts reads.
type countingInstances struct {
	memInstances
	reads int
}

func (c *countingInstances) Instance(ctx context.Context, id string) (Instance, error) {
	c.reads++
	return c.memInstances.Instance(ctx, id)
}

func TestCachedInstances(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	next := &countingInstances{memInstances: memInstances{"a": {ID: "a", ConfigVersion: 1}}}
	c := &CachedInstances{Next: next, TTL: time.Minute, Now: func() time.Time { return now }}
	ctx := context.Background()

	for range 3 {
		if in, err := c.Instance(ctx, "a"); err != nil || in.ConfigVersion != 1 {
			t.Fatalf("Instance(a) = %+v, %v", in, err)
		}
	}
	if next.reads != 1 {
		t.Errorf("reads within the TTL = %d, want 1", next.reads)
	}
	for range 3 {
		if _, err := c.Instance(ctx, "unknown"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Instance(unknown) error = %v, want ErrNotFound", err)
		}
	}
	if next.reads != 4 || len(c.entries) != 1 {
		t.Errorf("after 3 unknown ids: reads = %d, entries = %d; want 4 reads and nothing cached for the unknown id", next.reads, len(c.entries))
	}
	next.memInstances["a"] = Instance{ID: "a", ConfigVersion: 2}
	now = now.Add(2 * time.Minute)
	if in, _ := c.Instance(ctx, "a"); in.ConfigVersion != 2 {
		t.Errorf("after the TTL: version = %d, want 2", in.ConfigVersion)
	}
	next.memInstances["a"] = Instance{ID: "a", ConfigVersion: 3}
	if in, _ := c.Fresh(ctx, "a"); in.ConfigVersion != 3 {
		t.Errorf("Fresh() version = %d, want 3", in.ConfigVersion)
	}
}
