package dynamo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Attribute names of an instance's health.
const (
	attrHealth             = "health"
	attrHealthVersion      = "health_version"
	attrHealthNotification = "health_notification"
	// attrDeadLettered and attrDeadLetterAt count the instance's dead
	// letters outside the versioned health: each one adds to them
	// atomically, however many functions record dead letters at once.
	attrDeadLettered = "health_dead_lettered"
	attrDeadLetterAt = "health_dead_letter_at"
	// attrLastSuccessAt is when the instance's last successful sync
	// started, to the second, kept outside the versioned health too:
	// RecordSuccess only ever moves it forward.
	attrLastSuccessAt = "health_last_success_at"
)

// HealthAttributes are the only attributes SaveHealth, CountDeadLetter and
// RecordNotification name in their requests. The sync function's IAM role
// may update these and no other (a dynamodb:Attributes condition in
// template.yaml), so it can keep an instance's health but never change its
// configuration or secrets.
func HealthAttributes() []string {
	return []string{AttrInstanceID, attrHealth, attrHealthVersion, attrHealthNotification, attrDeadLettered, attrDeadLetterAt, attrLastSuccessAt}
}

// healthIs is the condition that the stored health is still at version v
// (0: none stored). The version is a top-level attribute, so the condition
// names no nested attribute.
func healthIs(v int) expression.ConditionBuilder {
	if v == 0 {
		return expression.AttributeNotExists(expression.Name(attrHealthVersion))
	}
	return expression.Name(attrHealthVersion).Equal(expression.Value(v))
}

// SaveHealth stores next as the instance's health if the stored health is
// still at version read (0: none stored). When another writer got there
// first, it returns the stored health (one read of the health attributes)
// and an error wrapping apmc.ErrConflict. The last notification and the
// dead-letter count are not written (RecordNotification and
// CountDeadLetter write them). The request asks for nothing back: the sync
// role may only update with ReturnValues NONE.
func (s *InstanceStore) SaveHealth(ctx context.Context, id string, read int, next apmc.Health) (apmc.Health, error) {
	next.LastNotification = nil
	next.DeadLettered, next.LastDeadLetterAt = 0, time.Time{}
	av, err := marshalItem(struct {
		H apmc.Health `json:"h"`
	}{next})
	if err != nil {
		return apmc.Health{}, fmt.Errorf("save health of instance %s: encode: %w", id, err)
	}
	update := expression.Set(expression.Name(attrHealth), expression.Value(av["h"])).
		Set(expression.Name(attrHealthVersion), expression.Value(next.Version))
	cond := expression.AttributeExists(expression.Name(AttrInstanceID)).And(healthIs(read))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return apmc.Health{}, fmt.Errorf("save health of instance %s: build update: %w", id, err)
	}
	_, err = s.client.UpdateItem(ctx, s.updateInput(id, expr))
	if conditionFailed(err) {
		_, stored, gerr := s.StoredHealth(ctx, id)
		if gerr != nil {
			return apmc.Health{}, fmt.Errorf("save health of instance %s: version %d was read, another writer changed it, and reading it failed: %w", id, read, gerr)
		}
		return stored, fmt.Errorf("save health of instance %s: version %d was read, another writer changed it: %w", id, read, apmc.ErrConflict)
	}
	if err != nil {
		return apmc.Health{}, fmt.Errorf("save health of instance %s: %w", id, err)
	}
	return next, nil
}

// StoredHealth returns the instance's state and health as stored now (a
// consistent read of those attributes only): the tracker reads it before
// announcing a pause or a resume, since its cached instance may be seconds
// old.
func (s *InstanceStore) StoredHealth(ctx context.Context, id string) (apmc.State, apmc.Health, error) {
	attrs := append([]string{"state", AttrExpiresAt}, HealthAttributes()...)
	item, err := getProjected(ctx, s.client, s.table, instanceKey(id), attrs, true)
	if err != nil {
		return "", apmc.Health{}, fmt.Errorf("read health of instance %s: %w", id, err)
	}
	if len(item) == 0 || expired(item, s.now()) {
		return "", apmc.Health{}, fmt.Errorf("read health of instance %s: %w", id, apmc.ErrNotFound)
	}
	var it instanceItem
	if err := unmarshalItem(item, &it); err != nil {
		return "", apmc.Health{}, fmt.Errorf("read health of instance %s: decode item: %w", id, err)
	}
	return it.State, it.health(), nil
}

// CountDeadLetter adds one to the instance's dead-lettered count and
// stamps when, with an atomic ADD under no version: dead letters recorded
// at once by many functions are each counted.
func (s *InstanceStore) CountDeadLetter(ctx context.Context, id string, at time.Time) error {
	update := expression.Add(expression.Name(attrDeadLettered), expression.Value(1)).
		Set(expression.Name(attrDeadLetterAt), expression.Value(at.UTC()))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(expression.AttributeExists(expression.Name(AttrInstanceID))).Build()
	if err != nil {
		return fmt.Errorf("count a dead letter of instance %s: build update: %w", id, err)
	}
	in := s.updateInput(id, expr)
	// The builder puts each clause on its own line; DynamoDB reads any
	// whitespace between clauses, kumo (the tests' server) only spaces.
	// The expression holds placeholders only, so joining is safe.
	in.UpdateExpression = aws.String(strings.Join(strings.Fields(*expr.Update()), " "))
	if _, err := s.client.UpdateItem(ctx, in); err != nil {
		return fmt.Errorf("count a dead letter of instance %s: %w", id, err)
	}
	return nil
}

// RecordSuccess stores at, to the second, as when the instance's last
// successful sync started, unless a later one is stored: many functions
// record successes at once, in any order. The time is kept whole seconds
// in UTC, so its stored form (RFC 3339, fixed width) orders as it does.
func (s *InstanceStore) RecordSuccess(ctx context.Context, id string, at time.Time) error {
	at = at.UTC().Truncate(time.Second)
	name := expression.Name(attrLastSuccessAt)
	update := expression.Set(name, expression.Value(at))
	cond := expression.AttributeExists(expression.Name(AttrInstanceID)).
		And(expression.AttributeNotExists(name).Or(name.LessThan(expression.Value(at))))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("record a success of instance %s: build update: %w", id, err)
	}
	_, err = s.client.UpdateItem(ctx, s.updateInput(id, expr))
	if conditionFailed(err) {
		return nil // a later success is stored, or the instance is gone
	}
	if err != nil {
		return fmt.Errorf("record a success of instance %s: %w", id, err)
	}
	return nil
}

// LastSuccess returns when the instance's last successful sync started,
// as RecordSuccess stored it (one read of that attribute); zero when none
// is stored.
func (s *InstanceStore) LastSuccess(ctx context.Context, id string) (time.Time, error) {
	item, err := getProjected(ctx, s.client, s.table, instanceKey(id), []string{attrLastSuccessAt}, false)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the last success of instance %s: %w", id, err)
	}
	var it struct {
		At *time.Time `json:"health_last_success_at,omitempty"`
	}
	if err := unmarshalItem(item, &it); err != nil {
		return time.Time{}, fmt.Errorf("read the last success of instance %s: decode: %w", id, err)
	}
	if it.At == nil {
		return time.Time{}, nil
	}
	return it.At.UTC(), nil
}

// health returns the stored health, its last notification and dead-letter
// count included.
func (it instanceItem) health() apmc.Health {
	var h apmc.Health
	if it.Health != nil {
		h = *it.Health
	}
	h.Version = it.HealthVersion
	h.LastNotification = it.HealthNotification
	h.DeadLettered = it.HealthDeadLettered
	if it.HealthDeadLetterAt != nil {
		h.LastDeadLetterAt = *it.HealthDeadLetterAt
	}
	return h
}

// healthUnchanged is the condition that none of the item's health
// attributes changed since it was read as it: its version, its dead-letter
// count, its last success and its last notification. A write of the whole item (a
// configuration change) carries them over under this condition, so it
// never loses one written meanwhile.
func healthUnchanged(it instanceItem) expression.ConditionBuilder {
	cond := healthIs(it.HealthVersion)
	if it.HealthDeadLettered == 0 {
		cond = cond.And(expression.AttributeNotExists(expression.Name(attrDeadLettered)))
	} else {
		cond = cond.And(expression.Name(attrDeadLettered).Equal(expression.Value(it.HealthDeadLettered)))
	}
	if it.HealthLastSuccessAt == nil {
		cond = cond.And(expression.AttributeNotExists(expression.Name(attrLastSuccessAt)))
	} else {
		cond = cond.And(expression.Name(attrLastSuccessAt).Equal(expression.Value(*it.HealthLastSuccessAt)))
	}
	if it.HealthNotification == nil {
		cond = cond.And(expression.AttributeNotExists(expression.Name(attrHealthNotification)))
	} else {
		cond = cond.And(expression.Name(attrHealthNotification + ".at").Equal(expression.Value(it.HealthNotification.At)))
	}
	return cond
}

// RecordNotification stores the instance's last notification.
func (s *InstanceStore) RecordNotification(ctx context.Context, id string, n apmc.Notification) error {
	av, err := marshalItem(struct {
		N apmc.Notification `json:"n"`
	}{n})
	if err != nil {
		return fmt.Errorf("record notification of instance %s: encode: %w", id, err)
	}
	update := expression.Set(expression.Name(attrHealthNotification), expression.Value(av["n"]))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(expression.AttributeExists(expression.Name(AttrInstanceID))).Build()
	if err != nil {
		return fmt.Errorf("record notification of instance %s: build update: %w", id, err)
	}
	if _, err := s.client.UpdateItem(ctx, s.updateInput(id, expr)); err != nil {
		return fmt.Errorf("record notification of instance %s: %w", id, err)
	}
	return nil
}

// updateInput is the UpdateItem request of expr on the instance's item. It
// asks for nothing back (ReturnValues NONE, and no item on a failed
// condition), as the sync role's IAM condition requires.
func (s *InstanceStore) updateInput(id string, expr expression.Expression) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       map[string]types.AttributeValue{AttrInstanceID: &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueNone,
	}
}
