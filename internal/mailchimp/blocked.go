package mailchimp

import (
	"net/http"
	"strings"
)

// blockingTitles are the titles of the 400 answers with which Mailchimp
// refuses a contact for what the contact is, not for what was sent: it
// unsubscribed, bounced (cleaned) or was put under compliance review
// ("Member In Compliance State"), or it was permanently deleted
// ("Forgotten Email Not Subscribed"). No retry and no other value changes
// that; only the person can, by signing up again.
var blockingTitles = []string{"Member In Compliance State", "Forgotten Email Not Subscribed"}

// BlockedError is Mailchimp refusing a contact it will not take (see
// blockingTitles). It is permanent, and it says so apart from other
// permanent failures: the engine records such a change as blocked, not
// failed.
type BlockedError struct {
	Err *APIError
}

// Error is Mailchimp's answer as an APIError describes it.
func (e *BlockedError) Error() string { return e.Err.Error() }

// Unwrap gives the APIError to errors.As.
func (e *BlockedError) Unwrap() error { return e.Err }

// Permanent reports that no retry can fix the error: always true.
func (e *BlockedError) Permanent() bool { return true }

// Blocked returns Mailchimp's reason: its title and detail.
func (e *BlockedError) Blocked() string {
	if e.Err.Detail == "" {
		return e.Err.Title
	}
	return e.Err.Title + ": " + e.Err.Detail
}

// classify returns the error a non-2xx answer is: a BlockedError for a
// contact Mailchimp will not take, the APIError otherwise.
func classify(e *APIError) error {
	if e.Status == http.StatusBadRequest {
		for _, t := range blockingTitles {
			if strings.EqualFold(strings.TrimSpace(e.Title), t) {
				return &BlockedError{Err: e}
			}
		}
	}
	return e
}

// blockingMessages are what a batch subscribe says of a member it refuses
// for the same reasons: its errors carry no title, only a message.
var blockingMessages = []string{"compliance state", "permanently deleted"}

// Blocked returns Mailchimp's message when it refused the member as a
// contact it will not take (see blockingTitles), and "" otherwise.
func (e BatchError) Blocked() string {
	msg := strings.ToLower(e.Message)
	for _, m := range blockingMessages {
		if strings.Contains(msg, m) {
			return e.Message
		}
	}
	return ""
}
