package dynamo

import "github.com/apmc-sync/apmc/internal/apmc"

// Attribute names used as keys, index keys or TTL by the three tables. The
// deployment template must declare exactly these.
const (
	// AttrInstanceID is the partition key of every table.
	AttrInstanceID = "instance_id"
	// AttrExecutionID is the executions table's sort key: a ULID, so newer
	// executions sort after older ones.
	AttrExecutionID = "execution_id"
	// AttrEmail is the contacts table's sort key: the lower-cased email.
	AttrEmail = "email"
	// AttrExpiresAt is the TTL attribute of every table, in epoch seconds.
	AttrExpiresAt = "expires_at"

	// AttrContactKey is instance_id + "#" + lower-cased contact email.
	AttrContactKey = "contact_key"
	// AttrStatusKey is instance_id + "#" + execution status, set only for
	// the statuses IndexedStatuses names.
	AttrStatusKey = "status_key"
	// AttrUserKey is instance_id + "#" + accessplanit User ID.
	AttrUserKey = "user_key"
)

// ExecutionIndexAttributes are the attributes the executions table's
// indexes project besides the keys: those the queries filter on. A page read
// through an index is then read whole from the table (BatchGetItem), so an
// execution's steps, logs and change are written once, not once per index.
var ExecutionIndexAttributes = []string{"status", "flow", "origin", "changed", AttrExpiresAt}

// IndexedStatuses are the statuses the by_status index holds: the few an
// operator looks for among many (failures, contacts Mailchimp will not
// take, held changes, skipped ones).
// Succeeded and suppressed executions, most of them, are listed from the
// table with a filter instead, so they cost no index write; so are the
// executions of one flow (half of them), which have no index.
var IndexedStatuses = []apmc.Status{apmc.StatusFailed, apmc.StatusBlocked, apmc.StatusHeld, apmc.StatusSkipped}

// Global secondary index names. The executions table's indexes project
// ExecutionIndexAttributes; by_user projects the keys only, as a contact is
// then read from the table (and an index write is made only when a
// contact's User changes).
const (
	// IndexByContact serves one contact's execution timeline.
	IndexByContact = "by_contact"
	// IndexByStatus serves executions with one of the IndexedStatuses.
	IndexByStatus = "by_status"
	// IndexByUser finds a contact by its accessplanit User ID.
	IndexByUser = "by_user"
)

// Tables names the three tables.
type Tables struct {
	Instances  string // instance configuration and sealed secrets
	Executions string // execution history
	Contacts   string // contact sync state
}

// compositeKey joins an instance id with a value for an index partition key.
func compositeKey(instanceID, value string) string { return instanceID + "#" + value }
