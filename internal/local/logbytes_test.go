package local_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
)

// take returns what was written since the last take.
func (b *lockedBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// TestLogBytesPerChange measures what the functions write to CloudWatch
// Logs for a synced change (accessplanit → Mailchimp, a changed contact)
// and its echo: the ingest and sync functions' JSON log lines at INFO, as
// deployed, and the sync function's metric records. A change that
// succeeds logs nothing (its execution records it); its metrics are one
// record per instance per batch. The figures are logged for BENCHMARKS.md
// section 5 (go test -count=1 -run TestLogBytesPerChange -v ./internal/local).
func TestLogBytesPerChange(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var logs, metrics lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := local.Start(ctx, local.Config{
		Prefix: "logbytes", RetryBase: 200 * time.Millisecond, Metrics: &metrics,
		// As edge.Logger builds it in each function, at the deployed INFO.
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})).With("function", "sync"),
	})
	if err != nil {
		t.Fatalf("local.Start() error = %v", err)
	}
	t.Cleanup(s.Close)

	const n = 20
	ids := make([]string, n)
	for i := range n {
		id, err := s.Accessplanit.CreateUserInUI(map[string]any{
			"Forenames": "Ada", "Surname": fmt.Sprintf("Lovelace %02d", i), "Email": fmt.Sprintf("ada.%02d@example.com", i),
			"MarketingOptIn": true, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID,
		})
		if err != nil {
			t.Fatalf("CreateUserInUI() error = %v", err)
		}
		ids[i] = id
	}
	waitCount(t, s, apmc.StatusSucceeded, n)
	waitCount(t, s, apmc.StatusSuppressed, n)
	logs.take()
	metrics.take()

	for _, id := range ids {
		if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Forenames": "Augusta Ada"}); err != nil {
			t.Fatalf("EditUserInUI() error = %v", err)
		}
	}
	waitCount(t, s, apmc.StatusSucceeded, 2*n)
	waitCount(t, s, apmc.StatusSuppressed, 2*n)

	appLogs, records := logs.take(), metrics.take()
	lines, recordLines := strings.Count(appLogs, "\n"), strings.Count(records, "\n")
	t.Logf("per change (and its echo), %d changes: application log %.0f B (%d lines in all), metric records %.0f B (%d records for %d executions)",
		n, float64(len(appLogs))/n, lines, float64(len(records))/n, recordLines, 2*n)
	if lines != 0 {
		t.Errorf("changes that succeeded logged %d lines, want none (their executions record them):\n%s", lines, appLogs)
	}
	if recordLines == 0 || recordLines > 2*n {
		t.Errorf("metric records = %d for %d executions, want 1 to %d", recordLines, 2*n, 2*n)
	}
}

// waitCount waits until the demo instance has at least n executions of status.
func waitCount(t *testing.T, s *local.Stack, status apmc.Status, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d %s executions", n, status), func() bool {
		got, err := s.Executions.CountExecutions(context.Background(), s.Info.InstanceID, apmc.ExecutionQuery{Status: status})
		if err != nil {
			t.Fatalf("CountExecutions() error = %v", err)
		}
		return got >= n
	})
}
