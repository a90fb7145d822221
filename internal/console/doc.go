// Package console is the operators' web console: server-rendered HTML pages
// over the operations in package ops (instance summaries, pause and resume,
// executions with the API's filters, execution detail with replay, a
// contact's timeline and bulk replays of failures).
//
// It is a plain http.Handler mounted under /console. An operator signs in
// with the operator token and gets an expiring session cookie; every form
// that changes something carries a per-session CSRF token. Both are signed
// with a key derived from Config.SessionKey (in AWS a MAC only KMS can
// compute) and the token's hash: no key can be computed from the hash
// alone, yet changing the token ends every session. Signing out revokes the
// session in the process that served it, and failed sign-ins are limited
// per client address. Pages are rendered with html/template, so every value
// from an execution or a contact is escaped, and a strict
// Content-Security-Policy forbids scripts outright.
package console
