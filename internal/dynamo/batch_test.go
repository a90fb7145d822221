package dynamo

import (
	"context"
	"fmt"
	"testing"
	"time"

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
