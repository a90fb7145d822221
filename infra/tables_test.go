package infra

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/google/go-cmp/cmp"
)

// tableShape is what the code in internal/dynamo relies on, written so a
// mismatch reads plainly.
type tableShape struct {
	BillingMode string
	Attributes  []string // "name type", sorted
	Key         []string // "name KEYTYPE", in order
	Indexes     []string // "index: key, key; projection", sorted
	TTL         string
	PITR        bool
	SSE         bool
}

func shapeOf(tbl *dynamodb.Table) tableShape {
	var s tableShape
	if tbl.BillingMode != nil {
		s.BillingMode = *tbl.BillingMode
	}
	for _, a := range tbl.AttributeDefinitions {
		s.Attributes = append(s.Attributes, a.AttributeName+" "+a.AttributeType)
	}
	sort.Strings(s.Attributes)
	s.Key = keyOf(tbl.KeySchema)
	for _, g := range tbl.GlobalSecondaryIndexes {
		projection := "<none>"
		if g.Projection != nil && g.Projection.ProjectionType != nil {
			projection = *g.Projection.ProjectionType
			if len(g.Projection.NonKeyAttributes) > 0 {
				projection += " " + strings.Join(g.Projection.NonKeyAttributes, ", ")
			}
		}
		s.Indexes = append(s.Indexes, fmt.Sprintf("%s: %s; %s", g.IndexName, strings.Join(keyOf(g.KeySchema), ", "), projection))
	}
	sort.Strings(s.Indexes)
	if ttl := tbl.TimeToLiveSpecification; ttl != nil && ttl.AttributeName != nil {
		s.TTL = fmt.Sprintf("%s enabled=%t", *ttl.AttributeName, ttl.Enabled)
	}
	if p := tbl.PointInTimeRecoverySpecification; p != nil && p.PointInTimeRecoveryEnabled != nil {
		s.PITR = *p.PointInTimeRecoveryEnabled
	}
	if tbl.SSESpecification != nil {
		s.SSE = tbl.SSESpecification.SSEEnabled
	}
	return s
}

func keyOf(schema []dynamodb.Table_KeySchema) []string {
	var key []string
	for _, k := range schema {
		key = append(key, k.AttributeName+" "+k.KeyType)
	}
	return key
}

func TestTables(t *testing.T) {
	s := mustLoadStack(t)
	const ttl = "expires_at enabled=true"
	tests := []struct {
		id   string
		want tableShape
	}{
		{"InstancesTable", tableShape{
			BillingMode: "PAY_PER_REQUEST",
			Attributes:  []string{"instance_id S"},
			Key:         []string{"instance_id HASH"},
			TTL:         ttl, PITR: true, SSE: true,
		}},
		{"ExecutionsTable", tableShape{
			BillingMode: "PAY_PER_REQUEST",
			Attributes:  []string{"contact_key S", "execution_id S", "instance_id S", "status_key S"},
			Key:         []string{"instance_id HASH", "execution_id RANGE"},
			Indexes: []string{
				"by_contact: contact_key HASH, execution_id RANGE; INCLUDE status, flow, origin, changed, expires_at",
				"by_status: status_key HASH, execution_id RANGE; INCLUDE status, flow, origin, changed, expires_at",
			},
			TTL: ttl, PITR: true, SSE: true,
		}},
		{"ContactsTable", tableShape{
			BillingMode: "PAY_PER_REQUEST",
			Attributes:  []string{"email S", "instance_id S", "user_key S"},
			Key:         []string{"instance_id HASH", "email RANGE"},
			Indexes:     []string{"by_user: user_key HASH; KEYS_ONLY"},
			TTL:         ttl, PITR: true, SSE: true,
		}},
	}
	for _, tt := range tests {
		tbl, err := s.typed.GetDynamoDBTableWithName(tt.id)
		if err != nil {
			t.Errorf("%s: %v", tt.id, err)
			continue
		}
		if diff := cmp.Diff(tt.want, shapeOf(tbl)); diff != "" {
			t.Errorf("%s shape mismatch (-want +got):\n%s", tt.id, diff)
		}
		if tbl.TableName != nil {
			// A fixed name would stop two stacks sharing an account and
			// block replacements; the functions get names from the env.
			t.Errorf("%s TableName = %q, want none (CloudFormation names it)", tt.id, *tbl.TableName)
		}
	}
}
