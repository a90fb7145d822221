package sync

import (
	"strconv"
	"strings"
	"time"
)

// Loop suppression remembers every recent write to a side, not just the
// last one: when a contact is written several times in quick succession,
// the side's webhooks for the earlier writes arrive after the later writes
// were made, and an echo that matched only the last write would be taken
// for a real change and written back (a ping-pong that also restores old
// values). The writes whose echoes are still expected are kept in
// SideState.Fingerprint as space-separated "<fingerprint>@<unix ms>"
// entries, oldest first; a plain fingerprint (as stored before) is one entry
// written at WrittenAt.

// echoWindow is how long an echo of a write is expected. Both systems send
// their webhooks within seconds; the window also covers a delivery held up
// by retries.
const echoWindow = 15 * time.Minute

// maxPendingWrites bounds the writes remembered per side.
const maxPendingWrites = 8

// pendingWrite is one write to a side whose echo has not come back yet.
type pendingWrite struct {
	fingerprint string
	at          time.Time
}

// pendingWrites reads the writes whose echoes are still expected.
func (s SideState) pendingWrites() []pendingWrite {
	var out []pendingWrite
	for _, f := range strings.Fields(s.Fingerprint) {
		fp, ms, ok := strings.Cut(f, "@")
		at := s.WrittenAt
		if ok {
			n, err := strconv.ParseInt(ms, 10, 64)
			if err != nil {
				continue
			}
			at = time.UnixMilli(n).UTC()
		}
		out = append(out, pendingWrite{fingerprint: fp, at: at})
	}
	return out
}

func (s *SideState) setPending(list []pendingWrite) {
	parts := make([]string, 0, len(list))
	for _, p := range list {
		parts = append(parts, p.fingerprint+"@"+strconv.FormatInt(p.at.UnixMilli(), 10))
	}
	s.Fingerprint = strings.Join(parts, " ")
}

// echoOf returns the index of the oldest pending write with fingerprint fp
// made within the echo window before now, or -1 when the change is not an
// echo of the service's own write.
func (s SideState) echoOf(fp string, now time.Time) int {
	for i, p := range s.pendingWrites() {
		if p.fingerprint == fp && now.Sub(p.at) <= echoWindow {
			return i
		}
	}
	return -1
}

// consumeEcho forgets the write at index i and the ones before it: a side
// sends its webhooks in order, so their echoes have come or never will.
func (s *SideState) consumeEcho(i int) {
	list := s.pendingWrites()
	if i < 0 || i >= len(list) {
		return
	}
	s.setPending(list[i+1:])
}

// recordWrite remembers a write of values with fingerprint fp at now, and
// forgets the writes whose echoes are overdue.
func (s *SideState) recordWrite(fp string, now time.Time) {
	var keep []pendingWrite
	for _, p := range s.pendingWrites() {
		if now.Sub(p.at) <= echoWindow {
			keep = append(keep, p)
		}
	}
	keep = append(keep, pendingWrite{fingerprint: fp, at: now.UTC()})
	if len(keep) > maxPendingWrites {
		keep = keep[len(keep)-maxPendingWrites:]
	}
	s.setPending(keep)
	s.WrittenAt = now.UTC()
}
