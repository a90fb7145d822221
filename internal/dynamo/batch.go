package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// DynamoDB's limits on one batch request.
const (
	maxBatchWrite = 25
	maxBatchGet   = 100
	// batchAttempts bounds the requests that retry a batch's unprocessed
	// items (DynamoDB hands them back when a partition is busy).
	batchAttempts = 5
	batchPause    = 20 * time.Millisecond
)

var (
	_ apmc.ExecutionBatch = (*ExecutionStore)(nil)
	_ apmc.ContactBatch   = (*ContactStore)(nil)
)

// SaveExecutions stores executions with BatchWriteItem, 25 a request,
// trying the items DynamoDB leaves unprocessed again; it returns, at each
// execution's index, nil or why it was not stored. A request DynamoDB
// refuses as a whole is retried one execution at a time (PutItem), so one
// bad record cannot fail the others, and so are the items still
// unprocessed after batchAttempts requests.
func (s *ExecutionStore) SaveExecutions(ctx context.Context, es []apmc.Execution) []error {
	errs := make([]error, len(es))
	for start := 0; start < len(es); start += maxBatchWrite {
		end := min(start+maxBatchWrite, len(es))
		s.saveChunk(ctx, es[start:end], errs[start:end])
	}
	return errs
}

// saveChunk stores at most maxBatchWrite executions, setting errs.
func (s *ExecutionStore) saveChunk(ctx context.Context, es []apmc.Execution, errs []error) {
	pending := map[string]int{} // execution key → index
	var requests []types.WriteRequest
	for i, e := range es {
		if e.InstanceID == "" || e.ID == "" {
			errs[i] = apmc.Invalidf("save execution: instance id and execution id are required")
			continue
		}
		k := e.InstanceID + "|" + e.ID
		if _, dup := pending[k]; dup {
			errs[i] = s.SaveExecution(ctx, e) // one item per key a request
			continue
		}
		item, err := fitExecution(e)
		if err != nil {
			errs[i] = fmt.Errorf("save execution %s of instance %s: %w", e.ID, e.InstanceID, err)
			continue
		}
		pending[k] = i
		requests = append(requests, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	for attempt := 0; len(requests) > 0; attempt++ {
		if attempt == batchAttempts {
			// A partition busy for all that time: each item is put on its
			// own, with the client's own retries of a throttled request,
			// before it is given up.
			for _, r := range requests {
				i := pending[itemKey(r.PutRequest.Item)]
				if err := s.SaveExecution(ctx, es[i]); err != nil {
					errs[i] = fmt.Errorf("still unprocessed after %d batch requests, then: %w", batchAttempts, err)
				}
			}
			return
		}
		if attempt > 0 && sleepCtx(ctx, batchPause<<(attempt-1)) != nil {
			attempt = batchAttempts - 1
			continue
		}
		out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: requests}})
		if err != nil {
			for _, r := range requests {
				i := pending[itemKey(r.PutRequest.Item)]
				errs[i] = s.SaveExecution(ctx, es[i])
			}
			return
		}
		requests = out.UnprocessedItems[s.table]
	}
}

// itemKey names an execution item by its keys.
func itemKey(item map[string]types.AttributeValue) string {
	id, _ := item[AttrInstanceID].(*types.AttributeValueMemberS)
	ex, _ := item[AttrExecutionID].(*types.AttributeValueMemberS)
	if id == nil || ex == nil {
		return ""
	}
	return id.Value + "|" + ex.Value
}

// ContactsByKey returns the stored states of the keys that have one, read
// strongly consistent with BatchGetItem (100 keys a request), trying the
// keys DynamoDB leaves unprocessed again.
func (s *ContactStore) ContactsByKey(ctx context.Context, keys []apmc.ContactKey) (map[apmc.ContactKey]apmc.Contact, error) {
	out := make(map[apmc.ContactKey]apmc.Contact, len(keys))
	seen := map[apmc.ContactKey]bool{}
	var unique []apmc.ContactKey
	for _, k := range keys {
		k.Email = apmc.NormaliseEmail(k.Email)
		if k.InstanceID != "" && k.Email != "" && !seen[k] {
			seen[k] = true
			unique = append(unique, k)
		}
	}
	now := s.now()
	for start := 0; start < len(unique); start += maxBatchGet {
		chunk := unique[start:min(start+maxBatchGet, len(unique))]
		ks := make([]map[string]types.AttributeValue, len(chunk))
		for i, k := range chunk {
			ks[i] = contactKey(k.InstanceID, k.Email)
		}
		request := map[string]types.KeysAndAttributes{s.table: {Keys: ks, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(request) > 0 && len(request[s.table].Keys) > 0; attempt++ {
			if attempt == batchAttempts {
				return nil, fmt.Errorf("get %d contacts: keys still unprocessed after %d batch requests", len(chunk), batchAttempts)
			}
			if attempt > 0 {
				if err := sleepCtx(ctx, batchPause<<(attempt-1)); err != nil {
					return nil, fmt.Errorf("get %d contacts: %w", len(chunk), err)
				}
			}
			res, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
			if err != nil {
				return nil, fmt.Errorf("get %d contacts: %w", len(chunk), err)
			}
			for _, raw := range res.Responses[s.table] {
				if expired(raw, now) {
					continue
				}
				var it contactItem
				if err := unmarshalItem(raw, &it); err != nil {
					return nil, fmt.Errorf("get contacts: decode item: %w", err)
				}
				c := it.contact()
				out[apmc.ContactKey{InstanceID: c.InstanceID, Email: c.Email}] = c
			}
			request = res.UnprocessedKeys
		}
	}
	return out, nil
}
