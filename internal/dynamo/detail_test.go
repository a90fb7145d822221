package dynamo

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// fullExecution has every field of an execution set.
func fullExecution(at time.Time) apmc.Execution {
	e := sampleExecution("inst-1", at)
	e.Origin, e.Attempt, e.OriginalID = apmc.OriginRetry, 2, apmc.NewExecutionID(at.Add(-time.Minute))
	e.Status, e.Reason, e.Error, e.Retryable = apmc.StatusFailed, "Mailchimp refused", "mailchimp: 503", true
	e.Change = &apmc.Change{
		ID: "sha256:abc", InstanceID: "inst-1", Source: apmc.SideAccessplanit, Event: apmc.EventUpdated,
		ReceivedAt: at, OccurredAt: at.Add(-time.Second), Email: "ada@example.com", UserID: "1001",
		User:   &apmc.User{ID: "1001", Fields: map[string]string{"Forenames": "Ada", "Email": "ada@example.com"}, UpdatedAt: at, UpdatedByID: "7", Tags: []string{"VIP"}},
		Merges: apmc.Values{"FNAME": "Ada"}, Origin: apmc.OriginRetry, OriginalExecutionID: "01J",
	}
	return e
}

// TestExecutionDetailIsCompressed: an execution reads back whole, while its
// item holds in plain attributes only the keys and what the indexes project
// or the queries filter on.
func TestExecutionDetailIsCompressed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewExecutionStore(b.client, tables.Executions)
		e := fullExecution(t0)
		if err := store.SaveExecution(ctx, e); err != nil {
			t.Fatalf("SaveExecution error: %v", err)
		}
		got, err := store.Execution(ctx, e.InstanceID, e.ID)
		if err != nil {
			t.Fatalf("Execution(%s) error: %v", e.ID, err)
		}
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("Execution(%s) mismatch (-want +got):\n%s", e.ID, diff)
		}

		raw := rawExecution(t, b.client, tables.Executions, e)
		want := append([]string{AttrInstanceID, AttrExecutionID, AttrContactKey, AttrStatusKey, "detail"}, ExecutionIndexAttributes...)
		slices.Sort(want)
		if names := slices.Sorted(maps.Keys(raw)); !slices.Equal(names, want) {
			t.Errorf("stored attributes = %v, want %v", names, want)
		}
		if _, ok := raw["detail"].(*types.AttributeValueMemberB); !ok {
			t.Errorf("detail = %T, want a binary attribute", raw["detail"])
		}
	})
}

// TestExecutionStoreReadsPlainItems: executions stored before the detail was
// compressed, every field a plain attribute, read back unchanged.
func TestExecutionStoreReadsPlainItems(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewExecutionStore(b.client, tables.Executions)
		e := fullExecution(t0)
		type plainItem struct {
			executionItem
			executionDetail
		}
		it, err := toExecutionItem(e)
		if err != nil {
			t.Fatalf("toExecutionItem() error = %v", err)
		}
		it.Detail = nil
		item, err := marshalItem(plainItem{it, executionDetail{
			ChangeID: e.ChangeID, Event: e.Event, Attempt: e.Attempt, OriginalID: e.OriginalID, Contact: e.Contact,
			Reason: e.Reason, Error: e.Error, Retryable: e.Retryable, ConfigVersion: e.ConfigVersion,
			StartedAt: e.StartedAt, FinishedAt: e.FinishedAt, Steps: e.Steps, Logs: e.Logs, Change: e.Change,
		}})
		if err != nil {
			t.Fatalf("marshal plain item: %v", err)
		}
		if _, ok := item["steps"]; !ok {
			t.Fatalf("plain item has no steps attribute: %v", slices.Sorted(maps.Keys(item)))
		}
		if _, err := b.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tables.Executions), Item: item}); err != nil {
			t.Fatalf("PutItem(plain execution) error: %v", err)
		}
		got, err := store.Execution(ctx, e.InstanceID, e.ID)
		if err != nil {
			t.Fatalf("Execution(%s) error: %v", e.ID, err)
		}
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("Execution(%s) of a plain item mismatch (-want +got):\n%s", e.ID, diff)
		}
	})
}

func rawExecution(t *testing.T, client *dynamodb.Client, table string, e apmc.Execution) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			AttrInstanceID:  &types.AttributeValueMemberS{Value: e.InstanceID},
			AttrExecutionID: &types.AttributeValueMemberS{Value: e.ID},
		},
	})
	if err != nil {
		t.Fatalf("GetItem(%s) error: %v", e.ID, err)
	}
	return out.Item
}

// TestUnpackDetailRefusesUnknownFormats: a detail not written by packDetail
// is an error, not an empty execution.
func TestUnpackDetailRefusesUnknownFormats(t *testing.T) {
	packed, err := packDetail(executionDetail{Contact: "ada@example.com"})
	if err != nil {
		t.Fatalf("packDetail() error = %v", err)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"other version", append([]byte{2}, packed[1:]...)},
		{"cut short", packed[:len(packed)/2]},
	}
	for _, tt := range tests {
		if d, err := unpackDetail(tt.b); err == nil {
			t.Errorf("unpackDetail(%s) = %+v, want an error", tt.name, d)
		}
	}
}

// BenchmarkPackDetail compresses a synced change's execution detail, as
// every save does.
func BenchmarkPackDetail(b *testing.B) {
	e := fullExecution(t0)
	d := executionDetail{ChangeID: e.ChangeID, Event: e.Event, Attempt: e.Attempt, Contact: e.Contact,
		ConfigVersion: e.ConfigVersion, StartedAt: e.StartedAt, FinishedAt: e.FinishedAt, Steps: e.Steps, Logs: e.Logs, Change: e.Change}
	for b.Loop() {
		if _, err := packDetail(d); err != nil {
			b.Fatal(err)
		}
	}
}
