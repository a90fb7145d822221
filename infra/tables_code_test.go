package infra

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/dynamo"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

// TestTablesMatchCode holds the template's key schemas and indexes to the
// CreateTable requests the dynamo package uses locally and in tests, so the
// deployed tables are the ones the code was tested against.
func TestTablesMatchCode(t *testing.T) {
	s := mustLoadStack(t)
	names := dynamo.Tables{Instances: "InstancesTable", Executions: "ExecutionsTable", Contacts: "ContactsTable"}
	defs := dynamo.TableDefinitions(names)
	if len(defs) != 3 {
		t.Fatalf("dynamo.TableDefinitions returned %d tables, want 3", len(defs))
	}
	for _, def := range defs {
		id := *def.TableName
		tbl, err := s.typed.GetDynamoDBTableWithName(id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		got := shapeOf(tbl)
		// Only the key-bearing parts are in CreateTable; TTL, PITR and SSE
		// are asserted by TestTables.
		got.TTL, got.PITR, got.SSE = "", false, false
		if diff := cmp.Diff(codeShape(def), got); diff != "" {
			t.Errorf("%s differs from dynamo.TableDefinitions (-code +template):\n%s", id, diff)
		}
	}
}

// codeShape converts a CreateTable request to the shape TestTables compares.
func codeShape(def *awsdynamodb.CreateTableInput) tableShape {
	s := tableShape{BillingMode: string(def.BillingMode)}
	for _, a := range def.AttributeDefinitions {
		s.Attributes = append(s.Attributes, *a.AttributeName+" "+string(a.AttributeType))
	}
	sort.Strings(s.Attributes)
	s.Key = codeKey(def.KeySchema)
	for _, g := range def.GlobalSecondaryIndexes {
		projection := "<none>"
		if g.Projection != nil {
			projection = string(g.Projection.ProjectionType)
			if len(g.Projection.NonKeyAttributes) > 0 {
				projection += " " + strings.Join(g.Projection.NonKeyAttributes, ", ")
			}
		}
		s.Indexes = append(s.Indexes, fmt.Sprintf("%s: %s; %s", *g.IndexName, strings.Join(codeKey(g.KeySchema), ", "), projection))
	}
	sort.Strings(s.Indexes)
	return s
}

func codeKey(schema []types.KeySchemaElement) []string {
	var key []string
	for _, k := range schema {
		key = append(key, *k.AttributeName+" "+string(k.KeyType))
	}
	return key
}
