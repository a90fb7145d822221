// Package reconcile repairs what lost webhooks left out of sync: it reads
// the Users and members that changed since the instance's last
// reconciliation (or all of them), compares each with the contact state the
// service keeps, and puts every difference on the changes queue as a change
// with origin reconcile. The sync applies those changes like any webhook's,
// so per-contact order, echo suppression and pause hold for them too.
// Each run is recorded with its counts.
//
// Reconciliation repairs; it never first-syncs. A User or member the
// service has no contact state for is enqueued only when it changed since
// the last successful run (less the overlap): it appeared while the
// integration was on and its webhook was lost. The first run, having no
// earlier one, and full runs leave the older ones alone and count them:
// what existed before the integration is first synced with a plan
// (apmc backfill plan), which an operator reviews.
package reconcile
