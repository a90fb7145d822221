// Package reconcile repairs what lost webhooks left out of sync: it reads
// the Users and members that changed since the instance's last
// reconciliation (or all of them), compares each with the contact state the
// service keeps, and puts every difference on the changes queue as a change
// with origin reconcile. The sync applies those changes like any webhook's,
// so per-contact order, echo suppression and pause hold for them too.
// Each run is recorded with its counts.
package reconcile
