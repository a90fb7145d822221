package apmc

import "errors"

// StatusBlocked is the status of an execution whose contact Mailchimp will
// not take (in compliance state after an unsubscribe, a bounce or a review;
// permanently deleted): not a failure, never retried, never dead-lettered.
// Only the person can change it, by signing up again.
const StatusBlocked Status = "blocked"

// blocker is implemented by adapters' errors that refuse a contact for
// what it is; Blocked returns the system's reason.
type blocker interface{ Blocked() string }

// BlockedReason returns the reason err, or an error it wraps, gives for
// refusing the contact, and whether it is such a refusal.
func BlockedReason(err error) (string, bool) {
	var b blocker
	if errors.As(err, &b) {
		if r := b.Blocked(); r != "" {
			return r, true
		}
	}
	return "", false
}

func isBlocked(err error) bool {
	_, ok := BlockedReason(err)
	return ok
}
