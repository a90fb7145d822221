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

// WrittenMemberBlocked returns why a member a write found (its status in
// the write's answer) cannot be mailed, and whether it is such a member:
// cleaned (its address bounced) or archived. Mailchimp takes the write (the
// merge fields change) but the member keeps its status, as nothing the
// service sends ever re-subscribes anyone; the change ends blocked with
// this reason. An unsubscribed member is not blocked: it exists, stays
// unsubscribed by its own choice, and its fields are kept up to date.
func WrittenMemberBlocked(status string) (string, bool) {
	switch status {
	case "cleaned":
		return "the Mailchimp member is cleaned (its address bounced): its fields were written, but it stays cleaned and receives nothing; only the person can sign up again", true
	case "archived":
		return "the Mailchimp member is archived: its fields were written, but it stays archived and receives nothing until someone unarchives it in Mailchimp", true
	}
	return "", false
}

// StatusFieldValue is what the instance's mailchimp_status_field of a User
// holding current should be set to for a member of memberStatus ("blocked"
// for a contact Mailchimp refused), and whether it is to be written: a
// status that stops mail (blocked, unsubscribed, cleaned, archived) when
// the User does not hold it yet, and "subscribed" once the member is
// subscribed again over a status the field still holds. A User whose field
// was never written is not written for a subscribed member, so an ordinary
// change costs no accessplanit call.
func StatusFieldValue(current, memberStatus string) (string, bool) {
	switch memberStatus {
	case string(StatusBlocked), "unsubscribed", "cleaned", "archived":
		return memberStatus, current != memberStatus
	case "subscribed":
		return memberStatus, current != "" && current != memberStatus
	}
	return "", false
}
