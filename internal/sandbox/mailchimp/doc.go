// Package mailchimp is a faithful, in-process simulator of the parts of the
// Mailchimp Marketing API v3 this project uses: audiences, members, member
// tags, merge fields, groups (interest categories and interests), GDPR
// marketing permissions and webhooks, with Mailchimp's error bodies (members
// in compliance state, re-subscribes of unsubscribed or cleaned members
// and forgotten addresses refused), limits and signed
// webhook deliveries.
//
// The local stack, end-to-end tests and benchmarks use it in place of the real
// API. It follows /work/shared/contracts/mailchimp (README.md and
// openapi-subset.json) and deliberately imports nothing from the project's own
// Mailchimp client, so that the two are held to the contract independently.
//
// A Server serves the API under /3.0 (a client's base URL is
// http://HOST:PORT/3.0) and a small JSON control API under /_sandbox/ that is
// not part of Mailchimp: it simulates edits made in Mailchimp's UI, injects
// faults, sets latency and reads counters. Its actions are POSTs, and the Go
// methods that do the same as a person in Mailchimp's UI end in InUI
// (SubscribeInUI, EditMemberInUI, …), as in the accessplanit simulator.
//
// Where Mailchimp's behaviour is not documented, the simulator's choice is
// marked INFERRED in the code.
package mailchimp
