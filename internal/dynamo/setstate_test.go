package dynamo

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// recorder keeps the operations a DynamoDB client sends, with their
// inputs, and can run a hook before one is sent.
type recorder struct {
	mu     sync.Mutex
	sent   []recorded
	before func(op string) // nil: none
}

type recorded struct {
	op    string
	input any
}

// client returns a client like c whose requests r records.
func (r *recorder) client(c *dynamodb.Client) *dynamodb.Client {
	return dynamodb.New(c.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("record", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := middleware.GetOperationName(ctx)
				r.mu.Lock()
				r.sent = append(r.sent, recorded{op: op, input: in.Parameters})
				hook := r.before
				r.mu.Unlock()
				if hook != nil {
					hook(op)
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	})
}

// attributes returns the top-level attribute names an UpdateItem request
// names, as DynamoDB's dynamodb:Attributes condition key sees them: the
// key's and those of its expressions.
func attributes(in *dynamodb.UpdateItemInput) []string {
	var names []string
	for k := range in.Key {
		names = append(names, k)
	}
	for _, n := range in.ExpressionAttributeNames {
		names = append(names, n)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// plain decodes an item into Go values, for comparing.
func plain(t *testing.T, item map[string]types.AttributeValue) map[string]any {
	t.Helper()
	var m map[string]any
	if err := attributevalue.UnmarshalMap(item, &m); err != nil {
		t.Fatalf("decode item: %v", err)
	}
	return m
}

func rawItem(t *testing.T, c *dynamodb.Client, table, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{AttrInstanceID: &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem(%s) error: %v", id, err)
	}
	return out.Item
}

// TestSetStateUpdatesOnlyState holds SetState to what the executions
// function's role allows: one UpdateItem naming only StateAttributes,
// never a PutItem, and every other stored attribute left as it was.
func TestSetStateUpdatesOnlyState(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		if err := NewInstanceStore(b.client, tables.Instances, sealer).Create(ctx, testInstance("inst-s")); err != nil {
			t.Fatalf("Create error: %v", err)
		}
		var rec recorder
		// The executions function holds no KMS right: no sealer at all.
		store := NewInstanceStore(rec.client(b.client), tables.Instances, nil)
		allowed := StateAttributes()
		slices.Sort(allowed)

		for _, st := range []apmc.State{apmc.StatePaused, apmc.StateEnabled} {
			before := rawItem(t, b.client, tables.Instances, "inst-s")
			rec.sent = nil
			if _, err := store.SetState(ctx, "inst-s", st); err != nil {
				t.Fatalf("SetState(%s) error: %v", st, err)
			}
			updates := 0
			for _, s := range rec.sent {
				switch in := s.input.(type) {
				case *dynamodb.GetItemInput:
				case *dynamodb.UpdateItemInput:
					updates++
					if got := attributes(in); len(slices.DeleteFunc(slices.Clone(got), func(a string) bool { return slices.Contains(allowed, a) })) > 0 {
						t.Errorf("SetState(%s) UpdateItem names attributes %v, want only %v", st, got, allowed)
					}
					if in.ReturnValues != types.ReturnValueNone {
						t.Errorf("SetState(%s) UpdateItem ReturnValues = %q, want NONE", st, in.ReturnValues)
					}
				default:
					t.Errorf("SetState(%s) sent %s, want only GetItem and UpdateItem", st, s.op)
				}
			}
			if updates != 1 {
				t.Errorf("SetState(%s) sent %d UpdateItem, want 1", st, updates)
			}
			after := rawItem(t, b.client, tables.Instances, "inst-s")
			for _, a := range allowed {
				delete(before, a)
				delete(after, a)
			}
			if diff := cmp.Diff(plain(t, before), plain(t, after)); diff != "" {
				t.Errorf("SetState(%s) changed other attributes (-before +after):\n%s", st, diff)
			}
		}
	})
}

// TestSetStateRetriesLostRace: a configuration change stored between
// SetState's read and its update makes the update's condition fail; the
// state change is idempotent, so SetState reads again and stores its state
// on top of the new version, keeping the other writer's change.
func TestSetStateRetriesLostRace(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		operator := NewInstanceStore(b.client, tables.Instances, sealer)
		if err := operator.Create(ctx, testInstance("inst-r")); err != nil {
			t.Fatalf("Create error: %v", err)
		}
		var rec recorder
		raced := false
		rec.before = func(op string) {
			if op != "UpdateItem" || raced {
				return
			}
			raced = true
			in, err := operator.Display(ctx, "inst-r")
			if err != nil {
				t.Errorf("Display error: %v", err)
				return
			}
			in.Name = "Renamed meanwhile"
			if err := operator.Update(ctx, in); err != nil {
				t.Errorf("Update error: %v", err)
			}
		}
		store := NewInstanceStore(rec.client(b.client), tables.Instances, nil)
		got, err := store.SetState(ctx, "inst-r", apmc.StatePaused)
		if err != nil {
			t.Fatalf("SetState(paused) after a lost race error: %v", err)
		}
		if got.State != apmc.StatePaused || got.ConfigVersion != 3 || got.Name != "Renamed meanwhile" {
			t.Errorf("SetState(paused) = state %s version %d name %q, want paused 3 %q", got.State, got.ConfigVersion, got.Name, "Renamed meanwhile")
		}
		stored, err := operator.Instance(ctx, "inst-r")
		if err != nil {
			t.Fatalf("Instance error: %v", err)
		}
		if stored.State != apmc.StatePaused || stored.ConfigVersion != 3 || stored.Name != "Renamed meanwhile" || stored.Secrets != testSecrets {
			t.Errorf("stored = state %s version %d name %q secrets kept %v, want paused 3 %q true", stored.State, stored.ConfigVersion, stored.Name, stored.Secrets == testSecrets, "Renamed meanwhile")
		}
	})
}
