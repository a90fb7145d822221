package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
)

// First-sync plans and jobs live in the contacts table, in the instance's
// partition, under sort keys that cannot be emails (no "@"): "plan:<id>"
// for a plan's summary, "plan:<id>:<n>" for its contacts (gzipped JSON,
// 1,000 a part, well under DynamoDB's 400 KB item limit), "job:backfill"
// for the instance's one first-sync job. Contact reads skip them.
const (
	planPrefix    = "plan:"
	jobKey        = "job:backfill"
	contactsAPart = 1000
)

// jobFields are the job record's attributes a run writes (updateJob): all
// of backfill.Job's but its cancel request, which only CancelJob sets.
var jobFields = []string{"plan_id", "run_id", "status", "done", "total", "started_at", "updated_at", "result", "error"}

// attrCancelRequested is the job record's cancel request.
const attrCancelRequested = "cancel_requested"

// planFields are a plan item's attributes besides its key (planItem).
var planFields = []string{"plan_id", "created_at", "counts", "shared_emails", "parts", "contacts", AttrExpiresAt}

// jobAttributes are the job record's attributes, its key included.
func jobAttributes() []string {
	return append([]string{AttrInstanceID, AttrEmail, attrCancelRequested}, jobFields...)
}

// CancelJobAttributes are the attributes CancelJob names: the job's key,
// its status (the condition) and its cancel request. The executions
// function's role may update these and no other (a dynamodb:Attributes
// condition in template.yaml), so the console and API can ask a first sync
// to stop but never touch a contact's state, its pending writes or a
// budget lease.
func CancelJobAttributes() []string {
	return []string{AttrInstanceID, AttrEmail, "status", attrCancelRequested}
}

// FirstSyncReadAttributes are the attributes the executions function reads
// in the contacts table, each read projecting only its own: the job record,
// the plans and the reconciliations. Its role may read these and no other,
// so the console and API never read a contact's state.
func FirstSyncReadAttributes() []string {
	attrs := slices.Concat(jobAttributes(), planFields, runFields)
	slices.Sort(attrs)
	return slices.Compact(attrs)
}

// projection builds a projection of attrs.
func projection(attrs []string) expression.ProjectionBuilder {
	proj := expression.NamesList(expression.Name(attrs[0]))
	for _, a := range attrs[1:] {
		proj = proj.AddNames(expression.Name(a))
	}
	return proj
}

// isContactKey reports whether a sort key is a contact's email.
func isContactKey(sk string) bool { return strings.Contains(sk, "@") }

// EachContact calls fn with every contact state of the instance, page by
// page.
func (s *ContactStore) EachContact(ctx context.Context, instanceID string, fn func(apmc.Contact) error) error {
	keyCond := expression.Key(AttrInstanceID).Equal(expression.Value(instanceID))
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).WithFilter(notExpired(s.now())).Build()
	if err != nil {
		return fmt.Errorf("contacts of instance %s: build query: %w", instanceID, err)
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("contacts of instance %s: %w", instanceID, err)
		}
		for _, raw := range page.Items {
			if sk, ok := raw[AttrEmail].(*types.AttributeValueMemberS); !ok || !isContactKey(sk.Value) {
				continue
			}
			var it contactItem
			if err := unmarshalItem(raw, &it); err != nil {
				return fmt.Errorf("contacts of instance %s: decode item: %w", instanceID, err)
			}
			if it.Version == 0 {
				continue // an announced write, no state yet
			}
			if err := fn(it.contact()); err != nil {
				return err
			}
		}
	}
	return nil
}

// planItem is a plan's summary, or one part of its contacts.
type planItem struct {
	InstanceID string                  `json:"instance_id"`
	Key        string                  `json:"email"`
	PlanID     string                  `json:"plan_id"`
	CreatedAt  time.Time               `json:"created_at,omitzero"`
	Counts     map[apmc.PairAction]int `json:"counts,omitempty"`
	Shared     int                     `json:"shared_emails,omitempty"`
	Parts      int                     `json:"parts,omitempty"`
	Contacts   []byte                  `json:"contacts,omitempty"` // gzipped JSON
	ExpiresAt  int64                   `json:"expires_at"`
}

// SavePlan stores a plan until it expires.
func (s *ContactStore) SavePlan(ctx context.Context, p backfill.Plan) error {
	parts := slices.Collect(slices.Chunk(p.Contacts, contactsAPart))
	for n, part := range parts {
		blob, err := gzipJSON(part)
		if err != nil {
			return fmt.Errorf("save plan %s: %w", p.ID, err)
		}
		it := planItem{InstanceID: p.InstanceID, Key: fmt.Sprintf("%s%s:%05d", planPrefix, p.ID, n), PlanID: p.ID, Contacts: blob, ExpiresAt: p.ExpiresAt.Unix()}
		if err := s.putItem(ctx, it); err != nil {
			return fmt.Errorf("save plan %s part %d: %w", p.ID, n, err)
		}
	}
	// The summary last: a plan is visible only once it is whole.
	head := planItem{InstanceID: p.InstanceID, Key: planPrefix + p.ID, PlanID: p.ID, CreatedAt: p.CreatedAt, Counts: p.Counts,
		Shared: p.Shared, Parts: len(parts), ExpiresAt: p.ExpiresAt.Unix()}
	if err := s.putItem(ctx, head); err != nil {
		return fmt.Errorf("save plan %s: %w", p.ID, err)
	}
	return nil
}

// Plan returns a stored plan with its contacts; an unknown or expired plan
// wraps apmc.ErrNotFound.
func (s *ContactStore) Plan(ctx context.Context, instanceID, id string) (backfill.Plan, error) {
	if id == "" || strings.Contains(id, ":") {
		return backfill.Plan{}, fmt.Errorf("plan %q: %w", id, apmc.ErrNotFound)
	}
	items, err := s.queryPrefix(ctx, instanceID, planPrefix+id)
	if err != nil {
		return backfill.Plan{}, fmt.Errorf("read plan %s: %w", id, err)
	}
	var head *planItem
	var parts []planItem
	for _, it := range items {
		switch {
		case it.PlanID != id:
		case it.Key == planPrefix+id:
			head = &it
		default:
			parts = append(parts, it)
		}
	}
	if head == nil {
		return backfill.Plan{}, fmt.Errorf("plan %s of instance %s: %w", id, instanceID, apmc.ErrNotFound)
	}
	if len(parts) != head.Parts {
		return backfill.Plan{}, fmt.Errorf("plan %s: %d of %d parts stored", id, len(parts), head.Parts)
	}
	p := head.plan()
	for _, part := range parts {
		var cs []apmc.PairPlan
		if err := gunzipJSON(part.Contacts, &cs); err != nil {
			return backfill.Plan{}, fmt.Errorf("plan %s: decode %s: %w", id, part.Key, err)
		}
		p.Contacts = append(p.Contacts, cs...)
	}
	return p, nil
}

// Plans returns the instance's live plans, newest first, without their
// contacts.
func (s *ContactStore) Plans(ctx context.Context, instanceID string) ([]backfill.Plan, error) {
	items, err := s.queryPrefix(ctx, instanceID, planPrefix)
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	var out []backfill.Plan
	for _, it := range items {
		if it.Key == planPrefix+it.PlanID {
			out = append(out, it.plan())
		}
	}
	slices.SortFunc(out, func(a, b backfill.Plan) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (it planItem) plan() backfill.Plan {
	return backfill.Plan{ID: it.PlanID, InstanceID: it.InstanceID, CreatedAt: it.CreatedAt, ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(),
		Counts: it.Counts, Shared: it.Shared}
}

func (s *ContactStore) putItem(ctx context.Context, v any) error {
	item, err := marshalItem(v)
	if err != nil {
		return fmt.Errorf("encode item: %w", err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return err
}

// queryPrefix reads the live plan items of an instance whose key starts
// with prefix.
func (s *ContactStore) queryPrefix(ctx context.Context, instanceID, prefix string) ([]planItem, error) {
	keyCond := expression.Key(AttrInstanceID).Equal(expression.Value(instanceID)).And(expression.Key(AttrEmail).BeginsWith(prefix))
	proj := projection(append([]string{AttrInstanceID, AttrEmail}, planFields...))
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).WithFilter(notExpired(s.now())).WithProjection(proj).Build()
	if err != nil {
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true),
		ProjectionExpression: expr.Projection(),
	})
	var out []planItem
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, raw := range page.Items {
			var it planItem
			if err := unmarshalItem(raw, &it); err != nil {
				return nil, fmt.Errorf("decode item: %w", err)
			}
			out = append(out, it)
		}
	}
	return out, nil
}

func gzipJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func gunzipJSON(blob []byte, v any) error {
	r, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// jobItem is the instance's first-sync job.
type jobItem struct {
	Key string `json:"email"`
	backfill.Job
}

// StartJob records a new run (j.RunID) of the instance's first-sync job,
// unless another run holds it: a job still running that reported progress
// within backfill.JobLease refuses the start with an error wrapping
// backfill.ErrJobRunning (and so apmc.ErrConflict), whatever its plan.
func (s *ContactStore) StartJob(ctx context.Context, j backfill.Job) error {
	now := s.now().UTC()
	j.Status, j.UpdatedAt, j.CancelRequested = backfill.JobRunning, now, false
	if j.StartedAt.IsZero() {
		j.StartedAt = now
	}
	item, err := marshalItem(jobItem{Key: jobKey, Job: j})
	if err != nil {
		return fmt.Errorf("start job: encode item: %w", err)
	}
	cond := expression.Or(
		expression.AttributeNotExists(expression.Name(AttrInstanceID)),
		expression.Name("status").NotEqual(expression.Value(backfill.JobRunning)),
		expression.Name("updated_at").LessThan(expression.Value(now.Add(-backfill.JobLease).Format(time.RFC3339Nano))),
	)
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("start job: build condition: %w", err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	switch {
	case conditionFailed(err):
		return fmt.Errorf("instance %s: %w", j.InstanceID, backfill.ErrJobRunning)
	case err != nil:
		return fmt.Errorf("start job: %w", err)
	}
	return nil
}

// ContinueJob renews the lease of the running job's run j.RunID, keeping
// its cancel request: a continuation, or a redelivery after a crash. A job
// no longer running under that run returns an error wrapping
// backfill.ErrJobRunning.
func (s *ContactStore) ContinueJob(ctx context.Context, j backfill.Job) error {
	j.Status = backfill.JobRunning
	cond := expression.Name("run_id").Equal(expression.Value(j.RunID)).
		And(expression.Name("status").Equal(expression.Value(backfill.JobRunning)))
	if err := s.updateJob(ctx, j, cond); err != nil {
		return fmt.Errorf("continue job: %w", err)
	}
	return nil
}

// SaveJob stores the progress or end of the job's run j.RunID. It never
// clears a cancel request (it writes every field but that one), and once
// another run holds the job it returns an error wrapping
// backfill.ErrJobRunning instead of overwriting that run's record.
func (s *ContactStore) SaveJob(ctx context.Context, j backfill.Job) error {
	cond := expression.AttributeExists(expression.Name(AttrInstanceID))
	if j.RunID != "" {
		cond = expression.Name("run_id").Equal(expression.Value(j.RunID))
	}
	if err := s.updateJob(ctx, j, cond); err != nil {
		return fmt.Errorf("save job: %w", err)
	}
	return nil
}

// updateJob writes every field of the job but cancel_requested (which
// only CancelJob sets and only a new run clears) under cond.
func (s *ContactStore) updateJob(ctx context.Context, j backfill.Job, cond expression.ConditionBuilder) error {
	j.UpdatedAt = s.now().UTC()
	item, err := marshalItem(jobItem{Key: jobKey, Job: j})
	if err != nil {
		return fmt.Errorf("encode item: %w", err)
	}
	// The update is written out rather than built: SET before REMOVE, the
	// order every DynamoDB implementation parses.
	var set, remove []string
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	for n, name := range jobFields {
		ref := fmt.Sprintf("#j%d", n)
		names[ref] = name
		if v, ok := item[name]; ok {
			values[":j"+ref[2:]] = v
			set = append(set, ref+" = :j"+ref[2:])
		} else {
			remove = append(remove, ref)
		}
	}
	update := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build condition: %w", err)
	}
	maps.Copy(names, expr.Names())
	maps.Copy(values, expr.Values())
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: contactKey(j.InstanceID, jobKey), UpdateExpression: aws.String(update),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	switch {
	case conditionFailed(err):
		return fmt.Errorf("instance %s: %w", j.InstanceID, backfill.ErrJobRunning)
	case err != nil:
		return err
	}
	return nil
}

// Job returns the instance's first-sync job; none wraps apmc.ErrNotFound.
// It reads the job's attributes only (a projection).
func (s *ContactStore) Job(ctx context.Context, instanceID string) (backfill.Job, error) {
	item, err := getProjected(ctx, s.client, s.table, contactKey(instanceID, jobKey), jobAttributes(), true)
	if err != nil {
		return backfill.Job{}, fmt.Errorf("read job: %w", err)
	}
	if len(item) == 0 {
		return backfill.Job{}, fmt.Errorf("first sync of instance %s: %w", instanceID, apmc.ErrNotFound)
	}
	var it jobItem
	if err := unmarshalItem(item, &it); err != nil {
		return backfill.Job{}, fmt.Errorf("read job: decode item: %w", err)
	}
	return it.Job, nil
}

// CancelJob asks the instance's running first sync to stop after its
// current batch; with none running it returns an error wrapping
// apmc.ErrNotFound. It names CancelJobAttributes only and asks for nothing
// back, as the executions function's role requires.
func (s *ContactStore) CancelJob(ctx context.Context, instanceID string) error {
	upd := expression.Set(expression.Name(attrCancelRequested), expression.Value(true))
	cond := expression.Name("status").Equal(expression.Value(backfill.JobRunning))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("cancel job: %w", err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: contactKey(instanceID, jobKey), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValues: types.ReturnValueNone,
	})
	switch {
	case conditionFailed(err):
		return fmt.Errorf("no first sync of instance %s is running: %w", instanceID, apmc.ErrNotFound)
	case err != nil:
		return fmt.Errorf("cancel job: %w", err)
	}
	return nil
}
