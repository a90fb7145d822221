package dynamo

import (
	"context"
	"errors"
	"fmt"

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
)

// HealthAttributes are the only attributes SaveHealth and
// RecordNotification name in their requests. The sync function's IAM role
// may update these and no other (a dynamodb:Attributes condition in
// template.yaml), so it can keep an instance's health but never change its
// configuration or secrets.
func HealthAttributes() []string {
	return []string{AttrInstanceID, attrHealth, attrHealthVersion, attrHealthNotification}
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
// first, it returns the stored health and an error wrapping
// apmc.ErrConflict, so the caller can decide again without another read.
// The last notification is not written (RecordNotification writes it).
func (s *InstanceStore) SaveHealth(ctx context.Context, id string, read int, next apmc.Health) (apmc.Health, error) {
	next.LastNotification = nil
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
	in := s.updateInput(id, expr)
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	_, err = s.client.UpdateItem(ctx, in)
	if conditionFailed(err) {
		stored := apmc.Health{}
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) && len(ccf.Item) > 0 {
			var it instanceItem
			if unmarshalItem(ccf.Item, &it) == nil {
				stored = it.health()
			}
		} else if it, gerr := s.get(ctx, id); gerr == nil {
			// Servers that do not return the item on a failed condition.
			stored = it.health()
		}
		return stored, fmt.Errorf("save health of instance %s: version %d was read, another writer changed it: %w", id, read, apmc.ErrConflict)
	}
	if err != nil {
		return apmc.Health{}, fmt.Errorf("save health of instance %s: %w", id, err)
	}
	return next, nil
}

// health returns the stored health, its last notification included.
func (it instanceItem) health() apmc.Health {
	var h apmc.Health
	if it.Health != nil {
		h = *it.Health
	}
	h.Version = it.HealthVersion
	h.LastNotification = it.HealthNotification
	return h
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

// updateInput is the UpdateItem request of expr on the instance's item.
func (s *InstanceStore) updateInput(id string, expr expression.Expression) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       map[string]types.AttributeValue{AttrInstanceID: &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
}
