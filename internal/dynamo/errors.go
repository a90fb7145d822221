package dynamo

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// conditionFailed reports whether a write was refused by its condition
// expression: another writer got there first.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && strings.HasSuffix(api.ErrorCode(), "ConditionalCheckFailedException")
}

// unsupported reports whether the server does not implement an optional
// operation, or refuses it because it is already in the asked-for state.
func unsupported(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch code := api.ErrorCode(); {
	case strings.Contains(code, "UnknownOperation"), strings.Contains(code, "NotImplemented"):
		return true
	case strings.Contains(code, "ValidationException"):
		msg := strings.ToLower(api.ErrorMessage())
		return strings.Contains(msg, "already enabled") || strings.Contains(msg, "time to live") || strings.Contains(msg, "timetolive")
	}
	return false
}
