package dynamo

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/reconcile"
)

// requestNames returns the key's attribute names and those an expression
// names: what DynamoDB's dynamodb:Attributes condition key sees, as the
// store always names attributes through placeholders.
func requestNames(key map[string]types.AttributeValue, names map[string]string) []string {
	var out []string
	for k := range key {
		out = append(out, k)
	}
	for _, n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestFollowingFirstSyncsNamesOnlyTheirAttributes holds what the executions
// function does in the contacts table — read the job, the plans and the
// last reconciliation, and ask the job to cancel — to what its role allows:
// reads that project FirstSyncReadAttributes only, and one UpdateItem naming
// CancelJobAttributes only and returning nothing. Contact states are never
// read nor written.
func TestFollowingFirstSyncsNamesOnlyTheirAttributes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		owner := NewContactStore(b.client, tables.Contacts)
		now := time.Now().UTC().Truncate(time.Second)
		plan := backfill.Plan{ID: "p1", InstanceID: "inst-1", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
			Counts: map[apmc.PairAction]int{}, Contacts: make([]apmc.PairPlan, 1)}
		if err := owner.SavePlan(ctx, plan); err != nil {
			t.Fatalf("SavePlan() error = %v", err)
		}
		if err := owner.StartJob(ctx, backfill.Job{InstanceID: "inst-1", PlanID: "p1", RunID: "run-a", Total: 1}); err != nil {
			t.Fatalf("StartJob() error = %v", err)
		}
		run := reconcile.Run{ID: reconcile.ScheduledRunID("inst-1", now), InstanceID: "inst-1", StartedAt: now, EndedAt: now.Add(time.Second)}
		if err := owner.SaveRun(ctx, run); err != nil {
			t.Fatalf("SaveRun() error = %v", err)
		}

		var rec recorder
		store := NewContactStore(rec.client(b.client), tables.Contacts)
		if j, err := store.Job(ctx, "inst-1"); err != nil || j.RunID != "run-a" || j.Status != backfill.JobRunning || j.Total != 1 {
			t.Errorf("Job() = %+v, %v; want run-a running of 1", j, err)
		}
		if ps, err := store.Plans(ctx, "inst-1"); err != nil || len(ps) != 1 || ps[0].ID != "p1" {
			t.Errorf("Plans() = %+v, %v; want p1", ps, err)
		}
		if p, err := store.Plan(ctx, "inst-1", "p1"); err != nil || len(p.Contacts) != 1 {
			t.Errorf("Plan(p1) = %+v, %v; want its one contact", p, err)
		}
		if r, err := store.LastRun(ctx, "inst-1"); err != nil || r.ID != run.ID {
			t.Errorf("LastRun() = %+v, %v; want %s", r, err, run.ID)
		}
		if err := store.CancelJob(ctx, "inst-1"); err != nil {
			t.Errorf("CancelJob() error = %v", err)
		}
		if j, err := owner.Job(ctx, "inst-1"); err != nil || !j.CancelRequested {
			t.Errorf("Job() after CancelJob = %+v, %v; want a cancel request", j, err)
		}

		reads, updates := FirstSyncReadAttributes(), CancelJobAttributes()
		outside := func(names, allowed []string) []string {
			return slices.DeleteFunc(slices.Clone(names), func(a string) bool { return slices.Contains(allowed, a) })
		}
		for _, s := range rec.sent {
			switch in := s.input.(type) {
			case *dynamodb.GetItemInput:
				if in.ProjectionExpression == nil {
					t.Errorf("GetItem without a projection, want only %v", reads)
				} else if extra := outside(requestNames(in.Key, in.ExpressionAttributeNames), reads); len(extra) > 0 {
					t.Errorf("GetItem names %v, want only %v", extra, reads)
				}
			case *dynamodb.QueryInput:
				if in.ProjectionExpression == nil || (in.Select != "" && in.Select != types.SelectSpecificAttributes) {
					t.Errorf("Query without a projection, want only %v", reads)
				} else if extra := outside(requestNames(nil, in.ExpressionAttributeNames), reads); len(extra) > 0 {
					t.Errorf("Query names %v, want only %v", extra, reads)
				}
			case *dynamodb.UpdateItemInput:
				if extra := outside(attributes(in), updates); len(extra) > 0 {
					t.Errorf("UpdateItem names %v, want only %v", extra, updates)
				}
				if in.ReturnValues != types.ReturnValueNone {
					t.Errorf("UpdateItem ReturnValues = %q, want NONE", in.ReturnValues)
				}
			default:
				t.Errorf("sent %s, want only GetItem, Query and UpdateItem", s.op)
			}
		}
	})
}
