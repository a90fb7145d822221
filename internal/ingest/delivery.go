package ingest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
)

// deliveryID identifies a delivery. It becomes the change's ID, and through
// it the queue's deduplication id, so two deliveries with one id within the
// queue's 5-minute deduplication interval are queued once.
//
// A delivery that identifies one change, because it carries the record's
// change time (accessplanit's DateUpdated, see carriesChangeTime; Mailchimp's
// fired_at, which every Mailchimp delivery has), is identified by its
// content: the SHA-256 of the instance, the method and the raw body, so only
// a byte-identical delivery (a sender's retry) is dropped as a duplicate. An
// id taken from the delivery's fields instead (a delivery id, a user id and a
// time) would let a forged delivery sent first make the genuine one, with
// other content, look like its duplicate.
//
// A delivery without a change time (accessplanit's {"ID":"1001~2"} for a
// delegate, or {"ID":1042} for a User) says only which record may have
// changed: two genuine changes of one record minutes apart give the same
// bytes, and the second must not be dropped, or the contact keeps the state
// read for the first. Its hash also covers a value drawn at random for the
// delivery received, so every such delivery is queued; a sender's retry of
// one is applied twice, which writes nothing the second time (the sync reads
// the record's state back, and an unchanged contact needs no write).
func deliveryID(instanceID, method string, body []byte, identifiesChange bool) string {
	h := sha256.New()
	// The instance id and method cannot hold a newline (they come from the
	// URL path and the request line), nor can the random value, so the
	// fields cannot run into each other.
	h.Write([]byte(instanceID + "\n" + strings.ToUpper(method) + "\n"))
	if !identifiesChange {
		h.Write([]byte("delivery " + rand.Text() + "\n"))
	}
	h.Write(body)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// carriesChangeTime reports whether an accessplanit delivery's change
// carries the record's DateUpdated as a date-time, which tells two changes
// of one record apart. A date without a time of day (read as midnight UTC)
// does not: two changes on one day would look alike. A change really made
// at midnight UTC is taken for one without a change time, which at worst
// applies a retry of it twice.
func carriesChangeTime(c apmc.Change) bool {
	t := c.OccurredAt.UTC()
	return !t.IsZero() && !t.Equal(t.Truncate(24*time.Hour))
}

// DynamoDB's key limits: a sort key (the contact's email) holds at most
// 1,024 bytes, a partition key (an index's instance#email or
// instance#user id) at most 2,048.
const (
	maxSortKeyBytes      = 1024
	maxPartitionKeyBytes = 2048
)

// checkKeys refuses a change whose email or user id could not be stored
// as a key, or whose user id cannot be an accessplanit User ID (it would
// have to be quoted in the read that fetches the User): such a change
// would fail at every attempt, so it is refused at once with a 400
// instead of queued.
func checkKeys(c apmc.Change) error {
	for _, f := range []struct{ name, value string }{
		{"email", c.Email}, {"old email", c.OldEmail}, {"new email", c.NewEmail}, {"user id", c.UserID},
	} {
		if f.value == "" {
			continue
		}
		if f.name != "user id" && len(f.value) > maxSortKeyBytes {
			return fmt.Errorf("%w: the %s has %d bytes, at most %d are accepted", errMalformed, f.name, len(f.value), maxSortKeyBytes)
		}
		if n := len(c.InstanceID) + 1 + len(f.value); n > maxPartitionKeyBytes {
			return fmt.Errorf("%w: the %s has %d bytes, at most %d are accepted for this instance", errMalformed, f.name, len(f.value), maxPartitionKeyBytes-1-len(c.InstanceID))
		}
	}
	if c.UserID != "" && !accessplanit.ValidUserID(c.UserID) {
		return fmt.Errorf("%w: the user id %.70q is not an accessplanit User ID (1 to 64 letters, digits, _ or -)", errMalformed, c.UserID)
	}
	return nil
}
