package dynamo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// ExecutionStore keeps the execution history of every instance.
type ExecutionStore struct {
	client *dynamodb.Client
	table  string
	now    func() time.Time
}

var _ apmc.Executions = (*ExecutionStore)(nil)

// NewExecutionStore returns a store over the executions table.
func NewExecutionStore(client *dynamodb.Client, table string) *ExecutionStore {
	return &ExecutionStore{client: client, table: table, now: time.Now}
}

// executionItem is an execution as stored: in plain attributes the keys,
// the partition keys of the indexes and what the indexes project and the
// queries filter on (ExecutionIndexAttributes); everything else in one
// compressed binary attribute, detail, which keeps most executions under
// DynamoDB's 1 KB write unit. contact_key is left out when the contact is
// unknown, so such executions stay out of the by_contact index.
type executionItem struct {
	InstanceID  string      `json:"instance_id"`
	ExecutionID string      `json:"execution_id"`
	Flow        apmc.Flow   `json:"flow"`
	Origin      apmc.Origin `json:"origin"`
	Status      apmc.Status `json:"status"`
	Changed     bool        `json:"changed"`
	Detail      []byte      `json:"detail,omitempty"`
	ExpiresAt   int64       `json:"expires_at,omitempty"`
	ContactKey  string      `json:"contact_key,omitempty"`
	StatusKey   string      `json:"status_key,omitempty"`
}

func toExecutionItem(e apmc.Execution) (executionItem, error) {
	detail, err := packDetail(executionDetail{
		ChangeID: e.ChangeID, Event: e.Event, Attempt: e.Attempt, OriginalID: e.OriginalID, Contact: e.Contact,
		Reason: e.Reason, Error: e.Error, Retryable: e.Retryable, ConfigVersion: e.ConfigVersion,
		StartedAt: e.StartedAt, FinishedAt: e.FinishedAt, Steps: e.Steps, Logs: e.Logs, Change: e.Change,
	})
	if err != nil {
		return executionItem{}, err
	}
	it := executionItem{
		InstanceID: e.InstanceID, ExecutionID: e.ID, Flow: e.Flow, Origin: e.Origin, Status: e.Status,
		Changed: e.Changed, Detail: detail, ExpiresAt: expiresAt(e.ExpiresAt),
	}
	if slices.Contains(IndexedStatuses, e.Status) {
		it.StatusKey = compositeKey(e.InstanceID, string(e.Status))
	}
	if c := apmc.NormaliseEmail(e.Contact); c != "" {
		it.ContactKey = compositeKey(e.InstanceID, c)
	}
	return it, nil
}

// execution is the stored execution, its detail d.
func (it executionItem) execution(d executionDetail) apmc.Execution {
	e := apmc.Execution{
		ID: it.ExecutionID, InstanceID: it.InstanceID, ChangeID: d.ChangeID, Flow: it.Flow, Event: d.Event,
		Origin: it.Origin, Attempt: d.Attempt, OriginalID: d.OriginalID, Status: it.Status, Changed: it.Changed,
		Contact: d.Contact, Reason: d.Reason, Error: d.Error, Retryable: d.Retryable,
		ConfigVersion: d.ConfigVersion, StartedAt: d.StartedAt, FinishedAt: d.FinishedAt,
		Steps: d.Steps, Logs: d.Logs, Change: d.Change,
	}
	if it.ExpiresAt > 0 {
		e.ExpiresAt = time.Unix(it.ExpiresAt, 0).UTC()
	}
	return e
}

// SaveExecution stores e, replacing a previous save of the same execution.
// A record too large for one DynamoDB item is trimmed (step outputs first,
// then logs) and says so in a warning log line.
func (s *ExecutionStore) SaveExecution(ctx context.Context, e apmc.Execution) error {
	if e.InstanceID == "" || e.ID == "" {
		return apmc.Invalidf("save execution: instance id and execution id are required")
	}
	item, err := fitExecution(e)
	if err != nil {
		return fmt.Errorf("save execution %s of instance %s: %w", e.ID, e.InstanceID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	if err != nil {
		return fmt.Errorf("save execution %s of instance %s: %w", e.ID, e.InstanceID, err)
	}
	return nil
}

// Execution returns one execution; unknown or expired wraps apmc.ErrNotFound.
func (s *ExecutionStore) Execution(ctx context.Context, instanceID, id string) (apmc.Execution, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			AttrInstanceID:  &types.AttributeValueMemberS{Value: instanceID},
			AttrExecutionID: &types.AttributeValueMemberS{Value: id},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return apmc.Execution{}, fmt.Errorf("get execution %s of instance %s: %w", id, instanceID, err)
	}
	if len(out.Item) == 0 || expired(out.Item, s.now()) {
		return apmc.Execution{}, fmt.Errorf("execution %s of instance %s: %w", id, instanceID, apmc.ErrNotFound)
	}
	return decodeExecution(out.Item)
}

// decodeExecution decodes an execution item, or an index entry of one
// (which has no detail).
func decodeExecution(raw map[string]types.AttributeValue) (apmc.Execution, error) {
	var it executionItem
	if err := unmarshalItem(raw, &it); err != nil {
		return apmc.Execution{}, fmt.Errorf("decode execution item: %w", err)
	}
	if len(it.Detail) > 0 {
		d, err := unpackDetail(it.Detail)
		if err != nil {
			return apmc.Execution{}, fmt.Errorf("decode execution %s: %w", it.ExecutionID, err)
		}
		return it.execution(d), nil
	}
	// Written before detail existed (or an index entry): the detail's
	// fields, if any, are plain attributes of the same names.
	var d executionDetail
	if err := unmarshalItem(raw, &d); err != nil {
		return apmc.Execution{}, fmt.Errorf("decode execution item: %w", err)
	}
	return it.execution(d), nil
}

// CountExecutions returns how many of an instance's executions match q (its
// Cursor is ignored). DynamoDB counts them (Select COUNT), so no item is
// read back. A positive q.Limit caps the count: counting stops once it
// reaches Limit (the answer is then Limit, meaning "at least"), and no
// request evaluates more items than are still to count, so a capped count
// through an index (no filter) costs about one request however many
// executions match; one through a filter (a status CountedByIndex does not
// serve, a flow, a contact) reads until the count or the range ends, so
// bounded callers count those with TallyStatuses. 0 counts all.
func (s *ExecutionStore) CountExecutions(ctx context.Context, instanceID string, q apmc.ExecutionQuery) (int, error) {
	if instanceID == "" {
		return 0, apmc.Invalidf("count executions: instance id is required")
	}
	in, _, ok, err := s.queryInput(instanceID, q)
	if err != nil {
		return 0, fmt.Errorf("count executions of instance %s: %w", instanceID, err)
	}
	if !ok {
		return 0, nil
	}
	in.Select = types.SelectCount
	n := 0
	for {
		if q.Limit > 0 {
			in.Limit = aws.Int32(int32(min(q.Limit-n, math.MaxInt32)))
		}
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("count executions of instance %s: %w", instanceID, err)
		}
		n += int(out.Count)
		if q.Limit > 0 && n >= q.Limit {
			return q.Limit, nil
		}
		if len(out.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// TallyStatuses reads the statuses and start times of an instance's
// executions started at or after from, at most max of them, newest first:
// one pass for every status, where counting each one through a filter
// would read the same items once per status.
func (s *ExecutionStore) TallyStatuses(ctx context.Context, instanceID string, from time.Time, max int) (apmc.ExecutionTally, error) {
	t := apmc.ExecutionTally{Counts: map[apmc.Status]int{}, Newest: map[apmc.Status]time.Time{}}
	if instanceID == "" {
		return t, apmc.Invalidf("tally executions: instance id is required")
	}
	if max <= 0 {
		return t, apmc.Invalidf("tally executions: a positive maximum is required")
	}
	in, _, ok, err := s.queryInput(instanceID, apmc.ExecutionQuery{From: from})
	if err != nil {
		return t, fmt.Errorf("tally executions of instance %s: %w", instanceID, err)
	}
	if !ok {
		t.Complete = true
		return t, nil
	}
	in.ScanIndexForward = aws.Bool(false)
	// The status, and the start time: in the compressed detail, or a
	// plain attribute of an item written before it existed.
	in.ProjectionExpression = aws.String("#tally_id, #tally_status, #tally_detail, #tally_started")
	in.ExpressionAttributeNames["#tally_id"] = AttrExecutionID
	in.ExpressionAttributeNames["#tally_status"] = "status"
	in.ExpressionAttributeNames["#tally_detail"] = "detail"
	in.ExpressionAttributeNames["#tally_started"] = "started_at"
	read := 0
	for {
		in.Limit = aws.Int32(int32(min(max-read, math.MaxInt32)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return t, fmt.Errorf("tally executions of instance %s: %w", instanceID, err)
		}
		read += int(out.ScannedCount)
		for _, item := range out.Items {
			row, err := decodeExecution(item)
			if err != nil {
				return t, fmt.Errorf("tally executions of instance %s: %w", instanceID, err)
			}
			t.Counts[row.Status]++
			if row.StartedAt.After(t.Newest[row.Status]) {
				t.Newest[row.Status] = row.StartedAt
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			t.Complete = true
			return t, nil
		}
		if read >= max {
			return t, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// CountedByIndex reports whether CountExecutions counts a status through an
// index (exactly, up to its limit) rather than through a filter.
func (s *ExecutionStore) CountedByIndex(st apmc.Status) bool {
	return slices.Contains(IndexedStatuses, st)
}
