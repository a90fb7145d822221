// Package health watches the executions the sync function records: it
// counts them in CloudWatch embedded-metric-format records, one per
// instance per batch (the per-instance failure-rate alarm's data), keeps each instance's health
// (apmc.NextHealth decides, a conditional write stores a change once however
// many functions see it) and tells the instance's notification URL when its
// health changes.
package health
