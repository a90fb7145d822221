// Package ingest holds the webhook endpoints of both systems as plain
// net/http handlers. An endpoint authenticates the delivery, turns it into a
// change and answers 2xx only once the change is on the queue; it calls
// neither system's API, so it answers well inside Mailchimp's 10 s limit.
// The same handlers serve the Lambda functions (adapted at the edge) and the
// local stack.
package ingest
