// Package mailchimp talks to Mailchimp: a client for the parts of the
// Marketing API v3 the service uses (members, lists, merge fields, groups,
// marketing permissions, webhook registration), the one classification of
// the contacts Mailchimp will not take (BlockedError), parsing of
// Mailchimp's form-encoded webhook deliveries into domain changes, and
// verification of signed deliveries.
//
// The facts it relies on are in shared/contracts/mailchimp; the ones nobody
// confirmed (the time zone of fired_at, how ADDRESS arrives in a webhook) are
// noted where they are used.
package mailchimp
