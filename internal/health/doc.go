// Package health watches the executions the sync function records: it
// emits each one as CloudWatch embedded-metric-format record (the
// per-instance failure-rate alarm's data), keeps each instance's health
// (apmc.NextHealth decides, a conditional write stores a change once however
// many functions see it) and tells the instance's notification URL when its
// health changes.
package health
