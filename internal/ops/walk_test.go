package ops_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/ops"
)

// pagedStore is the real execution store, recording what each list
// request asked for and got.
type pagedStore struct {
	*dynamo.ExecutionStore
	mu       sync.Mutex
	requests int
	maxLimit int // largest page size asked for
	read     int // executions returned
}

func (p *pagedStore) Executions(ctx context.Context, id string, q apmc.ExecutionQuery) ([]apmc.Execution, string, error) {
	page, next, err := p.ExecutionStore.Executions(ctx, id, q)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	p.maxLimit = max(p.maxLimit, q.Limit)
	p.read += len(page)
	return page, next, err
}

// record stores an execution of a change to email made at at, with the
// given status, linked to original when it is not "".
func (s *stack) record(t *testing.T, email string, at time.Time, status apmc.Status, original string) apmc.Execution {
	t.Helper()
	e := s.hold(t, email, at, true)
	e.Status, e.OriginalID = status, original
	if original != "" {
		e.Origin = apmc.OriginReplay
	}
	if err := s.executions.SaveExecution(context.Background(), e); err != nil {
		t.Fatalf("SaveExecution(%s) error = %v", e.ID, err)
	}
	return e
}

func executionIDs(list []apmc.Execution) []string {
	out := []string{}
	for _, e := range list {
		out = append(out, e.ID)
	}
	return out
}

func TestTimelinePagesAndIsBounded(t *testing.T) {
	s := newStack(t)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var all []string // the contact's executions, oldest first
	for i := range 5 {
		all = append(all, s.record(t, "ada@example.com", base.Add(time.Duration(i)*time.Minute), apmc.StatusSucceeded, "").ID)
	}
	s.record(t, "bob@example.com", base.Add(30*time.Second), apmc.StatusSucceeded, "")

	for _, tc := range []struct {
		name          string
		bounds        ops.Bounds
		want          []string
		truncated     bool
		wantMaxLimit  int
		wantRequests  int // at least
		wantReadAtMax int // executions read from the store, at most
	}{
		{name: "defaults", want: all, wantMaxLimit: apmc.MaxPageSize, wantRequests: 1, wantReadAtMax: 5},
		{name: "two per page", bounds: ops.Bounds{PageSize: 2}, want: all, wantMaxLimit: 2, wantRequests: 3, wantReadAtMax: 5},
		{name: "bound equals the count", bounds: ops.Bounds{PageSize: 2, MaxWalk: 5}, want: all, wantMaxLimit: 2, wantRequests: 3, wantReadAtMax: 5},
		{name: "bound mid-page", bounds: ops.Bounds{PageSize: 2, MaxWalk: 3}, want: all[2:], truncated: true, wantMaxLimit: 2, wantRequests: 2, wantReadAtMax: 4},
		{name: "bound at a page end", bounds: ops.Bounds{PageSize: 2, MaxWalk: 4}, want: all[1:], truncated: true, wantMaxLimit: 2, wantRequests: 3, wantReadAtMax: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &pagedStore{ExecutionStore: s.executions}
			svc := &ops.Service{Instances: s.instances, Executions: store, Queue: s.producer, Bounds: tc.bounds}
			tl, err := svc.Timeline(context.Background(), "inst", "Ada@Example.com")
			if err != nil {
				t.Fatalf("Timeline() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, executionIDs(tl.Executions)); diff != "" {
				t.Errorf("Timeline() executions (-want +got):\n%s", diff)
			}
			if tl.Truncated != tc.truncated {
				t.Errorf("Timeline().Truncated = %v, want %v", tl.Truncated, tc.truncated)
			}
			if store.maxLimit != tc.wantMaxLimit || store.requests < tc.wantRequests || store.read > tc.wantReadAtMax {
				t.Errorf("Timeline() read %d executions in %d requests of up to %d; want at most %d, at least %d requests of up to %d",
					store.read, store.requests, store.maxLimit, tc.wantReadAtMax, tc.wantRequests, tc.wantMaxLimit)
			}
		})
	}
}

func TestRelatedPagesAndIsBounded(t *testing.T) {
	s := newStack(t)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	original := s.record(t, "ada@example.com", base, apmc.StatusFailed, "")
	var replays []string // oldest first
	for i := 1; i <= 3; i++ {
		at := base.Add(time.Duration(i) * time.Minute)
		s.record(t, "ada@example.com", at.Add(-time.Second), apmc.StatusSucceeded, "") // unrelated, in between
		replays = append(replays, s.record(t, "ada@example.com", at, apmc.StatusSucceeded, original.ID).ID)
	}

	for _, tc := range []struct {
		name      string
		bounds    ops.Bounds
		want      []string
		truncated bool
	}{
		{name: "defaults", want: replays},
		{name: "two per page", bounds: ops.Bounds{PageSize: 2}, want: replays},
		// The walk reads oldest first from the original: the original, an
		// unrelated execution, the first replay, then stops.
		{name: "bounded", bounds: ops.Bounds{PageSize: 2, MaxWalk: 3}, want: replays[:1], truncated: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &pagedStore{ExecutionStore: s.executions}
			svc := &ops.Service{Instances: s.instances, Executions: store, Queue: s.producer, Bounds: tc.bounds}
			d, err := svc.Detail(context.Background(), "inst", original.ID, false)
			if err != nil {
				t.Fatalf("Detail() error = %v", err)
			}
			var got []string
			for _, l := range d.Related {
				got = append(got, l.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Detail().Related (-want +got):\n%s", diff)
			}
			if d.RelatedTruncated != tc.truncated {
				t.Errorf("Detail().RelatedTruncated = %v, want %v", d.RelatedTruncated, tc.truncated)
			}
			if tc.bounds.PageSize != 0 && store.maxLimit > tc.bounds.PageSize {
				t.Errorf("Detail() asked for pages of %d, want at most %d", store.maxLimit, tc.bounds.PageSize)
			}
		})
	}
}

func TestReplayMatchingPagesAndRefusesPastItsBound(t *testing.T) {
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		name    string
		bounds  ops.Bounds
		refused bool
	}{
		{name: "defaults"},
		{name: "two per page", bounds: ops.Bounds{PageSize: 2}},
		{name: "bound equals the count", bounds: ops.Bounds{PageSize: 2, MaxBulkReplay: 5}},
		{name: "one too many", bounds: ops.Bounds{PageSize: 2, MaxBulkReplay: 4}, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			var failed []string // oldest first
			for _, i := range []int{3, 0, 4, 1, 2} {
				s.record(t, "ada@example.com", base.Add(time.Duration(i)*time.Minute), apmc.StatusSucceeded, "")
				failed = append(failed, s.record(t, "bob@example.com", base.Add(time.Duration(i)*time.Minute+time.Second), apmc.StatusFailed, "").ID)
			}
			slices.Sort(failed)
			store := &pagedStore{ExecutionStore: s.executions}
			svc := &ops.Service{Instances: s.instances, Executions: store, Queue: s.producer, Bounds: tc.bounds}

			replayed, err := svc.ReplayMatching(context.Background(), "inst", apmc.ExecutionQuery{Status: apmc.StatusFailed})
			queued := s.drain(t)
			if tc.refused {
				if !apmc.IsInvalid(err) || !strings.Contains(err.Error(), "more than 4 executions match") {
					t.Errorf("ReplayMatching() error = %v, want an invalid-input error saying more than 4 match", err)
				}
				if len(replayed) != 0 || len(queued) != 0 {
					t.Errorf("a refused ReplayMatching() replayed %d and queued %d, want none", len(replayed), len(queued))
				}
				return
			}
			if err != nil {
				t.Fatalf("ReplayMatching() error = %v", err)
			}
			var got []string
			for _, c := range queued {
				got = append(got, c.OriginalExecutionID)
			}
			if diff := cmp.Diff(failed, got); diff != "" {
				t.Errorf("replays queued, original ids oldest first (-want +got):\n%s", diff)
			}
			if len(replayed) != len(failed) {
				t.Errorf("ReplayMatching() = %d replays, want %d", len(replayed), len(failed))
			}
			if tc.bounds.PageSize != 0 && store.maxLimit > tc.bounds.PageSize {
				t.Errorf("ReplayMatching() asked for pages of %d, want at most %d", store.maxLimit, tc.bounds.PageSize)
			}
		})
	}
}
