package dynamo

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// TestSaveExecutions records more executions than one BatchWriteItem takes:
// each valid one is stored, an invalid one fails alone.
func TestSaveExecutions(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		store := NewExecutionStore(b.client, newTables(t, b.client).Executions)
		at := time.Now().UTC().Truncate(time.Millisecond)
		var es []apmc.Execution
		for i := range 30 {
			e := sampleExecution("acme", at.Add(time.Duration(i)*time.Millisecond))
			e.Contact = fmt.Sprintf("p%d@example.com", i)
			es = append(es, e)
		}
		es[7].ID = "" // refused: no id
		errs := store.SaveExecutions(ctx, es)
		if len(errs) != len(es) {
			t.Fatalf("SaveExecutions() returned %d errors, want one per execution (%d)", len(errs), len(es))
		}
		for i, e := range es {
			switch {
			case i == 7:
				if errs[i] == nil {
					t.Errorf("SaveExecutions() error for the execution without id = nil, want one")
				}
			case errs[i] != nil:
				t.Errorf("SaveExecutions() error for %d = %v, want nil", i, errs[i])
			default:
				got, err := store.Execution(ctx, "acme", e.ID)
				if err != nil || got.Contact != e.Contact || got.Status != e.Status {
					t.Errorf("Execution(%s) = %+v, %v; want the saved one", e.ID, got, err)
				}
			}
		}
	})
}

// TestContactsByKey loads stored states together; a key without one is
// left out, and emails are matched lower-cased.
func TestContactsByKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		store := NewContactStore(b.client, newTables(t, b.client).Contacts)
		for _, c := range []apmc.Contact{
			{InstanceID: "acme", Email: "ada@example.com", UserID: "1"},
			{InstanceID: "acme", Email: "alan@example.com", UserID: "2"},
			{InstanceID: "other", Email: "ada@example.com", UserID: "9"},
		} {
			if err := store.SaveContact(ctx, c); err != nil {
				t.Fatalf("SaveContact() error = %v", err)
			}
		}
		got, err := store.ContactsByKey(ctx, []apmc.ContactKey{
			{InstanceID: "acme", Email: "Ada@Example.com"}, {InstanceID: "acme", Email: "alan@example.com"},
			{InstanceID: "acme", Email: "nobody@example.com"}, {InstanceID: "other", Email: "ada@example.com"},
		})
		if err != nil {
			t.Fatalf("ContactsByKey() error = %v", err)
		}
		want := map[apmc.ContactKey]string{
			{InstanceID: "acme", Email: "ada@example.com"}: "1", {InstanceID: "acme", Email: "alan@example.com"}: "2",
			{InstanceID: "other", Email: "ada@example.com"}: "9",
		}
		if len(got) != len(want) {
			t.Errorf("ContactsByKey() = %d states, want %d", len(got), len(want))
		}
		for k, user := range want {
			if c, ok := got[k]; !ok || c.UserID != user || c.Version != 1 {
				t.Errorf("ContactsByKey()[%v] = %+v, want user %s at version 1", k, c, user)
			}
		}
	})
}

// throttled returns a client like c whose BatchWriteItem requests never
// reach the server and come back with every item unprocessed, as from a
// partition throttled throughout; it counts them. Other requests reach the
// server.
func throttled(c *dynamodb.Client, batches *atomic.Int64) *dynamodb.Client {
	return dynamodb.New(c.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("throttle", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if req, ok := in.Parameters.(*dynamodb.BatchWriteItemInput); ok {
					batches.Add(1)
					return middleware.InitializeOutput{Result: &dynamodb.BatchWriteItemOutput{UnprocessedItems: req.RequestItems}}, middleware.Metadata{}, nil
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
		})
	})
}

// TestSaveExecutionsThrottled saves executions while DynamoDB leaves every
// item of each batch request unprocessed: after its batch requests, each
// execution is put on its own, and stored.
func TestSaveExecutionsThrottled(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		var batches atomic.Int64
		tables := newTables(t, b.client)
		store := NewExecutionStore(throttled(b.client, &batches), tables.Executions)
		at := time.Now().UTC().Truncate(time.Millisecond)
		var es []apmc.Execution
		for i := range 3 {
			e := sampleExecution("acme", at.Add(time.Duration(i)*time.Millisecond))
			e.Contact = fmt.Sprintf("p%d@example.com", i)
			es = append(es, e)
		}
		for i, err := range store.SaveExecutions(ctx, es) {
			if err != nil {
				t.Errorf("SaveExecutions() error for %d = %v, want nil", i, err)
			}
		}
		if n := batches.Load(); n != batchAttempts {
			t.Errorf("BatchWriteItem requests = %d, want %d before the fallback", n, batchAttempts)
		}
		for _, e := range es {
			if got, err := store.Execution(ctx, "acme", e.ID); err != nil || got.Contact != e.Contact {
				t.Errorf("Execution(%s) = contact %q, error %v; want the saved one, for %s", e.ID, got.Contact, err, e.Contact)
			}
		}
	})
}
