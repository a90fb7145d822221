package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/reconcile"
)

// Reconciliations live in the contacts table too, each instance's in a
// partition of their own, RunsPartitionPrefix + the instance id, so the
// reconcile function's role may write there (a dynamodb:LeadingKeys
// condition) and never over a contact. Sort keys: "reconcile:<run id>" for
// each run (time-ordered ids, so the newest sorts last), kept for
// reconcile.RunTTL, and "reconcile-last" for the last successful run, from
// which the next incremental run starts; it does not expire. Runs stored
// before had the instance's own partition: LastSuccess still reads the last
// one there while the new partition holds none.
const RunsPartitionPrefix = "reconcile#"

const (
	reconcilePrefix  = "reconcile:"
	reconcileLastKey = "reconcile-last"
)

var _ reconcile.Runs = (*ContactStore)(nil)

// runsPartition is the partition key of an instance's runs.
func runsPartition(instanceID string) string { return RunsPartitionPrefix + instanceID }

// runFields are a run item's attributes besides its key (runItem).
var runFields = []string{"run", "started_ns", AttrExpiresAt}

// runItem is a reconciliation as stored.
type runItem struct {
	InstanceID string        `json:"instance_id"`
	Key        string        `json:"email"`
	Run        reconcile.Run `json:"run"`
	// StartedNano is the run's start in Unix nanoseconds, on the last
	// successful run's item: a number, for the condition that keeps it
	// the latest.
	StartedNano int64 `json:"started_ns,omitempty"`
	ExpiresAt   int64 `json:"expires_at,omitempty"`
}

// SaveRun stores the run; a successful one also becomes the last
// successful run.
func (s *ContactStore) SaveRun(ctx context.Context, r reconcile.Run) error {
	it := runItem{InstanceID: runsPartition(r.InstanceID), Key: reconcilePrefix + r.ID, Run: r, ExpiresAt: r.StartedAt.Add(reconcile.RunTTL).Unix()}
	if err := s.putItem(ctx, it); err != nil {
		return fmt.Errorf("save reconciliation %s: %w", r.ID, err)
	}
	if !r.Succeeded() {
		return nil
	}
	// Only a later run replaces the last one: a retried older run must not
	// move the incremental start back.
	cond := expression.Or(expression.AttributeNotExists(expression.Name("started_ns")),
		expression.Name("started_ns").LessThanEqual(expression.Value(r.StartedAt.UnixNano())))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("save reconciliation %s: build condition: %w", r.ID, err)
	}
	item, err := marshalItem(runItem{InstanceID: runsPartition(r.InstanceID), Key: reconcileLastKey, Run: r, StartedNano: r.StartedAt.UnixNano()})
	if err != nil {
		return fmt.Errorf("save reconciliation %s: encode: %w", r.ID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("save reconciliation %s as the last: %w", r.ID, err)
	}
	return nil
}

// LastRun returns the instance's newest run.
func (s *ContactStore) LastRun(ctx context.Context, instanceID string) (reconcile.Run, error) {
	keyCond := expression.Key(AttrInstanceID).Equal(expression.Value(runsPartition(instanceID))).And(expression.Key(AttrEmail).BeginsWith(reconcilePrefix))
	proj := projection(append([]string{AttrInstanceID, AttrEmail}, runFields...))
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).WithFilter(notExpired(s.now())).WithProjection(proj).Build()
	if err != nil {
		return reconcile.Run{}, fmt.Errorf("last reconciliation: build query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(1), ConsistentRead: aws.Bool(true), ProjectionExpression: expr.Projection(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return reconcile.Run{}, fmt.Errorf("last reconciliation of instance %s: %w", instanceID, err)
		}
		for _, raw := range page.Items {
			var it runItem
			if err := unmarshalItem(raw, &it); err != nil {
				return reconcile.Run{}, fmt.Errorf("last reconciliation of instance %s: decode: %w", instanceID, err)
			}
			return it.Run, nil
		}
	}
	return reconcile.Run{}, fmt.Errorf("reconciliation of instance %s: %w", instanceID, apmc.ErrNotFound)
}

// LastSuccess returns the instance's newest successful run: the one in its
// runs' partition, or else one stored before in its own.
func (s *ContactStore) LastSuccess(ctx context.Context, instanceID string) (reconcile.Run, error) {
	for _, pk := range []string{runsPartition(instanceID), instanceID} {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: contactKey(pk, reconcileLastKey), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return reconcile.Run{}, fmt.Errorf("last successful reconciliation of instance %s: %w", instanceID, err)
		}
		if out.Item == nil {
			continue
		}
		var it runItem
		if err := unmarshalItem(out.Item, &it); err != nil {
			return reconcile.Run{}, fmt.Errorf("last successful reconciliation of instance %s: decode: %w", instanceID, err)
		}
		return it.Run, nil
	}
	return reconcile.Run{}, fmt.Errorf("successful reconciliation of instance %s: %w", instanceID, apmc.ErrNotFound)
}
