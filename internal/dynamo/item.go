package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Items are encoded with the json tag names, so the domain's nested types
// (mappings, side states, steps, logs) keep their documented snake_case
// attribute names without a second set of tags.
const tagKey = "json"

func marshalItem(v any) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) { o.TagKey = tagKey })
}

func unmarshalItem(m map[string]types.AttributeValue, v any) error {
	return attributevalue.UnmarshalMapWithOptions(m, v, func(o *attributevalue.DecoderOptions) { o.TagKey = tagKey })
}

// expiresAt converts a retention deadline to the TTL attribute's epoch
// seconds; zero means "never expires" and leaves the attribute unset.
func expiresAt(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// expired reports whether an item's TTL has passed. DynamoDB deletes such
// items only eventually, so every read treats them as absent.
func expired(item map[string]types.AttributeValue, now time.Time) bool {
	n, ok := item[AttrExpiresAt].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	secs, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil || secs <= 0 {
		return false
	}
	return secs <= now.Unix()
}

// notExpired is the filter expression equivalent of !expired.
func notExpired(now time.Time) expression.ConditionBuilder {
	return expression.Or(
		expression.AttributeNotExists(expression.Name(AttrExpiresAt)),
		expression.Name(AttrExpiresAt).GreaterThan(expression.Value(now.Unix())),
	)
}

// absent is the condition that no live item is stored under the key: none
// at all, or only one whose TTL has passed and that DynamoDB has yet to delete.
func absent(now time.Time) expression.ConditionBuilder {
	return expression.Or(
		expression.AttributeNotExists(expression.Name(AttrInstanceID)),
		expression.Name(AttrExpiresAt).LessThanEqual(expression.Value(now.Unix())),
	)
}

// getProjected reads the item at key in table, only attrs (a projection,
// which the functions' IAM conditions on dynamodb:Attributes require),
// strongly consistent when consistent. A missing item is an empty map.
func getProjected(ctx context.Context, client *dynamodb.Client, table string, key map[string]types.AttributeValue, attrs []string, consistent bool) (map[string]types.AttributeValue, error) {
	expr, err := expression.NewBuilder().WithProjection(projection(attrs)).Build()
	if err != nil {
		return nil, fmt.Errorf("build projection: %w", err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(consistent),
		ProjectionExpression: expr.Projection(), ExpressionAttributeNames: expr.Names(),
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// instanceKey is an instance item's key.
func instanceKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrInstanceID: &types.AttributeValueMemberS{Value: id}}
}
