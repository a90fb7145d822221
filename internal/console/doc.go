// Package console is the operators' web console: server-rendered HTML pages
// over the operations in package ops (instance summaries, pause and resume,
// executions with the API's filters, execution detail with replay, a
// contact's timeline and bulk replays of failures).
//
// It is a plain http.Handler mounted under /console. An operator signs in
// with the operator token and gets an expiring session cookie signed with
// the console's session key (Config.SessionKey: in AWS a MAC computed by a
// KMS HMAC key; never a key computable from the token's hash alone, though
// changing the token ends every session); every form
// that changes something carries a per-session CSRF token signed with the
// same key. Signing out revokes the session in the process that served it.
// Failed sign-ins are limited per client address. Pages are rendered with
// html/template, so every value from an execution or a contact is escaped,
// and a strict Content-Security-Policy forbids scripts outright.
package console
