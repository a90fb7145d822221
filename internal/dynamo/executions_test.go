package dynamo

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func sampleExecution(instanceID string, at time.Time) apmc.Execution {
	return apmc.Execution{
		ID: apmc.NewExecutionID(at), InstanceID: instanceID, ChangeID: "chg-1",
		Flow: apmc.FlowToMailchimp, Event: apmc.EventUpdated, Origin: apmc.OriginWebhook, Attempt: 1,
		Status: apmc.StatusSucceeded, Changed: true, Contact: "ada@example.com", ConfigVersion: 3,
		StartedAt: at, FinishedAt: at.Add(120 * time.Millisecond),
		Steps: []apmc.Step{
			{Name: "read user", Status: "ok", Output: map[string]any{"user_id": "u-7", "count": 2.0}, DurationMS: 40},
			{Name: "write member", Status: "failed", Error: "mailchimp: 400 invalid", DurationMS: 70},
		},
		Logs: []apmc.LogLine{
			{Time: at, Level: "info", Message: "change received"},
			{Time: at.Add(time.Millisecond), Level: "warn", Message: "PHONE left out"},
		},
		ExpiresAt: time.Now().Add(24 * time.Hour).Truncate(time.Second).UTC(),
	}
}

func TestExecutionStoreSaveAndGet(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewExecutionStore(b.client, tables.Executions)
		e := sampleExecution("inst-1", t0)
		if err := store.SaveExecution(ctx, e); err != nil {
			t.Fatalf("SaveExecution error: %v", err)
		}
		got, err := store.Execution(ctx, "inst-1", e.ID)
		if err != nil {
			t.Fatalf("Execution(%s) error: %v", e.ID, err)
		}
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("Execution(%s) mismatch (-want +got):\n%s", e.ID, diff)
		}

		// Saving the same execution again replaces it.
		e.Status, e.Error = apmc.StatusFailed, "boom"
		if err := store.SaveExecution(ctx, e); err != nil {
			t.Fatalf("SaveExecution(again) error: %v", err)
		}
		if got, err := store.Execution(ctx, "inst-1", e.ID); err != nil || got.Status != apmc.StatusFailed {
			t.Errorf("Execution after re-save = %s, %v; want failed", got.Status, err)
		}

		expired := sampleExecution("inst-1", t0.Add(time.Second))
		expired.ExpiresAt = time.Now().Add(-time.Hour)
		if err := store.SaveExecution(ctx, expired); err != nil {
			t.Fatalf("SaveExecution(expired) error: %v", err)
		}
		missing := []struct{ name, instance, id string }{
			{"unknown id", "inst-1", apmc.NewExecutionID(t0)},
			{"other instance", "inst-2", e.ID},
			{"expired", "inst-1", expired.ID},
		}
		for _, tt := range missing {
			if _, err := store.Execution(ctx, tt.instance, tt.id); !isNotFound(err) {
				t.Errorf("Execution(%s) error = %v, want ErrNotFound", tt.name, err)
			}
		}
		if err := store.SaveExecution(ctx, apmc.Execution{InstanceID: "inst-1"}); !apmc.IsInvalid(err) {
			t.Errorf("SaveExecution(no id) error = %v, want invalid", err)
		}
	})
}

func TestExecutionStoreTrimsLargeRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewExecutionStore(b.client, tables.Executions)
		e := sampleExecution("inst-1", t0)
		// Random text: records are stored compressed, and repeated
		// characters would compress to almost nothing.
		rnd := rand.New(rand.NewPCG(1, 2))
		noise := func(n int) string {
			b := make([]byte, n*3/4)
			for i := range b {
				b[i] = byte(rnd.Uint32())
			}
			return base64.StdEncoding.EncodeToString(b)
		}
		e.Steps[0].Output = map[string]any{"body": noise(100 << 10)}
		for i := range 1500 {
			e.Logs = append(e.Logs, apmc.LogLine{Time: t0, Level: "debug", Message: fmt.Sprintf("line %d %s", i, noise(400))})
		}
		if err := store.SaveExecution(ctx, e); err != nil {
			t.Fatalf("SaveExecution(%d log lines, 100 KB output) error: %v", len(e.Logs), err)
		}
		got, err := store.Execution(ctx, "inst-1", e.ID)
		if err != nil {
			t.Fatalf("Execution error: %v", err)
		}
		if _, kept := got.Steps[0].Output["body"]; kept {
			t.Errorf("Execution().Steps[0].Output kept the 100 KB body, want it trimmed")
		}
		last := got.Logs[len(got.Logs)-1]
		if last.Level != "warn" || !strings.Contains(last.Message, "trimmed") {
			t.Errorf("last log line = %s %q, want a warning that the record was trimmed", last.Level, last.Message)
		}
		if got.Logs[0] != e.Logs[0] {
			t.Errorf("first log line = %+v, want %+v kept", got.Logs[0], e.Logs[0])
		}
		if got.Status != e.Status || got.Contact != e.Contact {
			t.Errorf("trimmed execution = %s %s, want %s %s", got.Status, got.Contact, e.Status, e.Contact)
		}
	})
}

// seedExecutions stores executions of varied kinds a minute apart for
// inst-1, plus look-alikes for inst-2, and returns inst-1's.
func seedExecutions(t *testing.T, store *ExecutionStore) []apmc.Execution {
	t.Helper()
	statuses := []apmc.Status{apmc.StatusSucceeded, apmc.StatusFailed, apmc.StatusSuppressed, apmc.StatusSkipped}
	origins := []apmc.Origin{apmc.OriginWebhook, apmc.OriginRetry, apmc.OriginReplay, apmc.OriginBackfill, apmc.OriginWebhook}
	contacts := []string{"ada@example.com", "bob@example.com", ""}
	var out []apmc.Execution
	for _, inst := range []string{"inst-1", "inst-2"} {
		for i := range 24 {
			e := sampleExecution(inst, t0.Add(time.Duration(i)*time.Minute))
			e.Status = statuses[i%len(statuses)]
			e.Origin = origins[i%len(origins)]
			e.Changed = i%3 != 0
			e.Contact = contacts[i%len(contacts)]
			if i%2 == 1 {
				e.Flow = apmc.FlowToAccessplanit
			}
			switch i {
			case 5, 6:
				e.ExpiresAt = time.Now().Add(-time.Hour) // lazily deleted: must stay hidden
			case 11:
				e.ExpiresAt = time.Time{} // kept forever
			}
			if i == 12 {
				e.Contact = "ADA@example.com"
			}
			if err := store.SaveExecution(context.Background(), e); err != nil {
				t.Fatalf("SaveExecution(%d) error: %v", i, err)
			}
			if inst == "inst-1" {
				out = append(out, e)
			}
		}
	}
	return out
}

// matches is the specification of apmc.ExecutionQuery's filters.
func matches(e apmc.Execution, q apmc.ExecutionQuery) bool {
	switch {
	case !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(time.Now()):
		return false
	case q.Status != "" && e.Status != q.Status,
		q.Flow != "" && e.Flow != q.Flow,
		q.Contact != "" && !strings.EqualFold(e.Contact, q.Contact),
		q.OriginalOnly && e.Origin != apmc.OriginWebhook && e.Origin != apmc.OriginBackfill,
		q.ChangedOnly && !e.Changed,
		!q.From.IsZero() && e.StartedAt.Before(q.From),
		!q.To.IsZero() && !e.StartedAt.Before(q.To):
		return false
	}
	return true
}

func TestExecutionStoreQuery(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewExecutionStore(b.client, tables.Executions)
		seeded := seedExecutions(t, store)
		minute := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

		tests := []struct {
			name string
			q    apmc.ExecutionQuery
		}{
			{"all", apmc.ExecutionQuery{}},
			{"status", apmc.ExecutionQuery{Status: apmc.StatusFailed}},
			{"flow", apmc.ExecutionQuery{Flow: apmc.FlowToAccessplanit}},
			{"contact", apmc.ExecutionQuery{Contact: "ada@example.com"}},
			{"contact any case", apmc.ExecutionQuery{Contact: "Ada@Example.COM"}},
			{"contact status flow", apmc.ExecutionQuery{Contact: "bob@example.com", Status: apmc.StatusSucceeded, Flow: apmc.FlowToMailchimp}},
			{"status flow", apmc.ExecutionQuery{Status: apmc.StatusSuppressed, Flow: apmc.FlowToMailchimp}},
			{"original only", apmc.ExecutionQuery{OriginalOnly: true}},
			{"changed only", apmc.ExecutionQuery{ChangedOnly: true}},
			{"from to", apmc.ExecutionQuery{From: minute(4), To: minute(15)}},
			{"from", apmc.ExecutionQuery{From: minute(20)}},
			{"to", apmc.ExecutionQuery{To: minute(3)}},
			{"to mid-minute", apmc.ExecutionQuery{To: minute(3).Add(30 * time.Second)}},
			{"everything", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, OriginalOnly: true, ChangedOnly: true, From: minute(1), To: minute(23)}},
			{"flow and window", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, From: minute(2), To: minute(9)}},
			{"empty window", apmc.ExecutionQuery{From: minute(9), To: minute(9)}},
			{"no match", apmc.ExecutionQuery{Status: apmc.StatusHeld}},
			{"unknown contact", apmc.ExecutionQuery{Contact: "carol@example.com"}},
			{"oldest first", apmc.ExecutionQuery{OldestFirst: true}},
			{"status oldest first", apmc.ExecutionQuery{Status: apmc.StatusFailed, OldestFirst: true}},
			{"contact from oldest first", apmc.ExecutionQuery{Contact: "ada@example.com", From: minute(4), OldestFirst: true}},
			{"flow window original oldest first", apmc.ExecutionQuery{Flow: apmc.FlowToMailchimp, From: minute(2), To: minute(20), OriginalOnly: true, OldestFirst: true}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var want []string
				for _, e := range seeded {
					if matches(e, tt.q) {
						want = append(want, e.ID)
					}
				}
				if !tt.q.OldestFirst {
					slices.Reverse(want) // newest first
				}

				page, next, err := store.Executions(ctx, "inst-1", tt.q)
				if err != nil {
					t.Fatalf("Executions(%+v) error: %v", tt.q, err)
				}
				if diff := cmp.Diff(want, ids(page)); diff != "" {
					t.Errorf("Executions(%+v) ids mismatch (-want +got):\n%s", tt.q, diff)
				}
				if next != "" {
					t.Errorf("Executions(%+v) cursor = %q, want none", tt.q, next)
				}

				// The same, three at a time.
				q := tt.q
				q.Limit = 3
				var walked []string
				for pages := 0; ; pages++ {
					if pages > len(seeded) {
						t.Fatalf("Executions(%+v) did not stop paging", q)
					}
					page, next, err := store.Executions(ctx, "inst-1", q)
					if err != nil {
						t.Fatalf("Executions(%+v) page %d error: %v", q, pages, err)
					}
					if next != "" && len(page) != 3 {
						t.Errorf("Executions(%+v) page %d has %d items and a cursor, want 3", q, pages, len(page))
					}
					walked = append(walked, ids(page)...)
					if next == "" {
						break
					}
					q.Cursor = next
				}
				if diff := cmp.Diff(want, walked); diff != "" {
					t.Errorf("Executions(%+v) paged ids mismatch (-want +got):\n%s", tt.q, diff)
				}
			})
		}
	})
}

func TestExecutionStoreBadCursor(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewExecutionStore(b.client, tables.Executions)
		for i := range 3 {
			if err := store.SaveExecution(ctx, sampleExecution("inst-1", t0.Add(time.Duration(i)*time.Second))); err != nil {
				t.Fatal(err)
			}
		}
		_, good, err := store.Executions(ctx, "inst-1", apmc.ExecutionQuery{Limit: 1})
		if err != nil || good == "" {
			t.Fatalf("Executions(limit 1) = cursor %q, %v; want a cursor", good, err)
		}
		b64 := base64.RawURLEncoding.EncodeToString
		tests := []struct{ name, instance, cursor string }{
			{"not base64", "inst-1", "%%%"},
			{"not json", "inst-1", b64([]byte("hello"))},
			{"not an execution id", "inst-1", b64([]byte(`{"instance_id":"inst-1","execution_id":"x"}`))},
			{"another instance's", "inst-2", good},
			{"truncated", "inst-1", good[:len(good)/2]},
		}
		for _, tt := range tests {
			_, _, err := store.Executions(ctx, tt.instance, apmc.ExecutionQuery{Cursor: tt.cursor})
			if !apmc.IsInvalid(err) {
				t.Errorf("Executions(%s cursor %q) error = %v, want invalid", tt.name, tt.cursor, err)
			}
		}
		if _, _, err := store.Executions(ctx, "inst-1", apmc.ExecutionQuery{Cursor: good}); err != nil {
			t.Errorf("Executions(good cursor) error: %v", err)
		}
	})
}

func ids(es []apmc.Execution) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestExecutionStoreSparseMatchesEndPageEarly(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewExecutionStore(b.client, tables.Executions)
		oldest := sampleExecution("inst-1", t0)
		if err := store.SaveExecution(ctx, oldest); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= maxQueryRequests+5; i++ {
			e := sampleExecution("inst-1", t0.Add(time.Duration(i)*time.Second))
			e.Changed = false
			if err := store.SaveExecution(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		// Each request reads one item, so the first page gives up before
		// reaching the match and hands back a cursor instead.
		q := apmc.ExecutionQuery{ChangedOnly: true, Limit: 1}
		var walked []string
		for pages := 0; pages < 5; pages++ {
			page, next, err := store.Executions(ctx, "inst-1", q)
			if err != nil {
				t.Fatalf("Executions(%+v) error: %v", q, err)
			}
			walked = append(walked, ids(page)...)
			if next == "" {
				break
			}
			q.Cursor = next
		}
		if diff := cmp.Diff([]string{oldest.ID}, walked); diff != "" {
			t.Errorf("Executions(changed only, limit 1) paged ids mismatch (-want +got):\n%s", diff)
		}
	})
}
