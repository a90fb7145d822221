package apmc

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Side names one of the two systems.
type Side string

// The two sides.
const (
	SideAccessplanit Side = "accessplanit"
	SideMailchimp    Side = "mailchimp"
)

// Flow is the direction one change travels.
type Flow string

// The two flows.
const (
	FlowToMailchimp    Flow = "accessplanit_to_mailchimp"
	FlowToAccessplanit Flow = "mailchimp_to_accessplanit"
)

// FlowFrom returns the flow a change from side s takes.
func FlowFrom(s Side) Flow {
	if s == SideMailchimp {
		return FlowToAccessplanit
	}
	return FlowToMailchimp
}

// Event is what happened on the source side.
type Event string

// Events. accessplanit sends created, updated and deleted; Mailchimp sends
// the other six.
const (
	EventCreated     Event = "created"
	EventUpdated     Event = "updated"
	EventDeleted     Event = "deleted"
	EventSubscribe   Event = "subscribe"
	EventProfile     Event = "profile"
	EventUnsubscribe Event = "unsubscribe"
	EventUpEmail     Event = "upemail"
	EventCleaned     Event = "cleaned"
	EventCampaign    Event = "campaign"
	// EventBooking is a change to one of a User's delegates (a course
	// booking) in accessplanit: a trigger to sync that User.
	EventBooking Event = "booking"
)

// Origin says why an execution ran.
type Origin string

// Origins.
const (
	OriginWebhook  Origin = "webhook"
	OriginRetry    Origin = "retry"
	OriginReplay   Origin = "replay"
	OriginBackfill Origin = "backfill"
	// OriginReconcile is a difference that a reconciliation found between
	// a side and the contact states: a change whose webhook was lost.
	OriginReconcile Origin = "reconcile"
)

// User is an accessplanit User as the domain sees it: every property as
// text (custom fields "CF_<Name>" included), plus the facts the engine reads.
type User struct {
	ID          string            `json:"id"`
	Fields      map[string]string `json:"fields"`
	UpdatedAt   time.Time         `json:"updated_at,omitzero"`
	UpdatedByID string            `json:"updated_by_id,omitempty"`
	// Tags are the User's tags, as the accessplanit client reads its Tags
	// property.
	Tags []string `json:"tags,omitempty"`
}

// Email returns the User's email address, lower-cased.
func (u User) Email() string { return NormaliseEmail(u.Fields[FieldEmail]) }

// Member is a Mailchimp audience member.
type Member struct {
	ID          string `json:"id,omitempty"` // the subscriber hash
	Email       string `json:"email"`
	Status      string `json:"status,omitempty"`
	MergeFields Values `json:"merge_fields,omitempty"`
	// ContactID is Mailchimp's id of the person: unlike ID and the
	// unique_email_id it stays with the member when the address changes.
	ContactID string `json:"contact_id,omitempty"`
	// LastChanged is when Mailchimp last changed the member.
	LastChanged time.Time `json:"last_changed,omitzero"`
	// Interests are the member's group interests: interest id → selected.
	// A write sends only those it names.
	Interests map[string]bool `json:"interests,omitempty"`
	// MarketingPermissions are the member's GDPR marketing permissions:
	// marketing permission id → enabled. A write sends only those it names.
	MarketingPermissions map[string]bool `json:"marketing_permissions,omitempty"`
	// Tags are the member's tags, when read (all of them: the client reads
	// the rest when an answer carries only the first 50).
	Tags []string `json:"tags,omitempty"`
}

// Change is one change notified by a webhook: the message on the queue.
type Change struct {
	// ID identifies the delivery; it is the queue's deduplication id, so a
	// delivery sent twice is applied once.
	ID         string    `json:"id"`
	InstanceID string    `json:"instance_id"`
	Source     Side      `json:"source"`
	Event      Event     `json:"event"`
	ReceivedAt time.Time `json:"received_at"`
	// OccurredAt is when the source says the change happened (Mailchimp's
	// fired_at, accessplanit's DateUpdated), when known.
	OccurredAt time.Time `json:"occurred_at,omitzero"`

	Email  string `json:"email,omitempty"`   // lower-cased
	UserID string `json:"user_id,omitempty"` // accessplanit User ID
	// User is what the delivery said of the User. It is a trigger, never
	// truth: the engine reads the User back from accessplanit and uses only
	// its ID and email from here to know which User to read.
	User *User `json:"user,omitempty"`

	// Mailchimp deliveries. Merges is what the delivery said; like User it
	// is never recorded (Recorded): the engine reads the member back.
	Merges   Values `json:"merges,omitempty"`
	OldEmail string `json:"old_email,omitempty"`
	NewEmail string `json:"new_email,omitempty"`
	Action   string `json:"action,omitempty"` // unsubscribe: unsub | delete
	Reason   string `json:"reason,omitempty"`
	// DelegateID names the delegate ("<UserID>~<CourseDateID>") a booking
	// change came from.
	DelegateID string `json:"delegate_id,omitempty"`

	// Origin and OriginalExecutionID are set for replays, backfills and
	// reconciliations.
	Origin              Origin `json:"origin,omitempty"`
	OriginalExecutionID string `json:"original_execution_id,omitempty"`
	// FirstReceivedAt is, for a change queued again (a replay, or a held
	// retry released) whose earlier attempts may have written, when it was
	// first received: they wrote no earlier than that.
	FirstReceivedAt time.Time `json:"first_received_at,omitzero"`
	// PriorAttempts are the receives a change had on the bulk queue before
	// it was moved to the changes queue (ErrOrderedQueue): its attempts are
	// numbered on from there, so no execution of it is overwritten.
	PriorAttempts int `json:"prior_attempts,omitempty"`
}

// writeClockSlack covers the difference between the clock a change's
// receipt is stamped by and Mailchimp's, whose dates have whole seconds.
const writeClockSlack = 5 * time.Second

// earliestWrite is a time no later than any write an attempt of the change
// made: its first receipt, less the clocks' slack, to the second below.
func (c Change) earliestWrite() time.Time {
	first := c.ReceivedAt
	if !c.FirstReceivedAt.IsZero() && c.FirstReceivedAt.Before(first) {
		first = c.FirstReceivedAt
	}
	return first.Add(-writeClockSlack).UTC().Truncate(time.Second)
}

// GroupID orders changes per contact: the queue applies changes with one
// group id in order and different groups in parallel.
func (c Change) GroupID() string {
	// An email change is ordered with the changes to the new address that
	// follow it (Mailchimp sends the profile of a member whose address and
	// name changed together right after the upemail).
	key := c.Email
	if c.Event == EventUpEmail && c.NewEmail != "" {
		key = c.NewEmail
	}
	if key == "" && c.User != nil {
		key = c.User.Email()
	}
	if key == "" {
		key = "user:" + c.UserID
	}
	return hashID(c.InstanceID + "|" + strings.ToLower(key))
}

// DedupID is the queue's deduplication id: at most 128 characters.
func (c Change) DedupID() string { return hashID(c.InstanceID + "|" + c.ID) }

func hashID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ContactEmail is the best email known for the change's contact.
func (c Change) ContactEmail() string {
	switch {
	case c.Event == EventUpEmail && c.NewEmail != "":
		return c.NewEmail
	case c.Email != "":
		return c.Email
	case c.User != nil:
		return c.User.Email()
	}
	return ""
}

// maxRecordedText bounds each text a recorded change keeps, in bytes: room
// for any real ID, email (254 at most) or reason, and no more, so that no
// delivery can make its execution item large.
const maxRecordedText = 256

// truncatedMarker ends a recorded text that was cut short.
const truncatedMarker = "…[truncated]"

// Recorded is the change as its execution keeps it: what the console, the
// API and a replay use (ids, emails, event, origin, times and the short
// details of unsubscribes, email changes and bookings), each text cut to
// maxRecordedText. The delivered User and merges are left out: a webhook is
// a trigger, so a replay reads both sides back and needs only the User's ID
// and email, and an untrusted delivery must not cost more to record than a
// real one.
func (c Change) Recorded() Change {
	r := Change{
		ID: c.ID, InstanceID: c.InstanceID, Source: c.Source, Event: c.Event, ReceivedAt: c.ReceivedAt, OccurredAt: c.OccurredAt,
		Email: c.Email, UserID: c.UserID, OldEmail: c.OldEmail, NewEmail: c.NewEmail, Action: c.Action, Reason: c.Reason,
		DelegateID: c.DelegateID, Origin: c.Origin, OriginalExecutionID: c.OriginalExecutionID, PriorAttempts: c.PriorAttempts,
		FirstReceivedAt: c.FirstReceivedAt,
	}
	if r.UserID == "" {
		r.UserID = triggerUserID(c)
	}
	if r.Email == "" && c.User != nil {
		r.Email = c.User.Email()
	}
	for _, s := range []*string{&r.ID, &r.InstanceID, &r.Email, &r.UserID, &r.OldEmail, &r.NewEmail, &r.Action, &r.Reason, &r.DelegateID, &r.OriginalExecutionID} {
		*s = recordedText(*s)
	}
	r.Source = Side(recordedText(string(r.Source)))
	r.Event = Event(recordedText(string(r.Event)))
	r.Origin = Origin(recordedText(string(r.Origin)))
	return r
}

// recordedText cuts s to maxRecordedText bytes, ending with truncatedMarker
// when it was cut.
func recordedText(s string) string {
	if len(s) <= maxRecordedText {
		return s
	}
	return truncateText(s, maxRecordedText-len(truncatedMarker)) + truncatedMarker
}
