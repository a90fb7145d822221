package apmc

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Reads are the accessplanit Users read back once for a whole batch of
// changes, so a burst of changes costs one request per batch rather than one
// per change. The engine uses a User from here when its contact was not
// written to accessplanit by the service since it was read, and reads it on
// its own otherwise (or when the batch read failed or missed it).
type Reads struct {
	mu    sync.Mutex
	users map[string]User // by instance and User ID
	// requests and changes are per instance: the requests the batch read
	// made and the changes it served.
	requests map[string]int
	changes  map[string]int
	// failed holds, per instance, why the batch read failed.
	failed map[string]string
	at     time.Time
	// contacts are the contact states loaded for the batch, by the key the
	// changes name (Version 0: none stored); each is handed out once, and
	// dropped when any change of the batch saves or deletes that contact
	// (batchContacts), as a later change must see what an earlier saved.
	contacts map[ContactKey]Contact
	// delegates are the delegates read for the batch, by instance and User
	// ID (a User read with none holds an empty list), for the changes whose
	// training activity is to be read (batchDelegates); delegateRequests
	// and delegateUsers are per instance, as are delegatesFailed: why that
	// read failed.
	delegates        map[string][]Delegate
	delegateRequests map[string]int
	delegateUsers    map[string]int
	delegatesFailed  map[string]string
}

func readKey(instanceID, userID string) string { return instanceID + "|" + userID }

// user returns the User read for the batch, if it was.
func (r *Reads) user(instanceID, userID string) (User, bool) {
	if r == nil {
		return User{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	u, ok := r.users[readKey(instanceID, userID)]
	return u, ok
}

// share describes the batch read's cost for one instance's change.
func (r *Reads) share(instanceID string) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, req := r.changes[instanceID], r.requests[instanceID]
	out := map[string]any{"read": "batch", "batch_changes": n, "batch_requests": req}
	if n > 0 {
		out["accessplanit_requests_per_change"] = float64(req) / float64(n)
	}
	if why := r.failed[instanceID]; why != "" {
		out["batch_read_error"] = why
	}
	return out
}

// failedFor returns why the batch read failed for an instance, if it did.
func (r *Reads) failedFor(instanceID string) string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed[instanceID]
}

// contact hands out the contact state loaded for the batch, once.
func (r *Reads) contact(instanceID, email string) (Contact, bool) {
	if r == nil {
		return Contact{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := ContactKey{InstanceID: instanceID, Email: email}
	c, ok := r.contacts[k]
	delete(r.contacts, k)
	return c, ok
}

// forget drops the batch's copy of a contact state, if it still holds one.
func (r *Reads) forget(instanceID, email string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.contacts, ContactKey{InstanceID: instanceID, Email: email})
}

// batchContacts is the contact store as a change of a batch sees it: a save
// or delete drops the batch's copy of that contact state first, whichever
// path of the engine makes it, so no later change of the batch (the same
// contact's next change in its message group, or a change that reaches the
// contact by another key) takes a state older than the store's.
type batchContacts struct {
	Contacts
	reads *Reads
}

// SaveContact drops the batch's copy of c, then saves c.
func (s batchContacts) SaveContact(ctx context.Context, c Contact) error {
	s.reads.forget(c.InstanceID, c.Email)
	return s.Contacts.SaveContact(ctx, c)
}

// DeleteContact drops the batch's copy of the state, then deletes it.
func (s batchContacts) DeleteContact(ctx context.Context, instanceID, email string) error {
	s.reads.forget(instanceID, email)
	return s.Contacts.DeleteContact(ctx, instanceID, email)
}

// forBatch returns the engine a delivery of reads' batch is applied with:
// its contact saves keep the batch's loaded states current (batchContacts).
func (e *Engine) forBatch(reads *Reads) *Engine {
	if reads == nil {
		return e
	}
	scoped := *e
	scoped.Contacts = batchContacts{Contacts: e.Contacts, reads: reads}
	return &scoped
}

// ReadBatch reads, for each instance, the accessplanit Users that the batch's
// accessplanit changes name, in one request per instance (per 50 Users).
// When the contact store can, it also loads the contact states the changes
// name by email, in one request for the batch.
// It never fails: a User it could not read is read on its own when its
// change is applied, and so is a contact state.
func (e *Engine) ReadBatch(ctx context.Context, changes []Change) *Reads {
	r := &Reads{users: map[string]User{}, requests: map[string]int{}, changes: map[string]int{}, failed: map[string]string{}, at: e.now(),
		delegates: map[string][]Delegate{}, delegateRequests: map[string]int{}, delegateUsers: map[string]int{}, delegatesFailed: map[string]string{}}
	e.loadContacts(ctx, r, changes)
	ids := map[string][]string{}
	var order []string
	for _, c := range changes {
		id := triggerUserID(c)
		if c.Source != SideAccessplanit || id == "" {
			continue
		}
		if _, settled := NoReadNeeded(c); settled {
			continue
		}
		if _, ok := ids[c.InstanceID]; !ok {
			order = append(order, c.InstanceID)
		}
		if !slices.Contains(ids[c.InstanceID], id) {
			ids[c.InstanceID] = append(ids[c.InstanceID], id)
		}
		r.changes[c.InstanceID]++
	}
	for _, instanceID := range order {
		in, err := e.Instances.Instance(ctx, instanceID)
		if err != nil || !in.Direction.Allows(FlowToMailchimp) || in.State == StatePaused {
			continue
		}
		ap, err := e.Connector.Accessplanit(in)
		if err != nil {
			continue
		}
		users, requests, err := ap.Users(ctx, ids[instanceID], ReadFields(in))
		r.requests[instanceID] += requests
		if err != nil {
			r.failed[instanceID] = Redact(err.Error(), in.Secrets.Values())
			continue
		}
		for _, u := range users {
			r.users[readKey(instanceID, u.ID)] = u
		}
		if in.Activity.Enabled {
			r.readDelegates(ctx, ap, in, batchDelegates(r, in.ID, changes, e.now()))
		}
	}
	return r
}

// batchDelegates are the Users of a batch's changes whose training
// activity the changes will read (readsActivity): the User of a booking,
// and a User whose booking dates differ from those its contact state
// (loaded for the batch) last read them with. A User whose contact
// state was not loaded is left to its change, which reads its delegates on
// its own if it needs them, rather than read for nothing.
func batchDelegates(r *Reads, instanceID string, changes []Change, now time.Time) []string {
	var ids []string
	for _, c := range changes {
		id := triggerUserID(c)
		if c.InstanceID != instanceID || c.Source != SideAccessplanit || id == "" || slices.Contains(ids, id) {
			continue
		}
		u, read := r.users[readKey(instanceID, id)]
		if !read {
			continue
		}
		contact, loaded := r.contacts[ContactKey{InstanceID: instanceID, Email: triggerEmail(c)}]
		if c.Event == EventBooking || loaded && contact.Email == u.Email() && readsActivity(c, contact.Accessplanit.Activity, BookingMarker(u), now) {
			ids = append(ids, id)
		}
	}
	return ids
}

// readDelegates reads the delegates of the Users ids of an instance for
// the batch, in one request per 50 Users; a User whose delegates the
// batch could not read has them read by its change.
func (r *Reads) readDelegates(ctx context.Context, ap Accessplanit, in Instance, ids []string) {
	if len(ids) == 0 {
		return
	}
	delegates, requests, err := ap.DelegatesOfUsers(ctx, ids)
	r.delegateRequests[in.ID] += requests
	if err != nil {
		r.delegatesFailed[in.ID] = Redact(err.Error(), in.Secrets.Values())
		return
	}
	r.delegateUsers[in.ID] += len(ids)
	for _, id := range ids {
		r.delegates[readKey(in.ID, id)] = []Delegate{}
	}
	for _, d := range delegates {
		if k := readKey(in.ID, d.UserID); slices.Contains(ids, d.UserID) {
			r.delegates[k] = append(r.delegates[k], d)
		}
	}
}

// userDelegates returns the delegates of a User read for the batch, if
// they were, and what the batch's read cost (or why it failed) to show in
// the change's step.
func (r *Reads) userDelegates(instanceID, userID string) ([]Delegate, bool, map[string]any) {
	if r == nil {
		return nil, false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if why := r.delegatesFailed[instanceID]; why != "" {
		return nil, false, map[string]any{"batch_read_error": why}
	}
	ds, ok := r.delegates[readKey(instanceID, userID)]
	if !ok {
		return nil, false, nil
	}
	n, req := r.delegateUsers[instanceID], r.delegateRequests[instanceID]
	out := map[string]any{"read": "batch", "batch_users": n, "batch_requests": req}
	if n > 0 {
		out["accessplanit_requests_per_user"] = float64(req) / float64(n)
	}
	return slices.Clone(ds), true, out
}

// ReadFields are the accessplanit properties a change to Mailchimp reads:
// the mapped ones, MarketingOptIn when the instance syncs consent, the
// field the member's Mailchimp status is written to, if any, Tags when it
// syncs tags and the booking dates when it syncs training activity.
func ReadFields(in Instance) []string {
	out := mappedFields(in.Mappings)
	if in.Consent != nil && !slices.Contains(out, FieldMarketingOptIn) {
		out = append(out, FieldMarketingOptIn)
	}
	if f := in.MailchimpStatusField; f != "" && !slices.Contains(out, f) {
		out = append(out, f)
	}
	out = WithTagsField(in, out)
	if in.Activity.Enabled {
		out = append(slices.Clone(out), bookingFields...)
	}
	return out
}

// loadContacts loads into r the contact states the changes name by email.
func (e *Engine) loadContacts(ctx context.Context, r *Reads, changes []Change) {
	cb, ok := e.Contacts.(ContactBatch)
	if !ok {
		return
	}
	var keys []ContactKey
	for _, c := range changes {
		if _, settled := NoReadNeeded(c); settled || c.Event == EventUpEmail {
			continue
		}
		if email := triggerEmail(c); email != "" {
			keys = append(keys, ContactKey{InstanceID: c.InstanceID, Email: email})
		}
	}
	if len(keys) < 2 {
		return // one GetItem when the change needs it, as without a batch
	}
	found, err := cb.ContactsByKey(ctx, keys)
	if err != nil {
		return
	}
	r.contacts = make(map[ContactKey]Contact, len(keys))
	for _, k := range keys {
		c, ok := found[k]
		if !ok {
			c = Contact{InstanceID: k.InstanceID, Email: k.Email}
		}
		r.contacts[k] = c
	}
}

// mappedFields are the accessplanit properties the mappings read.
func mappedFields(ms []FieldMapping) []string {
	var out []string
	for _, m := range ms {
		if m.allows(FlowToMailchimp) && !slices.Contains(out, m.Field) {
			out = append(out, m.Field)
		}
	}
	return out
}

// triggerUserID is the User a change from accessplanit names: all the engine
// takes from an accessplanit delivery, besides an email to look it up by.
func triggerUserID(c Change) string {
	if c.UserID != "" {
		return c.UserID
	}
	if c.User != nil {
		return c.User.ID
	}
	return ""
}

// triggerEmail is the email a change names, to find its contact by when it
// names no User.
func triggerEmail(c Change) string {
	if c.Email != "" {
		return NormaliseEmail(c.Email)
	}
	if c.User != nil {
		return c.User.Email()
	}
	return ""
}
