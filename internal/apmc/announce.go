package apmc

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Announced writes. A write's echo is recognised by the pending write the
// change that made it records in the contact state (echo.go). When the echo
// is queued behind that change (one FIFO queue, one message group per
// contact) the state is always saved first. When it is not — a change from
// the bulk queue writes Mailchimp and its echo comes through the changes
// queue; a write to accessplanit, whose echo the accessplanit ingest may
// send to the bulk queue — the echo can be applied before the state is
// saved, and would be taken for a real change: written back, it could undo
// an edit made in between. Such a write is therefore announced in the
// contact state before it is made (Contacts.AnnounceWrites, one request for
// a batch call's members), and a change that carries an announced write's
// values waits until the state is saved (ActionWait), then is decided again
// from the saved state: as an echo.
//
// An announcement is not a pending write: the write may still fail. It
// expires after inFlightWindow, and the next save of the state drops it (the
// change that announced it records the pending write in that save). A save
// by another change of the contact in between drops it too; the write's
// echo is then decided from what it reads, as without an announcement.

// inFlightWindow is how long an announced write is taken to be in flight:
// far longer than a Mailchimp or accessplanit call and the save after it.
const inFlightWindow = 2 * time.Minute

// DefaultInFlightWait bounds how long a change waits in the engine for an
// announced write's state; after that it is tried again through the queue.
const DefaultInFlightWait = 5 * time.Second

// ErrOrderedQueue is returned (and no execution recorded) for a change from
// the bulk queue that would write to accessplanit, or move a Mailchimp
// member to a new address (the email change Mailchimp sends then is always
// queued on the changes queue): it is applied from the changes queue
// instead, where the consumer moves it, into its message group (the
// contact's), behind anything queued there for the address. Two things
// need that order for writes to accessplanit. A Mailchimp email change (which never takes the bulk
// lane) must be applied before the profile change Mailchimp sends after it,
// or that change would create a second User. And the echo of a write to
// Mailchimp made by a changes-queue change may reach the bulk queue (the
// Mailchimp endpoint in a burst sends its deliveries there) and be applied
// before that change saved its state: taken for a real change, it would be
// written back; moved behind the change, it is recognised as the echo. A
// Mailchimp change from the bulk queue that writes nothing (an echo of a
// bulk-queue write, recognised, or one whose User already holds it) is
// applied where it is.
var ErrOrderedQueue = errors.New("a change from the bulk queue does not write to accessplanit: it is applied from the changes queue")

// errWriteInFlight is returned by a change that carries the values of an
// announced write whose state is not saved yet.
var errWriteInFlight = errors.New("the service's own write with these values is in flight: its contact state is not saved yet")

// inFlight reports whether fp is the fingerprint of a write to the side
// announced within inFlightWindow before now.
func (s SideState) inFlight(fp string, now time.Time) bool {
	a := s.InFlight
	return a != nil && a.Fingerprint == fp && now.Sub(a.At) <= inFlightWindow && a.At.Before(now.Add(clockSkew))
}

// waitPlan is the plan of a change that carries an announced write's values.
func waitPlan(side Side) Plan {
	return Plan{Action: ActionWait, Reason: fmt.Sprintf("the service's own write to %s with these values is in flight; decided again once its contact state is saved", side)}
}

// announcer is the contact store as a WriteAnnouncer; nil when it is not one.
func (e *Engine) announcer() WriteAnnouncer {
	c := e.Contacts
	if b, ok := c.(batchContacts); ok {
		c = b.Contacts
	}
	wa, _ := c.(WriteAnnouncer)
	return wa
}

// announceNow records a (when set) in the store, when the store can.
func announceNow(ctx context.Context, wa WriteAnnouncer, a *Announcement) error {
	if a == nil || wa == nil {
		return nil
	}
	if err := wa.AnnounceWrites(ctx, []Announcement{*a}); err != nil {
		return fmt.Errorf("announce the write to %s: %w", a.Side, err)
	}
	return nil
}

// untilSaved runs apply, and while it reports that the change carries an
// announced write's values, waits for the state and runs it again, at most
// Engine.InFlightWait in all; then the change is tried again later.
func (e *Engine) untilSaved(ctx context.Context, rec *recorder, apply func() (outcome, error)) (outcome, error) {
	bound := e.InFlightWait
	if bound <= 0 {
		bound = DefaultInFlightWait
	}
	start := time.Now()
	pause := 50 * time.Millisecond
	for n := 0; ; n++ {
		res, err := apply()
		waited := time.Since(start)
		if n > 0 && !errors.Is(err, errWriteInFlight) {
			rec.logf("info", "waited %s for the contact state of the service's own write", waited.Round(time.Millisecond))
		}
		if !errors.Is(err, errWriteInFlight) {
			return res, err
		}
		if waited >= bound {
			return res, fmt.Errorf("waited %s: %w", waited.Round(time.Millisecond), err)
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}
