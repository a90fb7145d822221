// Package backfill brings the data that existed before an instance was
// switched on in line: it reads both sides completely, pairs accessplanit
// Users with Mailchimp members (an existing link first, then the
// lower-cased email), and classifies every contact with the domain's pair
// decision (apmc.DecidePair) into a plan that writes nothing. Applying a
// plan decides every contact again on its current state and writes only
// what that decision says.
package backfill
