package apmc

import (
	"context"
	"time"
)

// Instances reads instances for syncing, secrets opened.
type Instances interface {
	// Instance returns the instance; an unknown id wraps ErrNotFound.
	Instance(ctx context.Context, id string) (Instance, error)
}

// Contacts keeps contact sync state.
type Contacts interface {
	// Contact returns the state for an email; none wraps ErrNotFound.
	Contact(ctx context.Context, instanceID, email string) (Contact, error)
	// ContactByUserID returns the state linked to an accessplanit User; none
	// wraps ErrNotFound.
	ContactByUserID(ctx context.Context, instanceID, userID string) (Contact, error)
	// SaveContact writes c if the stored version is still c.Version (0: none
	// stored), storing c.Version+1; otherwise it returns an error wrapping
	// ErrConflict.
	SaveContact(ctx context.Context, c Contact) error
	// DeleteContact removes the state for an email (after an email change).
	DeleteContact(ctx context.Context, instanceID, email string) error
}

// Executions records executions.
type Executions interface {
	SaveExecution(ctx context.Context, e Execution) error
}

// Observer is told of every execution the engine recorded; retried says
// whether the change goes back to the queue (a failed execution that is not
// Retryable and retried is the change's last attempt: it moves to the
// dead-letter queue). It must not block for long.
type Observer interface {
	Observe(ctx context.Context, e Execution, retried bool)
}

// Mailchimp is what the engine needs of one Mailchimp account.
type Mailchimp interface {
	// UpsertMember creates or updates the member with m.Email. A new member
	// gets statusIfNew; an existing member's status is never changed.
	UpsertMember(ctx context.Context, listID string, m Member, statusIfNew string) (Member, error)
	// Member returns the member with that email; none wraps ErrNotFound.
	Member(ctx context.Context, listID, email string) (Member, error)
	// ChangeEmail moves the member at oldEmail to newEmail; none wraps
	// ErrNotFound.
	ChangeEmail(ctx context.Context, listID, oldEmail, newEmail string) (Member, error)
	// Unsubscribe unsubscribes the member with that email (an opt-out);
	// none wraps ErrNotFound.
	//
	// Unsubscribe, ChangeEmail, UpdateTags and MemberTags act on a member
	// the service knows: when Mailchimp answers that the audience no longer
	// holds it (permanently deleted; an archived member still exists), the
	// error wraps ErrNotFound, for callers to whom a missing member is an
	// answer, and is also a refusal of the contact (BlockedReason says
	// why): a change it stops ends blocked, not failed.
	Unsubscribe(ctx context.Context, listID, email string) (Member, error)
	// UpdateTags sets the member's tags active or inactive. It returns a
	// time, by Mailchimp's clock, no later than the date_added Mailchimp
	// gives a tag it adds in this call. No member wraps ErrNotFound (see
	// Unsubscribe).
	UpdateTags(ctx context.Context, listID, email string, tags []TagChange) (time.Time, error)
	// MemberTags returns every tag of the member, with its date_added;
	// no member wraps ErrNotFound (see Unsubscribe).
	MemberTags(ctx context.Context, listID, email string) ([]MemberTag, error)
	// MemberByContactID returns the member with that contact_id, whatever
	// its address now (its tags as far as one answer lists them); none
	// wraps ErrNotFound.
	MemberByContactID(ctx context.Context, listID, contactID string) (Member, error)
}

// Accessplanit is what the engine needs of one accessplanit platform.
type Accessplanit interface {
	// User returns the User; none wraps ErrNotFound.
	User(ctx context.Context, id string) (User, error)
	// Users reads the Users with the given IDs (those that exist), with at
	// least the named properties, in as few requests as it can; it returns
	// how many requests it made.
	Users(ctx context.Context, ids []string, fields []string) ([]User, int, error)
	// UsersByEmail returns the Users with that email, newest change first.
	UsersByEmail(ctx context.Context, email string) ([]User, error)
	// CreateUser creates a User and returns it.
	CreateUser(ctx context.Context, fields map[string]string) (User, error)
	// UpdateUser sets the given properties of a User.
	UpdateUser(ctx context.Context, id string, fields map[string]string) error
	// Delegates returns the User's delegates (course bookings).
	Delegates(ctx context.Context, userID string) ([]Delegate, error)
	// DelegatesOfUsers returns the delegates of the Users with the given
	// IDs, in as few requests as it can; it returns how many it made.
	DelegatesOfUsers(ctx context.Context, userIDs []string) ([]Delegate, int, error)
}

// Connector builds the API clients for an instance's credentials.
type Connector interface {
	Mailchimp(in Instance) (Mailchimp, error)
	Accessplanit(in Instance) (Accessplanit, error)
}

// MailchimpBatch is a Mailchimp client that can also write many members of
// one audience in one call (Mailchimp's batch subscribe); a Batch uses it to
// send a burst's writes together.
type MailchimpBatch interface {
	Mailchimp
	// UpsertMembers creates or updates the members in one call, with
	// UpsertMember's guarantee: a new member gets statusIfNew, an existing
	// member's status is never changed. It returns, by lower-cased email,
	// the members as written and the members Mailchimp refused with their
	// own reasons; err means the call as a whole failed.
	UpsertMembers(ctx context.Context, listID string, ms []Member, statusIfNew string) (written map[string]Member, refused map[string]error, err error)
}

// ExecutionBatch is an execution store that can record many executions in
// few requests; a Batch uses it to record a batch's executions together.
type ExecutionBatch interface {
	Executions
	// SaveExecutions stores the executions and returns, at the same index,
	// nil or why that one was not stored.
	SaveExecutions(ctx context.Context, es []Execution) []error
}

// ContactKey names one contact state.
type ContactKey struct{ InstanceID, Email string }

// Announcement is a write to one side of a contact, announced before it is
// made (announce.go).
type Announcement struct {
	Key         ContactKey
	Side        Side
	Fingerprint string
	At          time.Time
}

// WriteAnnouncer is a contact store that can record announcements without
// changing the states' versions, many in one request where it can; a state
// saved afterwards no longer carries them.
type WriteAnnouncer interface {
	AnnounceWrites(ctx context.Context, as []Announcement) error
}

// ContactBatch is a contact store that can load many contact states in one
// request; ReadBatch uses it to load a batch's contacts together.
type ContactBatch interface {
	Contacts
	// ContactsByKey returns the stored states of the keys that have one.
	ContactsByKey(ctx context.Context, keys []ContactKey) (map[ContactKey]Contact, error)
}
