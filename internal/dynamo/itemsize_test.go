package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/local"
)

// TestItemSizesOfSyncedChanges runs whole-User deliveries through the local
// stack (new contacts, then a change to each) and sizes every execution and
// contact item as DynamoDB bills a write: 1 write unit per KB started. The
// executions that most changes cost — a changed contact's and its echo's —
// must each fit one write unit. The sizes are logged (BENCHMARKS.md,
// section 5: go test -count=1 -run TestItemSizesOfSyncedChanges -v ./internal/dynamo).
func TestItemSizesOfSyncedChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local stack")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := local.Start(ctx, local.Config{Prefix: "itemsize"})
	if err != nil {
		t.Fatalf("local.Start() error = %v", err)
	}
	t.Cleanup(s.Close)

	const n = 20
	ids := make([]string, n)
	for i := range n {
		id, err := s.Accessplanit.CreateUserInUI(map[string]any{
			"Forenames": "Ada", "Surname": fmt.Sprintf("Lovelace %02d", i), "Email": fmt.Sprintf("ada.%02d@example.com", i),
			"Phone": "+44 20 7946 0000", "MarketingOptIn": true, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID,
		})
		if err != nil {
			t.Fatalf("CreateUserInUI() error = %v", err)
		}
		ids[i] = id
	}
	waitStatus(t, s, apmc.StatusSucceeded, n)
	waitStatus(t, s, apmc.StatusSuppressed, n)
	for _, id := range ids {
		if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Forenames": "Augusta Ada"}); err != nil {
			t.Fatalf("EditUserInUI() error = %v", err)
		}
	}
	waitStatus(t, s, apmc.StatusSucceeded, 2*n)
	waitStatus(t, s, apmc.StatusSuppressed, 2*n)

	ddb := dynamodb.NewFromConfig(awsconfig.Local(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(s.Info.AWS.Endpoint) })
	sizes := map[string][]int{}
	for _, raw := range scan(t, ddb, s.Info.AWS.ExecutionsTable) {
		e, err := s.Executions.Execution(ctx, s.Info.InstanceID, str(raw, dynamo.AttrExecutionID))
		if err != nil {
			t.Fatalf("Execution() error = %v", err)
		}
		kind := string(e.Flow) + " " + string(e.Status)
		if e.Status == apmc.StatusSucceeded {
			kind += " " + string(e.Event)
		}
		sizes[kind] = append(sizes[kind], dynamo.ItemSize(raw))
		index := map[string]types.AttributeValue{}
		for _, a := range append([]string{dynamo.AttrInstanceID, dynamo.AttrExecutionID, dynamo.AttrContactKey}, dynamo.ExecutionIndexAttributes...) {
			if v, ok := raw[a]; ok {
				index[a] = v
			}
		}
		sizes["by_contact entry"] = append(sizes["by_contact entry"], dynamo.ItemSize(index))
	}
	for _, raw := range scan(t, ddb, s.Info.AWS.ContactsTable) {
		if strings.HasPrefix(str(raw, dynamo.AttrInstanceID), "budget#") {
			continue
		}
		sizes["contact"] = append(sizes["contact"], dynamo.ItemSize(raw))
	}
	for kind, ss := range sizes {
		lo, hi := ss[0], ss[0]
		for _, v := range ss {
			lo, hi = min(lo, v), max(hi, v)
		}
		t.Logf("%-45s %3d items: %d–%d B", kind, len(ss), lo, hi)
	}
	for _, kind := range []string{
		string(apmc.FlowToMailchimp) + " " + string(apmc.StatusSucceeded) + " " + string(apmc.EventUpdated),
		string(apmc.FlowToAccessplanit) + " " + string(apmc.StatusSuppressed),
	} {
		if len(sizes[kind]) == 0 {
			t.Errorf("no %s execution stored", kind)
		}
		for _, v := range sizes[kind] {
			if v > 1024 {
				t.Errorf("%s execution = %d B, want at most 1,024 (one write unit)", kind, v)
			}
		}
	}
}

// waitStatus waits until the demo instance has at least n executions of status.
func waitStatus(t *testing.T, s *local.Stack, status apmc.Status, n int) {
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

func scan(t *testing.T, ddb *dynamodb.Client, table string) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		items = append(items, out.Items...)
	}
	return items
}

func str(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
