package apmc

import (
	"slices"
	"time"
)

// Loop suppression remembers every recent write to a side, not just the
// last one: when a contact is written several times in quick succession,
// the side's webhooks for the earlier writes arrive after the later writes
// were made, and an echo that matched only the last write would be taken
// for a real change and written back (a ping-pong that also restores old
// values). SideState.Pending keeps the writes whose echoes are still
// expected.

// echoWindow is how long an echo of a write is expected. Both systems send
// their webhooks within seconds; the window also covers a delivery held up
// by retries.
const echoWindow = 15 * time.Minute

// maxPendingWrites bounds the writes remembered per side.
const maxPendingWrites = 8

// echoOf returns the index of the oldest pending write with fingerprint fp
// made within the echo window before now, or -1 when the change is not an
// echo of the service's own write.
func (s SideState) echoOf(fp string, now time.Time) int {
	for i, p := range s.Pending {
		if p.Fingerprint == fp && now.Sub(p.At) <= echoWindow {
			return i
		}
	}
	return -1
}

// consumeEcho forgets the write at index i and the ones before it: a side
// sends its webhooks in order, so their echoes have come or never will.
func (s *SideState) consumeEcho(i int) {
	if i < 0 || i >= len(s.Pending) {
		return
	}
	s.Pending = slices.Clone(s.Pending[i+1:])
}

// RecordWrite remembers a write of values with fingerprint fp at now, and
// forgets the writes whose echoes are overdue.
func (s *SideState) RecordWrite(fp string, now time.Time) {
	var keep []PendingWrite
	for _, p := range s.Pending {
		if now.Sub(p.At) <= echoWindow {
			keep = append(keep, p)
		}
	}
	keep = append(keep, PendingWrite{Fingerprint: fp, At: now.UTC()})
	if len(keep) > maxPendingWrites {
		keep = keep[len(keep)-maxPendingWrites:]
	}
	s.Pending = keep
	s.WrittenAt = now.UTC()
}

// clockSkew allows for the two systems' clocks and for Mailchimp's
// whole-second timestamps when comparing their times with the service's.
const clockSkew = 2 * time.Second

// writtenSince reports whether the service wrote to the side at or after t
// (within clockSkew), so a change made at t may no longer be what the side
// holds. An unknown t counts as "maybe".
func (s SideState) writtenSince(t time.Time) bool {
	if s.WrittenAt.IsZero() {
		return false
	}
	return t.IsZero() || !s.WrittenAt.Before(t.Add(-clockSkew))
}
