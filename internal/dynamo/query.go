package dynamo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// maxQueryRequests bounds the DynamoDB requests one page may cost when
// filters discard most items; the page then ends early with a cursor.
const maxQueryRequests = 20

// filteredReadSize is how many executions one request reads at least when
// filters decide which of them a page keeps.
const filteredReadSize = 200

// executionPlan says where a query is served from.
type executionPlan struct {
	index  string // "" for the table
	pkName string
	pkVal  string
}

// planExecutions picks the narrowest key for q: contact, then status, then
// flow, else the whole instance. The remaining criteria become filters.
func planExecutions(instanceID string, q apmc.ExecutionQuery) (executionPlan, []expression.ConditionBuilder) {
	var p executionPlan
	var filters []expression.ConditionBuilder
	status := func() {
		if q.Status != "" {
			filters = append(filters, expression.Name("status").Equal(expression.Value(string(q.Status))))
		}
	}
	flow := func() {
		if q.Flow != "" {
			filters = append(filters, expression.Name("flow").Equal(expression.Value(string(q.Flow))))
		}
	}
	switch {
	case q.Contact != "":
		p = executionPlan{IndexByContact, AttrContactKey, compositeKey(instanceID, apmc.NormaliseEmail(q.Contact))}
		status()
		flow()
	case slices.Contains(IndexedStatuses, q.Status):
		p = executionPlan{IndexByStatus, AttrStatusKey, compositeKey(instanceID, string(q.Status))}
		flow()
	default:
		p = executionPlan{"", AttrInstanceID, instanceID}
		status()
		flow()
	}
	if q.OriginalOnly {
		filters = append(filters, expression.Name("origin").In(
			expression.Value(string(apmc.OriginWebhook)), expression.Value(string(apmc.OriginBackfill)),
			expression.Value(string(apmc.OriginReconcile))))
	}
	if q.ChangedOnly {
		filters = append(filters, expression.Name("changed").Equal(expression.Value(true)))
	}
	return p, filters
}

// startKey is the ExclusiveStartKey resuming after executionID.
func (p executionPlan) startKey(instanceID, executionID string) map[string]types.AttributeValue {
	k := map[string]types.AttributeValue{
		AttrInstanceID:  &types.AttributeValueMemberS{Value: instanceID},
		AttrExecutionID: &types.AttributeValueMemberS{Value: executionID},
	}
	if p.index != "" {
		k[p.pkName] = &types.AttributeValueMemberS{Value: p.pkVal}
	}
	return k
}

// idRange turns [from, to) into inclusive execution id bounds ("" for
// unbounded); ok is false when the range is empty.
func idRange(from, to time.Time) (lo, hi string, ok bool) {
	var loMS, hiMS uint64 = 0, ulid.MaxTime()
	if !from.IsZero() {
		loMS = clampMS(from.UnixMilli())
		lo = idAt(loMS, 0x00)
	}
	if !to.IsZero() {
		ms := to.UnixMilli()
		if to.Sub(time.UnixMilli(ms)) > 0 {
			ms++ // a sub-millisecond bound still admits its millisecond
		}
		if ms <= 0 {
			return "", "", false
		}
		hiMS = clampMS(ms - 1)
		hi = idAt(hiMS, 0xFF)
	}
	return lo, hi, loMS <= hiMS
}

func clampMS(ms int64) uint64 {
	switch {
	case ms < 0:
		return 0
	case uint64(ms) > ulid.MaxTime():
		return ulid.MaxTime()
	}
	return uint64(ms)
}

// idAt is the smallest (fill 0x00) or largest (fill 0xFF) ULID of a millisecond.
func idAt(ms uint64, fill byte) string {
	var id ulid.ULID
	_ = id.SetTime(ms) // ms is clamped to the valid range
	for i := 6; i < len(id); i++ {
		id[i] = fill
	}
	return id.String()
}

// Executions returns a page of an instance's executions matching q, newest
// first (oldest first with q.OldestFirst), and the cursor of the next page ("" when there is none). A page
// holds q.PageSize() executions whenever that many more match.
func (s *ExecutionStore) Executions(ctx context.Context, instanceID string, q apmc.ExecutionQuery) ([]apmc.Execution, string, error) {
	page, cursor, index, err := s.executionsPage(ctx, instanceID, q)
	if err != nil || !index {
		return page, cursor, err
	}
	whole, err := s.whole(ctx, instanceID, page)
	if err != nil {
		return nil, "", fmt.Errorf("list executions of instance %s: %w", instanceID, err)
	}
	return whole, cursor, nil
}

// executionsPage reads one page of executions from the table or the index
// that serves q; index reports that it was an index, whose items hold only
// the keys and ExecutionIndexAttributes.
func (s *ExecutionStore) executionsPage(ctx context.Context, instanceID string, q apmc.ExecutionQuery) (page []apmc.Execution, cursor string, index bool, err error) {
	if instanceID == "" {
		return nil, "", false, apmc.Invalidf("list executions: instance id is required")
	}
	after, err := decodeCursor(q.Cursor, instanceID)
	if err != nil {
		return nil, "", false, fmt.Errorf("list executions of instance %s: %w", instanceID, err)
	}
	in, plan, ok, err := s.queryInput(instanceID, q)
	if err != nil {
		return nil, "", false, fmt.Errorf("list executions of instance %s: %w", instanceID, err)
	}
	if !ok {
		return nil, "", false, nil
	}
	size := q.PageSize()
	in.ScanIndexForward = aws.Bool(q.OldestFirst)
	in.Limit = aws.Int32(int32(size))
	if _, filters := planExecutions(instanceID, q); len(filters) > 0 {
		// Filters discard some of what a request reads: read more at a time
		// (the cursor is the last execution returned, not the last read).
		in.Limit = aws.Int32(int32(max(size, filteredReadSize)))
	}
	if after != "" {
		in.ExclusiveStartKey = plan.startKey(instanceID, after)
	}

	for range maxQueryRequests {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, "", false, fmt.Errorf("list executions of instance %s: %w", instanceID, err)
		}
		for i, raw := range out.Items {
			e, err := decodeExecution(raw)
			if err != nil {
				return nil, "", false, fmt.Errorf("list executions of instance %s: %w", instanceID, err)
			}
			page = append(page, e)
			if len(page) == size {
				if i == len(out.Items)-1 && len(out.LastEvaluatedKey) == 0 {
					return page, "", plan.index != "", nil
				}
				return page, encodeCursor(instanceID, e.ID), plan.index != "", nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return page, "", plan.index != "", nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	// Filters discarded most of what was read: end the page early, resuming
	// where the reading stopped.
	last, ok := in.ExclusiveStartKey[AttrExecutionID].(*types.AttributeValueMemberS)
	if !ok {
		return nil, "", false, fmt.Errorf("list executions of instance %s: last evaluated key has no %s", instanceID, AttrExecutionID)
	}
	return page, encodeCursor(instanceID, last.Value), plan.index != "", nil
}

// whole reads the executions of a page read through an index from the
// table, in the page's order, leaving out any deleted since.
func (s *ExecutionStore) whole(ctx context.Context, instanceID string, page []apmc.Execution) ([]apmc.Execution, error) {
	byID := make(map[string]apmc.Execution, len(page))
	for start := 0; start < len(page); start += maxBatchGet {
		chunk := page[start:min(start+maxBatchGet, len(page))]
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, e := range chunk {
			keys[i] = map[string]types.AttributeValue{
				AttrInstanceID:  &types.AttributeValueMemberS{Value: instanceID},
				AttrExecutionID: &types.AttributeValueMemberS{Value: e.ID},
			}
		}
		request := map[string]types.KeysAndAttributes{s.table: {Keys: keys}}
		for attempt := 0; len(request[s.table].Keys) > 0; attempt++ {
			if attempt == batchAttempts {
				return nil, fmt.Errorf("read %d executions: keys still unprocessed after %d batch requests", len(chunk), batchAttempts)
			}
			if attempt > 0 {
				if err := sleepCtx(ctx, batchPause<<(attempt-1)); err != nil {
					return nil, fmt.Errorf("read %d executions: %w", len(chunk), err)
				}
			}
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
			if err != nil {
				return nil, fmt.Errorf("read %d executions: %w", len(chunk), err)
			}
			for _, raw := range out.Responses[s.table] {
				e, err := decodeExecution(raw)
				if err != nil {
					return nil, err
				}
				byID[e.ID] = e
			}
			request = out.UnprocessedKeys
		}
	}
	out := make([]apmc.Execution, 0, len(page))
	for _, e := range page {
		if w, ok := byID[e.ID]; ok {
			out = append(out, w)
		}
	}
	return out, nil
}

// queryInput builds the query for an instance's executions matching q: the
// table or index that serves it, the key condition (including the time
// range) and the remaining filters. ok is false when the range is empty.
func (s *ExecutionStore) queryInput(instanceID string, q apmc.ExecutionQuery) (*dynamodb.QueryInput, executionPlan, bool, error) {
	lo, hi, ok := idRange(q.From, q.To)
	if !ok {
		return nil, executionPlan{}, false, nil
	}
	plan, filters := planExecutions(instanceID, q)
	keyCond := expression.Key(plan.pkName).Equal(expression.Value(plan.pkVal))
	id := expression.Key(AttrExecutionID)
	switch {
	case lo != "" && hi != "":
		keyCond = keyCond.And(id.Between(expression.Value(lo), expression.Value(hi)))
	case lo != "":
		keyCond = keyCond.And(id.GreaterThanEqual(expression.Value(lo)))
	case hi != "":
		keyCond = keyCond.And(id.LessThanEqual(expression.Value(hi)))
	}
	filter := notExpired(s.now())
	if len(filters) > 0 {
		filter = expression.And(filter, filters[0], filters[1:]...)
	}
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).WithFilter(filter).Build()
	if err != nil {
		return nil, executionPlan{}, false, fmt.Errorf("build query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if plan.index != "" {
		in.IndexName = aws.String(plan.index)
	}
	return in, plan, true, nil
}
