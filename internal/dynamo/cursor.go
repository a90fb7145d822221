package dynamo

import (
	"encoding/base64"
	"encoding/json"

	"github.com/oklog/ulid/v2"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// cursorKey is the last evaluated key of a page of executions. Index keys
// are left out: each index's partition key follows from the query and its
// sort key is the execution id, so they are rebuilt on the next request.
type cursorKey struct {
	InstanceID  string `json:"instance_id"`
	ExecutionID string `json:"execution_id"`
}

// encodeCursor returns the opaque cursor that resumes after executionID.
func encodeCursor(instanceID, executionID string) string {
	b, _ := json.Marshal(cursorKey{InstanceID: instanceID, ExecutionID: executionID}) // cannot fail: two strings
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the execution id a cursor resumes after ("" for no
// cursor). A cursor that was not made by encodeCursor for this instance is
// an error satisfying apmc.IsInvalid.
func decodeCursor(cursor, instanceID string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", apmc.Invalidf("cursor is not valid: not base64")
	}
	var k cursorKey
	if err := json.Unmarshal(b, &k); err != nil {
		return "", apmc.Invalidf("cursor is not valid: not a key")
	}
	if k.InstanceID != instanceID {
		return "", apmc.Invalidf("cursor is not valid: it belongs to another instance")
	}
	if _, err := ulid.ParseStrict(k.ExecutionID); err != nil {
		return "", apmc.Invalidf("cursor is not valid: %q is not an execution id", k.ExecutionID)
	}
	return k.ExecutionID, nil
}
