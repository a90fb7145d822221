// Package apmc is the domain of the service: instances (one accessplanit
// platform paired with one Mailchimp audience), changes arriving from either
// side, field mappings (merge fields, groups and marketing permissions),
// marketing consent, contact sync state, executions, and the engine that
// decides and applies one change.
//
// It imports no AWS SDK, no Lambda runtime and no net/http. It declares the
// small interfaces it needs (ports.go); the adapters in sibling packages
// implement them.
package apmc
