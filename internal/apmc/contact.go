package apmc

import "time"

// Contact is what the service remembers about one contact of an instance:
// the link between the accessplanit User and the Mailchimp member, and per
// side the values last synced (for diffs and loop suppression).
type Contact struct {
	InstanceID string `json:"instance_id"`
	Email      string `json:"email"` // lower-cased: Mailchimp's identity
	UserID     string `json:"user_id,omitempty"`
	// MemberContactID is the Mailchimp contact_id of the linked member, as
	// last read from or answered by Mailchimp: it confirms that a member at
	// a new address is the same person (an email change).
	MemberContactID string `json:"member_contact_id,omitempty"`
	// MovedTo is the address Mailchimp moved this contact's member to, when
	// the instance did not let the User follow (mailchimp_email_changes
	// new_user or ignore): the old address is then never added back.
	MovedTo string `json:"moved_to,omitempty"`
	// MovedFrom is set on the state of an address Mailchimp moved a contact
	// to while the instance ignores such changes: that address then stays
	// out of accessplanit.
	MovedFrom string `json:"moved_from,omitempty"`
	// MarketingOptIn is the User's MarketingOptIn as last seen, when the
	// instance syncs consent: an opt-out is a change from true to false.
	MarketingOptIn *bool `json:"marketing_opt_in,omitempty"`

	Mailchimp    SideState `json:"mailchimp"`
	Accessplanit SideState `json:"accessplanit"`

	// Version guards against lost updates: a save succeeds only if the stored
	// version is still the one read (0 for a new contact).
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SideState is what the service knows of a contact on one side.
type SideState struct {
	// Values are the mapped values (by merge tag) the side holds as far as the
	// service knows: written by the service, or seen in a change from it.
	Values Values `json:"values,omitempty"`
	// WrittenAt is when the service last wrote to the side.
	WrittenAt time.Time `json:"written_at,omitzero"`
	// Pending are the service's recent writes to the side whose webhooks
	// (echoes) are still expected, oldest first: a change from the side
	// carrying one of their fingerprints is an echo, not a change.
	Pending []PendingWrite `json:"pending,omitempty"`
	// SourceTime is when the newest change applied from this side happened;
	// an older change is stale.
	SourceTime time.Time `json:"source_time,omitzero"`
	// OthersChangedAt (accessplanit side) is the latest DateUpdated of the
	// User the service read that someone other than the service's own API
	// user had made: as every write of the service to the User follows a
	// read of it, a User the service changed last was changed by anyone
	// else no later than this. Zero when unknown.
	OthersChangedAt time.Time `json:"others_changed_at,omitzero"`
	// Status (Mailchimp side) is the member's status as last read: an
	// unsubscribe or cleaned address once the sync has applied it to
	// accessplanit, any other status when it applied a subscribe or profile
	// change. Empty when unknown (states saved before it was kept).
	// Reconciliation enqueues an unsubscribed or cleaned member whose state
	// does not hold that status, as the webhook that told of it may be lost.
	Status string `json:"status,omitempty"`
	// Tags (Mailchimp side) are the member tags the service applied and
	// has not taken off since: the only tags it ever sets inactive.
	Tags []string `json:"tags,omitempty"`
	// TagsAppliedAt (Mailchimp side) are, by name as in Tags, the times the
	// service applied those of Tags it added without knowing whether the
	// member carried them already (ManagedTag.AppliedAt); a tag of Tags
	// without one was applied to a member known not to carry it. States
	// stored before these times were kept have none.
	TagsAppliedAt map[string]time.Time `json:"tags_applied_at,omitempty"`
	// Activity (accessplanit side) is the User's training activity as last
	// read and written to Mailchimp.
	Activity *Activity `json:"activity,omitempty"`
	// InFlight is a write to the side announced before it was made and not
	// yet recorded in Pending (announce.go). The store keeps it apart from
	// the state: announcing changes no version, and the next save of the
	// state drops it.
	InFlight *PendingWrite `json:"-"`
}

// PendingWrite is one write whose echo is still expected.
type PendingWrite struct {
	Fingerprint string    `json:"fingerprint"`
	At          time.Time `json:"at"`
}
