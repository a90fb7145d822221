package local_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
)

// countingWriter counts the bytes and lines written to it and keeps them.
type countingWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// take returns what was written since the last take.
func (w *countingWriter) take() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.buf.String()
	w.buf.Reset()
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
	var logs, metrics countingWriter
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
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := s.Executions.CountExecutions(context.Background(), s.Info.InstanceID, apmc.ExecutionQuery{Status: status})
		if err != nil {
			t.Fatalf("CountExecutions() error = %v", err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s executions after 30 s, want %d", got, status, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
