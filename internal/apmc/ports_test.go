package apmc

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"sync"
	"time"
)

// The engine's unit tests use these in-memory implementations of the domain
// ports. The real adapters are tested against real servers in their own
// packages and end to end in internal/local.

type memInstances map[string]Instance

func (m memInstances) Instance(_ context.Context, id string) (Instance, error) {
	in, ok := m[id]
	if !ok {
		return Instance{}, fmt.Errorf("instance %s: %w", id, ErrNotFound)
	}
	return in, nil
}

type memContacts struct {
	mu        sync.Mutex
	m         map[string]Contact
	announced int
}

func newMemContacts() *memContacts { return &memContacts{m: map[string]Contact{}} }

func (s *memContacts) Contact(_ context.Context, instanceID, email string) (Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[instanceID+"|"+email]
	if !ok {
		return Contact{}, ErrNotFound
	}
	return c, nil
}

func (s *memContacts) ContactByUserID(_ context.Context, instanceID, userID string) (Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.m {
		if c.InstanceID == instanceID && c.UserID == userID {
			return c, nil
		}
	}
	return Contact{}, ErrNotFound
}

// AnnounceWrites sets the contacts' announced writes as the store does:
// no version changes, and a contact without a state gets one of Version 0.
func (s *memContacts) AnnounceWrites(_ context.Context, as []Announcement) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range as {
		k := a.Key.InstanceID + "|" + a.Key.Email
		c, ok := s.m[k]
		if !ok {
			c = Contact{InstanceID: a.Key.InstanceID, Email: a.Key.Email}
		}
		w := &PendingWrite{Fingerprint: a.Fingerprint, At: a.At}
		if a.Side == SideMailchimp {
			c.Mailchimp.InFlight = w
		} else {
			c.Accessplanit.InFlight = w
		}
		s.m[k] = c
		s.announced++
	}
	return nil
}

func (s *memContacts) SaveContact(_ context.Context, c Contact) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Mailchimp.InFlight, c.Accessplanit.InFlight = nil, nil // a save puts the whole state
	k := c.InstanceID + "|" + c.Email
	if cur, ok := s.m[k]; ok && cur.Version != c.Version || !ok && c.Version != 0 {
		return ErrConflict
	}
	c.Version++
	s.m[k] = c
	return nil
}

func (s *memContacts) DeleteContact(_ context.Context, instanceID, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, instanceID+"|"+email)
	return nil
}

type memExecutions struct {
	mu   sync.Mutex
	list []Execution
}

func (s *memExecutions) Execution(_ context.Context, instanceID, id string) (Execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.list {
		if e.InstanceID == instanceID && e.ID == id {
			return e, nil
		}
	}
	return Execution{}, ErrNotFound
}

func (s *memExecutions) SaveExecution(_ context.Context, e Execution) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, e)
	return nil
}

// apiError is an API error as the clients return them.
type apiError struct {
	status int
}

func (e *apiError) Error() string   { return "api status " + strconv.Itoa(e.status) }
func (e *apiError) Permanent() bool { return e.status >= 400 && e.status < 429 }

// goneError is what the Mailchimp client answers a call on one member the
// audience no longer holds (permanently deleted): Mailchimp's 404, which
// says not found, is permanent, and refuses the contact as blocked.
type goneError struct{}

func (goneError) Error() string {
	return "mailchimp: 404 Resource Not Found: The requested resource could not be found."
}
func (goneError) Permanent() bool      { return true }
func (goneError) Is(target error) bool { return target == ErrNotFound }
func (goneError) Blocked() string {
	return "the member is no longer in the audience (Mailchimp answered 404 Resource Not Found: The requested resource could not be found.): it was permanently deleted"
}

// memMailchimp records calls; fail makes the next calls fail.
type memMailchimp struct {
	members map[string]Member
	writes  int
	reads   int
	fail    []error
	// tagWrites are the UpdateTags calls' tags, in order; tagReads counts
	// the MemberTags calls (also counted in reads).
	tagWrites [][]TagChange
	tagReads  int
	// tagDates are the members' tags' date_added, by email and lower-cased
	// name; clock is Mailchimp's clock, a second further at each tag write.
	tagDates map[string]map[string]time.Time
	clock    time.Time
	// onWrite, when set, is called after each upsert with the member as
	// written (while the change that wrote it has not saved its state).
	onWrite func(Member)
	// onMove, when set, is called after an email change with the member
	// moved (before the change that moved it saved its state).
	onMove func(Member)
	// readWait is how long each member read reports waiting for the
	// account's request budget, as the connector does.
	readWait time.Duration
	// lostAnswer, when set, is what the next tag write answers after
	// Mailchimp applied it (a timeout, or a gateway's error, once the call
	// ran): the write takes effect, the caller sees only the error.
	lostAnswer error
}

func (m *memMailchimp) next() error {
	if len(m.fail) == 0 {
		return nil
	}
	err := m.fail[0]
	m.fail = m.fail[1:]
	return err
}

func (m *memMailchimp) UpsertMember(_ context.Context, _ string, mem Member, statusIfNew string) (Member, error) {
	m.writes++
	if err := m.next(); err != nil {
		return Member{}, err
	}
	cur, ok := m.members[mem.Email]
	if !ok {
		cur = Member{Email: mem.Email, Status: statusIfNew, MergeFields: Values{}, ContactID: "contact-" + mem.Email}
	}
	maps.Copy(cur.MergeFields, mem.MergeFields)
	if len(mem.Interests) > 0 {
		cur.Interests = maps.Clone(cur.Interests)
		if cur.Interests == nil {
			cur.Interests = map[string]bool{}
		}
		maps.Copy(cur.Interests, mem.Interests)
	}
	m.members[mem.Email] = cur
	if m.onWrite != nil {
		m.onWrite(cur)
	}
	return cur, nil
}

func (m *memMailchimp) Member(ctx context.Context, _ string, email string) (Member, error) {
	m.reads++
	AddBudgetWait(ctx, m.readWait)
	if mem, ok := m.members[email]; ok {
		return mem, nil
	}
	return Member{}, ErrNotFound
}

// MemberByContactID finds the in-memory member by its contact_id, which it
// keeps when its address changes.
func (m *memMailchimp) MemberByContactID(_ context.Context, _ string, contactID string) (Member, error) {
	m.reads++
	if err := m.next(); err != nil {
		return Member{}, err
	}
	for _, mem := range m.members {
		if mem.ContactID != "" && mem.ContactID == contactID {
			return mem, nil
		}
	}
	return Member{}, ErrNotFound
}

func (m *memMailchimp) Unsubscribe(_ context.Context, _ string, email string) (Member, error) {
	m.writes++
	if err := m.next(); err != nil {
		return Member{}, err
	}
	mem, ok := m.members[email]
	if !ok {
		return Member{}, goneError{}
	}
	mem.Status = "unsubscribed"
	m.members[email] = mem
	return mem, nil
}

func (m *memMailchimp) ChangeEmail(_ context.Context, _ string, oldEmail, newEmail string) (Member, error) {
	m.writes++
	mem, ok := m.members[oldEmail]
	if !ok {
		return Member{}, goneError{}
	}
	delete(m.members, oldEmail)
	mem.Email = newEmail
	m.members[newEmail] = mem
	if m.onMove != nil {
		m.onMove(mem)
	}
	return mem, nil
}

type memAccessplanit struct {
	users      map[string]User
	delegates  map[string][]Delegate // by User ID
	reads      int
	batchReads int
	// delegateBatchReads counts the DelegatesOfUsers calls (also counted
	// in reads).
	delegateBatchReads int
	writes             int
	nextID             int
	fail               []error
	// onWrite, when set, is called after each UpdateUser with the User as
	// written.
	onWrite func(User)
}

func (a *memAccessplanit) next() error {
	if len(a.fail) == 0 {
		return nil
	}
	err := a.fail[0]
	a.fail = a.fail[1:]
	return err
}

func (a *memAccessplanit) User(_ context.Context, id string) (User, error) {
	a.reads++
	if err := a.next(); err != nil {
		return User{}, err
	}
	u, ok := a.users[id]
	if !ok {
		return User{}, ErrNotFound
	}
	u.Fields = maps.Clone(u.Fields)
	return u, nil
}

func (a *memAccessplanit) Users(_ context.Context, ids []string, _ []string) ([]User, int, error) {
	a.reads++
	a.batchReads++
	if err := a.next(); err != nil {
		return nil, 1, err
	}
	var out []User
	for _, id := range ids {
		if u, ok := a.users[id]; ok {
			u.Fields = maps.Clone(u.Fields)
			out = append(out, u)
		}
	}
	return out, 1, nil
}

func (a *memAccessplanit) UsersByEmail(_ context.Context, email string) ([]User, error) {
	a.reads++
	var out []User
	for _, u := range a.users {
		if u.Email() == email {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
	return out, nil
}

func (a *memAccessplanit) CreateUser(_ context.Context, fields map[string]string) (User, error) {
	a.writes++
	if err := a.next(); err != nil {
		return User{}, err
	}
	a.nextID++
	id := strconv.Itoa(1000 + a.nextID)
	u := User{ID: id, Fields: maps.Clone(fields), UpdatedAt: time.Now(), UpdatedByID: "api-owner"}
	u.Fields["ID"] = id
	a.users[id] = u
	return u, nil
}

func (a *memAccessplanit) UpdateUser(_ context.Context, id string, fields map[string]string) error {
	a.writes++
	if err := a.next(); err != nil {
		return err
	}
	u, ok := a.users[id]
	if !ok {
		return ErrNotFound
	}
	maps.Copy(u.Fields, fields)
	u.UpdatedByID = "api-owner"
	a.users[id] = u
	if a.onWrite != nil {
		a.onWrite(u)
	}
	return nil
}

type memConnector struct {
	mc *memMailchimp
	ap *memAccessplanit
}

func (c memConnector) Mailchimp(Instance) (Mailchimp, error)       { return c.mc, nil }
func (c memConnector) Accessplanit(Instance) (Accessplanit, error) { return c.ap, nil }
