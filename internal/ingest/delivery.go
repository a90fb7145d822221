package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// deliveryID identifies a delivery by its content: the SHA-256 of the
// instance, the method and the raw body. It becomes the change's ID, and
// through it the queue's deduplication id, so only a byte-identical
// delivery (a sender's retry) is dropped as a duplicate. An id taken from
// the delivery's fields instead (a delivery id, a user id and a time) would
// let a forged delivery sent first make the genuine one, with other
// content, look like its duplicate.
func deliveryID(instanceID, method string, body []byte) string {
	h := sha256.New()
	// The instance id and method cannot hold a newline (they come from the
	// URL path and the request line), so the fields cannot run into each other.
	h.Write([]byte(instanceID + "\n" + strings.ToUpper(method) + "\n"))
	h.Write(body)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
