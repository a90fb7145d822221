package dynamo

import (
	"context"
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
