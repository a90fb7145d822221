package apmc

import (
	"fmt"
	"strings"
	"time"
)

// Health is what the service last knew of an instance's health: whether it
// is failing, whether changes of it went to the dead-letter queue, and the
// state its notifications last announced. It is stored with the instance and
// read with it, so a change that finds nothing new costs no request; it is
// written only when it changes (NextHealth), under its Version, so two
// functions that see the same change write and notify it once.
type Health struct {
	// Version counts the writes; a write is made only if the stored
	// version is still the one read (0: none stored).
	Version int `json:"version"`
	// State is the instance state last announced; empty means enabled.
	State State `json:"state,omitempty"`
	// Failing is set by a change that failed with no retry left and
	// cleared by a change that succeeded after a quiet period.
	Failing bool `json:"failing,omitempty"`
	// FailingSince is when the instance started failing.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// LastFailureAt is the last failure seen, to the policy's Stamp.
	LastFailureAt time.Time `json:"last_failure_at,omitzero"`
	// DeadLettersAnnounced says the current failing episode already
	// announced its dead letters; a recovery clears it.
	DeadLettersAnnounced bool `json:"dead_letters_announced,omitempty"`
	// DeadLettered counts every change of the instance that moved to the
	// dead-letter queue since the instance was created: it is never reset
	// (a redrive does not lower it), and is kept apart from the versioned
	// health, each dead letter adding one to it atomically.
	DeadLettered int `json:"-"`
	// LastDeadLetterAt is when a change of the instance last moved to the
	// dead-letter queue, kept with DeadLettered.
	LastDeadLetterAt time.Time `json:"-"`
	// LastNotification is the last notification sent to the instance's
	// notification URL, with its outcome.
	LastNotification *Notification `json:"last_notification,omitempty"`
}

// Notification records one call of an instance's notification URL.
type Notification struct {
	At      time.Time     `json:"at"`
	Events  []HealthEvent `json:"events"`
	Outcome string        `json:"outcome"` // "delivered", or why not
}

// HealthEvent is a change of an instance's health worth telling someone.
type HealthEvent string

// The health events, in the order a message names them.
const (
	EventFailing      HealthEvent = "failing"
	EventDeadLettered HealthEvent = "dead_lettered"
	EventRecovered    HealthEvent = "recovered"
	EventPaused       HealthEvent = "paused"
	EventResumed      HealthEvent = "resumed"
)

// Outcome is what one execution says of its instance's health.
type Outcome int

// The outcomes NextHealth tells apart.
const (
	// OutcomeNeutral says nothing: a change held, or failed with retries
	// left (it may still succeed).
	OutcomeNeutral Outcome = iota
	// OutcomeOK is a change the instance handled: succeeded, suppressed or
	// skipped.
	OutcomeOK
	// OutcomeFailed is a change that failed with no retry left.
	OutcomeFailed
	// OutcomeDeadLettered is a change that moves to the dead-letter queue:
	// it failed on its last attempt, or was handed back unapplied on its
	// last receive.
	OutcomeDeadLettered
)

// OutcomeOf classifies an execution the engine returned; retried says
// whether the engine asked for the change to be delivered again.
func OutcomeOf(e Execution, retried bool) Outcome {
	switch e.Status {
	case StatusSucceeded, StatusSuppressed, StatusSkipped:
		return OutcomeOK
	case StatusFailed:
		switch {
		case e.Retryable:
			return OutcomeNeutral
		case retried:
			return OutcomeDeadLettered
		default:
			return OutcomeFailed
		}
	}
	return OutcomeNeutral
}

// HealthPolicy tunes NextHealth.
type HealthPolicy struct {
	// Quiet is how long an instance must go without a failure before a
	// success counts as its recovery, so an instance whose changes fail
	// now and then is not announced as failing and recovered by turns.
	Quiet time.Duration
	// Stamp is how stale LastFailureAt may get before another failure
	// writes it again: failures of an instance already failing write at
	// most once per Stamp.
	Stamp time.Duration
}

// DefaultHealthPolicy is the deployed policy: recovery after five quiet
// minutes, measured to the minute.
var DefaultHealthPolicy = HealthPolicy{Quiet: 5 * time.Minute, Stamp: time.Minute}

// NextHealth decides what an execution of an instance in state st, with
// outcome o at time at, makes of its health prev. It returns the next health,
// the events to announce (none: nothing to tell), and whether the next
// health must be written; when write is false, next is prev.
func NextHealth(prev Health, st State, o Outcome, at time.Time, p HealthPolicy) (next Health, events []HealthEvent, write bool) {
	next = prev
	if st == "" {
		st = StateEnabled
	}
	announced := prev.State
	if announced == "" {
		announced = StateEnabled
	}
	if st != announced {
		next.State = st
		write = true
		if st == StatePaused {
			events = append(events, EventPaused)
		} else {
			events = append(events, EventResumed)
		}
	}
	switch o {
	case OutcomeFailed, OutcomeDeadLettered:
		if !prev.Failing {
			next.Failing, next.FailingSince = true, at
			events = append(events, EventFailing)
			write = true
		}
		if o == OutcomeDeadLettered && !prev.DeadLettersAnnounced {
			next.DeadLettersAnnounced = true
			events = append(events, EventDeadLettered)
			write = true
		}
		if write || at.Sub(prev.LastFailureAt) >= p.Stamp {
			next.LastFailureAt = at
			write = true
		}
	case OutcomeOK:
		if prev.Failing && at.Sub(prev.LastFailureAt) >= p.Quiet {
			next.Failing, next.FailingSince, next.DeadLettersAnnounced = false, time.Time{}, false
			events = append(events, EventRecovered)
			write = true
		}
	}
	if !write {
		return prev, nil, false
	}
	next.Version = prev.Version + 1
	return next, events, true
}

// HealthMessage is the text a notification carries: the instance, by name
// and id, and what happened to it.
func HealthMessage(in Instance, h Health, events []HealthEvent) string {
	name := in.ID
	if in.Name != "" && in.Name != in.ID {
		name = fmt.Sprintf("%s (%s)", in.Name, in.ID)
	}
	var parts []string
	for _, ev := range events {
		switch ev {
		case EventFailing:
			parts = append(parts, "is failing: changes fail with no retry left; see its failed executions")
		case EventDeadLettered:
			parts = append(parts, "has dead letters: a change failed on its last attempt, or could not be applied in time, and waits in the dead-letter queue")
		case EventRecovered:
			parts = append(parts, "has recovered: changes succeed again")
		case EventPaused:
			parts = append(parts, "is paused: its changes are held until it is resumed")
		case EventResumed:
			parts = append(parts, "is resumed: its changes are applied again")
		}
	}
	return fmt.Sprintf("apmc instance %s %s.", name, strings.Join(parts, "; and "))
}
