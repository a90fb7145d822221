package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// attrMailchimpAccountID is the instance's Mailchimp account (the
// instanceItem field of that name).
const attrMailchimpAccountID = "mailchimp_account_id"

// MailchimpAccountAttributes are the only attributes RecordMailchimpAccount
// names in its request. The sync function's IAM role may update these (and
// HealthAttributes) and no other, so learning an instance's account never
// lets it change the instance's configuration or secrets.
func MailchimpAccountAttributes() []string {
	return []string{AttrInstanceID, attrMailchimpAccountID}
}

// RecordMailchimpAccount stores the Mailchimp account an instance's API key
// belongs to, when the instance has none stored (one configured before the
// account was read); an instance that has one, or no longer exists, is left
// as it is. The configuration version does not change: the account only
// names the instance's share of Mailchimp's limit.
func (s *InstanceStore) RecordMailchimpAccount(ctx context.Context, instanceID, accountID string) error {
	cond := expression.AttributeExists(expression.Name(AttrInstanceID)).
		And(expression.AttributeNotExists(expression.Name(attrMailchimpAccountID)))
	expr, err := expression.NewBuilder().WithCondition(cond).
		WithUpdate(expression.Set(expression.Name(attrMailchimpAccountID), expression.Value(accountID))).Build()
	if err != nil {
		return fmt.Errorf("record Mailchimp account of instance %s: build update: %w", instanceID, err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       map[string]types.AttributeValue{AttrInstanceID: &types.AttributeValueMemberS{Value: instanceID}},
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueNone,
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("record Mailchimp account of instance %s: %w", instanceID, err)
	}
	return nil
}
