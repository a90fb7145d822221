package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/sync"
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
			q    sync.ExecutionQuery
		}{
			{"all", sync.ExecutionQuery{}},
			{"status", sync.ExecutionQuery{Status: sync.StatusFailed}},
			{"status in a window", sync.ExecutionQuery{Status: sync.StatusSucceeded, From: minute(4)}},
			{"held: none", sync.ExecutionQuery{Status: sync.StatusHeld}},
			{"flow", sync.ExecutionQuery{Flow: sync.FlowToAccessplanit}},
			{"contact any case", sync.ExecutionQuery{Contact: "Ada@Example.COM"}},
			{"status flow", sync.ExecutionQuery{Status: sync.StatusSuppressed, Flow: sync.FlowToMailchimp}},
			{"changed only", sync.ExecutionQuery{ChangedOnly: true, OriginalOnly: true}},
			{"from to", sync.ExecutionQuery{From: minute(4), To: minute(15)}},
			{"empty window", sync.ExecutionQuery{From: minute(9), To: minute(9)}},
			{"limit and cursor are ignored", sync.ExecutionQuery{Limit: 1, Cursor: "not a cursor"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				want := 0
				for _, e := range seeded {
					if matches(e, tc.q) {
						want++
					}
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
		if n, err := store.CountExecutions(ctx, "inst-none", sync.ExecutionQuery{}); err != nil || n != 0 {
			t.Errorf("CountExecutions(inst-none) = %d, %v; want 0", n, err)
		}
		if _, err := store.CountExecutions(ctx, "", sync.ExecutionQuery{}); !sync.IsInvalid(err) {
			t.Errorf("CountExecutions(\"\") error = %v, want invalid", err)
		}
	})
}
