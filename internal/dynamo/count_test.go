package dynamo

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

func TestExecutionStoreCount(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewExecutionStore(b.client, tables.Executions)
		seeded := seedExecutions(t, store)
		minute := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

		for _, tc := range []struct {
			name string
			q    apmc.ExecutionQuery
		}{
			{"all", apmc.ExecutionQuery{}},
			{"status", apmc.ExecutionQuery{Status: apmc.StatusFailed}},
			{"status in a window", apmc.ExecutionQuery{Status: apmc.StatusSucceeded, From: minute(4)}},
			{"held: none", apmc.ExecutionQuery{Status: apmc.StatusHeld}},
			{"flow", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit}},
			{"contact any case", apmc.ExecutionQuery{Contact: "Ada@Example.COM"}},
			{"status flow", apmc.ExecutionQuery{Status: apmc.StatusSuppressed, Flow: apmc.FlowToMailchimp}},
			{"changed only", apmc.ExecutionQuery{ChangedOnly: true, OriginalOnly: true}},
			{"from to", apmc.ExecutionQuery{From: minute(4), To: minute(15)}},
			{"empty window", apmc.ExecutionQuery{From: minute(9), To: minute(9)}},
			{"limit caps the count, the cursor is ignored", apmc.ExecutionQuery{Limit: 3, Cursor: "not a cursor"}},
			{"a filtered count capped", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit, ChangedOnly: true, Limit: 2}},
			{"a limit above the count", apmc.ExecutionQuery{Limit: 1000}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				want := 0
				for _, e := range seeded {
					if matches(e, tc.q) {
						want++
					}
				}
				if tc.q.Limit > 0 {
					want = min(want, tc.q.Limit)
				}
				got, err := store.CountExecutions(ctx, "inst-1", tc.q)
				if err != nil {
					t.Fatalf("CountExecutions(%+v) error: %v", tc.q, err)
				}
				if got != want {
					t.Errorf("CountExecutions(%+v) = %d, want %d", tc.q, got, want)
				}
			})
		}
		if n, err := store.CountExecutions(ctx, "inst-none", apmc.ExecutionQuery{}); err != nil || n != 0 {
			t.Errorf("CountExecutions(inst-none) = %d, %v; want 0", n, err)
		}
		if _, err := store.CountExecutions(ctx, "", apmc.ExecutionQuery{}); !apmc.IsInvalid(err) {
			t.Errorf("CountExecutions(\"\") error = %v, want invalid", err)
		}
	})
}

// TallyStatuses counts the statuses of the newest executions in one read,
// says whether it read them all, and knows the newest of each status.
func TestExecutionStoreTallyStatuses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewExecutionStore(b.client, tables.Executions)
		seeded := seedExecutions(t, store)
		minute := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
		newestFirst := slices.Clone(seeded)
		slices.SortFunc(newestFirst, func(a, b apmc.Execution) int { return b.StartedAt.Compare(a.StartedAt) })

		for _, tc := range []struct {
			name string
			from time.Time
			max  int
		}{
			{"every execution", time.Time{}, 1000},
			{"from a time", minute(4), 1000},
			{"the newest few", time.Time{}, 3},
			{"exactly as many as there are", time.Time{}, len(seeded)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var inRange []apmc.Execution
				for _, e := range newestFirst {
					if matches(e, apmc.ExecutionQuery{From: tc.from}) {
						inRange = append(inRange, e)
					}
				}
				read := inRange[:min(tc.max, len(inRange))]
				wantCounts := map[apmc.Status]int{}
				wantNewest := map[apmc.Status]time.Time{}
				for _, e := range read {
					wantCounts[e.Status]++
					if e.StartedAt.After(wantNewest[e.Status]) {
						wantNewest[e.Status] = e.StartedAt
					}
				}
				got, err := store.TallyStatuses(ctx, "inst-1", tc.from, tc.max)
				if err != nil {
					t.Fatalf("TallyStatuses error = %v", err)
				}
				if !maps.Equal(got.Counts, wantCounts) {
					t.Errorf("counts = %v, want %v", got.Counts, wantCounts)
				}
				if !maps.EqualFunc(got.Newest, wantNewest, time.Time.Equal) {
					t.Errorf("newest = %v, want %v", got.Newest, wantNewest)
				}
				// The read counts the expired executions it skips too, so
				// reading exactly as many as are stored may or may not tell
				// that none is left.
				if tc.max > len(seeded) && !got.Complete || tc.max < len(inRange) && got.Complete {
					t.Errorf("complete = %v after reading at most %d of %d stored (%d in range)", got.Complete, tc.max, len(seeded), len(inRange))
				}
			})
		}
		if _, err := store.TallyStatuses(ctx, "", time.Time{}, 10); !apmc.IsInvalid(err) {
			t.Errorf("TallyStatuses(\"\") error = %v, want invalid", err)
		}
	})
}
