package infra

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/queue"
)

func TestQueues(t *testing.T) {
	s := mustLoadStack(t)
	changes, err := s.typed.GetSQSQueueWithName("ChangesQueue")
	if err != nil {
		t.Fatalf("ChangesQueue: %v", err)
	}
	bulk, err := s.typed.GetSQSQueueWithName("BulkQueue")
	if err != nil {
		t.Fatalf("BulkQueue: %v", err)
	}
	dlq, err := s.typed.GetSQSQueueWithName("ChangesDeadLetterQueue")
	if err != nil {
		t.Fatalf("ChangesDeadLetterQueue: %v", err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"ChangesQueue.FifoQueue", changes.FifoQueue, cloudformation.Bool(true)},
		// Ingest sets a deduplication id per delivery.
		{"ChangesQueue.ContentBasedDeduplication", changes.ContentBasedDeduplication, cloudformation.Bool(false)},
		{"ChangesQueue.DeduplicationScope", changes.DeduplicationScope, cloudformation.String("messageGroup")},
		{"ChangesQueue.FifoThroughputLimit", changes.FifoThroughputLimit, cloudformation.String("perMessageGroupId")},
		{"ChangesQueue.SqsManagedSseEnabled", changes.SqsManagedSseEnabled, cloudformation.Bool(true)},
		{"ChangesQueue.MessageRetentionPeriod", changes.MessageRetentionPeriod, cloudformation.Int(4 * 24 * 3600)},
		{"ChangesQueue.RedrivePolicy", changes.RedrivePolicy, map[string]any{
			"deadLetterTargetArn": cloudformation.GetAtt("ChangesDeadLetterQueue", "Arn"),
			// The engine counts attempts against the same number.
			"maxReceiveCount": float64(apmc.DefaultMaxAttempts),
		}},
		// The bulk lane is the changes queue under another name, sharing its
		// dead-letter queue.
		{"BulkQueue", bulk, changes},
		{"ChangesDeadLetterQueue.FifoQueue", dlq.FifoQueue, cloudformation.Bool(true)},
		{"ChangesDeadLetterQueue.SqsManagedSseEnabled", dlq.SqsManagedSseEnabled, cloudformation.Bool(true)},
		{"ChangesDeadLetterQueue.MessageRetentionPeriod", dlq.MessageRetentionPeriod, cloudformation.Int(14 * 24 * 3600)},
		{"ChangesDeadLetterQueue.RedrivePolicy", dlq.RedrivePolicy, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestQueueVisibilityCoversSyncTimeout holds the queue's fixed visibility
// timeout to Lambda's advice for SQS sources: at least six times the
// function's timeout. CloudFormation cannot multiply a parameter, so the
// parameter's MaxValue is what makes the fixed value safe.
func TestQueueVisibilityCoversSyncTimeout(t *testing.T) {
	s := mustLoadStack(t)
	p, ok := s.typed.Parameters["SyncTimeoutSeconds"]
	if !ok || p.MaxValue == nil {
		t.Fatalf("parameter SyncTimeoutSeconds has no MaxValue; the queue's visibility timeout cannot be checked against it")
	}
	q, err := s.typed.GetSQSQueueWithName("ChangesQueue")
	if err != nil {
		t.Fatalf("ChangesQueue: %v", err)
	}
	if q.VisibilityTimeout == nil {
		t.Fatalf("ChangesQueue.VisibilityTimeout unset, want at least %v", 6**p.MaxValue)
	}
	if got, want := float64(*q.VisibilityTimeout), 6**p.MaxValue; got < want {
		t.Errorf("ChangesQueue.VisibilityTimeout = %v, want at least %v (6 x SyncTimeoutSeconds.MaxValue)", got, want)
	}
	if got := render(s.functionProperty("SyncFunction", "Timeout")); got != "!Ref SyncTimeoutSeconds" {
		t.Errorf("SyncFunction Timeout = %s, want !Ref SyncTimeoutSeconds (the bound above relies on it)", got)
	}
}

func TestSyncEventSource(t *testing.T) {
	s := mustLoadStack(t)
	events, _ := s.functionProperty("SyncFunction", "Events").(map[string]any)
	var sqs []any
	for _, e := range events {
		if render(node(e, "Type")) == "SQS" {
			sqs = append(sqs, node(e, "Properties"))
		}
	}
	var got []string
	for _, e := range sqs {
		got = append(got, render(e))
	}
	sort.Strings(got)
	// Two event sources, their maxima the SyncLanes split of the reserved
	// concurrency (TestSyncLanes).
	want := []string{
		"{BatchSize: 10, FunctionResponseTypes: [ReportBatchItemFailures], Queue: !GetAtt BulkQueue.Arn, " +
			"ScalingConfig: {MaximumConcurrency: {Fn::FindInMap: [SyncLanes, !Ref SyncMaximumConcurrency, Bulk]}}}",
		"{BatchSize: 10, FunctionResponseTypes: [ReportBatchItemFailures], Queue: !GetAtt ChangesQueue.Arn, " +
			"ScalingConfig: {MaximumConcurrency: {Fn::FindInMap: [SyncLanes, !Ref SyncMaximumConcurrency, Changes]}}}",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SyncFunction SQS events mismatch (-want +got):\n%s", diff)
	}
	// The backfill function consumes its own queue, one job at a time.
	jobs := render(node(s.functionProperty("BackfillFunction", "Events"), "Jobs", "Properties"))
	if want := "{BatchSize: 1, FunctionResponseTypes: [ReportBatchItemFailures], Queue: !GetAtt BackfillQueue.Arn}"; jobs != want {
		t.Errorf("BackfillFunction SQS event = %s, want %s", jobs, want)
	}
	for _, id := range functionIDs {
		if id == "SyncFunction" || id == "BackfillFunction" {
			continue
		}
		events, _ := s.functionProperty(id, "Events").(map[string]any)
		for name, e := range events {
			if render(node(e, "Type")) == "SQS" {
				t.Errorf("%s event %s consumes SQS, want only SyncFunction and BackfillFunction to", id, name)
			}
		}
	}
}

// TestSyncLanes holds the SyncLanes mapping, which splits the sync's
// reserved concurrency (SyncMaximumConcurrency) between its two event
// sources, to the code's split (queue.BulkShare, which the local stack's
// pollers follow): one row per allowed value, each share at least Lambda's
// smallest MaximumConcurrency (2), and the two adding up to the
// reservation, so neither event source is throttled by the other.
func TestSyncLanes(t *testing.T) {
	s := mustLoadStack(t)
	p := s.typed.Parameters["SyncMaximumConcurrency"]
	lanes, _ := node(s.raw, "Mappings", "SyncLanes").(map[string]any)
	if len(lanes) == 0 {
		t.Fatalf("Mappings.SyncLanes missing")
	}
	var allowed []string
	for _, v := range p.AllowedValues {
		allowed = append(allowed, fmt.Sprint(v))
	}
	var rows []string
	for k := range lanes {
		rows = append(rows, k)
	}
	sort.Strings(allowed)
	sort.Strings(rows)
	if diff := cmp.Diff(allowed, rows); diff != "" {
		t.Errorf("SyncMaximumConcurrency AllowedValues and SyncLanes rows differ (-allowed +rows):\n%s", diff)
	}
	if def := fmt.Sprint(p.Default); !slices.Contains(rows, def) {
		t.Errorf("SyncMaximumConcurrency Default %s has no SyncLanes row", def)
	}
	for _, k := range rows {
		total, err := strconv.Atoi(k)
		if err != nil {
			t.Errorf("SyncLanes row %q is not a number", k)
			continue
		}
		changes, bulk := queue.BulkShare(total)
		got := render(lanes[k])
		if want := fmt.Sprintf("{Bulk: %d, Changes: %d}", bulk, changes); got != want {
			t.Errorf("SyncLanes[%s] = %s, want %s (queue.BulkShare)", k, got, want)
		}
		if changes < 2 || bulk < 2 || changes+bulk != total {
			t.Errorf("SyncLanes[%s] = %d + %d, want each at least 2 and %d together", k, changes, bulk, total)
		}
	}
}
