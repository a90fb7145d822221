package backfill

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// UserPages reads the platform's Users page by page.
type UserPages interface {
	// UserPage returns page n (from 0) of the Users, with at least the
	// given properties; an empty page is the end.
	UserPage(ctx context.Context, n int, fields []string) ([]apmc.User, error)
}

// MemberPages reads the audience's members page by page.
type MemberPages interface {
	// MemberPage returns page n (from 0) of the audience's members; an empty
	// page is the end.
	MemberPage(ctx context.Context, n int) ([]apmc.Member, error)
}

// ContactStates lists what the service remembers of an instance's contacts.
type ContactStates interface {
	// EachContact calls fn with every contact state of the instance.
	EachContact(ctx context.Context, instanceID string, fn func(apmc.Contact) error) error
}

// Progress is told how far a long read has gone: the stage ("users",
// "members", "contacts", "apply") and the items done.
type Progress func(stage string, done int)

// Plan is a classified first sync that has written nothing.
type Plan struct {
	ID         string                  `json:"plan_id"`
	InstanceID string                  `json:"instance_id"`
	CreatedAt  time.Time               `json:"created_at"`
	ExpiresAt  time.Time               `json:"expires_at"`
	Counts     map[apmc.PairAction]int `json:"counts"`
	// Shared counts the Users left alone because a more recently changed
	// User has their email.
	Shared   int             `json:"shared_emails"`
	Contacts []apmc.PairPlan `json:"-"`
}

// PlanTTL is how long a plan can be inspected and applied.
const PlanTTL = 24 * time.Hour

// Reader reads both sides of an instance for a plan.
type Reader struct {
	Users    UserPages
	Members  MemberPages
	Contacts ContactStates
	Progress Progress
}

// Pairs reads both sides completely and pairs them: a User linked to a
// contact is paired with that contact's member even when its email changed
// since (a move, not a new contact), then Users and members are paired by
// email. Deleted Users are left out; a User without an email is a pair of
// its own, not one of many Users sharing the empty email.
func (r Reader) Pairs(ctx context.Context, in apmc.Instance) ([]apmc.Pair, error) {
	// The contact states first: a contact the live sync writes while the
	// sides are read then has a newer version than the one read, and an
	// apply's conditional writes leave it to the live sync instead of
	// deciding it from a state older than the sides.
	contacts := map[string]apmc.Contact{}
	if r.Contacts != nil {
		n := 0
		if err := r.Contacts.EachContact(ctx, in.ID, func(c apmc.Contact) error {
			contacts[c.Email] = c
			if n++; r.Progress != nil && n%1000 == 0 {
				r.Progress("contacts", n)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("read contact states: %w", err)
		}
	}

	fields := apmc.WithTagsField(in, apmc.MappedFields(in.Mappings))
	users := map[string][]apmc.User{} // by email
	byID := map[string]string{}       // User ID → email
	var noEmail []apmc.User           // each its own (invalid) pair
	if err := pages(ctx, "users", r.Progress, func(n int) (int, error) {
		page, err := r.Users.UserPage(ctx, n, fields)
		for _, u := range page {
			if u.Fields["Status"] == "Deleted" {
				continue
			}
			e := u.Email()
			if e == "" {
				noEmail = append(noEmail, u)
				continue
			}
			users[e] = append(users[e], u)
			byID[u.ID] = e
		}
		return len(page), err
	}); err != nil {
		return nil, fmt.Errorf("read accessplanit users: %w", err)
	}
	members := map[string]apmc.Member{}
	if err := pages(ctx, "members", r.Progress, func(n int) (int, error) {
		page, err := r.Members.MemberPage(ctx, n)
		for _, m := range page {
			members[apmc.NormaliseEmail(m.Email)] = m
		}
		return len(page), err
	}); err != nil {
		return nil, fmt.Errorf("read Mailchimp members: %w", err)
	}
	var out []apmc.Pair
	used := map[string]bool{} // member emails already paired
	// Moved in Mailchimp while its webhook was lost: the member the service
	// linked to a contact (by Mailchimp's contact id, which stays with the
	// person) now has another address. What that means for the User is the
	// instance's mailchimp_email_changes, as for a live email change.
	byContactID := map[string]string{} // member contact id → email
	for email, m := range members {
		if m.ContactID != "" {
			byContactID[m.ContactID] = email
		}
	}
	for email, c := range contacts {
		moved, ok := byContactID[c.MemberContactID]
		if _, still := members[email]; c.MemberContactID == "" || !ok || moved == email || still {
			continue
		}
		m := members[moved]
		used[moved] = true
		switch in.EmailChanges() {
		case apmc.EmailChangesFollow:
			// The linked User takes the new address: paired with the
			// member, its email is updated like any other field.
			var linked []apmc.User
			for _, u := range users[email] {
				if u.ID == c.UserID {
					linked = append(linked, u)
				}
			}
			users[email] = slices.DeleteFunc(users[email], func(u apmc.User) bool { return u.ID == c.UserID })
			if len(users[email]) == 0 {
				delete(users, email)
			}
			out = append(out, apmc.Pair{Email: moved, Users: linked, Member: &m, Contact: c})
		default:
			// The old address is not added back for the old User, and the
			// new one is a new User (new_user) or left alone (ignore).
			c.MovedTo = moved
			contacts[email] = c
			out = append(out, apmc.Pair{Email: moved, Users: users[moved], Member: &m, Contact: contacts[moved], MovedFrom: email})
			delete(users, moved)
		}
	}
	// Linked first: a contact whose User now has another email that the
	// audience does not hold yet is that member, moved.
	for email, c := range contacts {
		now, ok := byID[c.UserID]
		if c.UserID == "" || !ok || now == email {
			continue
		}
		m, held := members[email]
		if _, taken := members[now]; !held || taken {
			continue
		}
		var moved []apmc.User
		for _, u := range users[now] {
			if u.ID == c.UserID {
				moved = append(moved, u)
			}
		}
		out = append(out, apmc.Pair{Email: now, Users: moved, Member: &m, Contact: c})
		used[email] = true
		users[now] = slices.DeleteFunc(users[now], func(u apmc.User) bool { return u.ID == c.UserID })
		if len(users[now]) == 0 {
			delete(users, now)
		}
	}
	for email, us := range users {
		p := apmc.Pair{Email: email, Users: us, Contact: contacts[email]}
		if m, ok := members[email]; ok && !used[email] {
			p.Member = &m
			used[email] = true
		}
		out = append(out, p)
	}
	for _, u := range noEmail {
		out = append(out, apmc.Pair{Users: []apmc.User{u}})
	}
	for email, m := range members {
		if !used[email] {
			out = append(out, apmc.Pair{Email: email, Member: &m, Contact: contacts[email]})
		}
	}
	slices.SortFunc(out, func(a, b apmc.Pair) int {
		switch {
		case a.Email < b.Email:
			return -1
		case a.Email > b.Email:
			return 1
		}
		return 0
	})
	return out, nil
}

// NewPlan classifies every pair; it writes nothing.
func NewPlan(id string, in apmc.Instance, pairs []apmc.Pair, now time.Time) Plan {
	p := Plan{ID: id, InstanceID: in.ID, CreatedAt: now.UTC(), ExpiresAt: now.Add(PlanTTL).UTC()}
	p.Contacts = make([]apmc.PairPlan, 0, len(pairs))
	for _, pair := range pairs {
		cp := apmc.DecidePair(in, pair, now)
		p.Shared += len(cp.SharedWith)
		p.Contacts = append(p.Contacts, cp)
	}
	p.Counts = apmc.PlanCounts(p.Contacts)
	return p
}

// pages calls read with page numbers from 0 until it returns an empty page.
func pages(ctx context.Context, stage string, progress Progress, read func(n int) (int, error)) error {
	done := 0
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		got, err := read(n)
		if err != nil {
			return err
		}
		if got == 0 {
			return nil
		}
		done += got
		if progress != nil {
			progress(stage, done)
		}
	}
}

// Job states.
const (
	JobRunning   = "running"
	JobDone      = "done"
	JobCancelled = "cancelled"
	JobFailed    = "failed"
)

// Job is an instance's first-sync apply: one at a time per instance.
type Job struct {
	InstanceID string `json:"instance_id"`
	PlanID     string `json:"plan_id"`
	// RunID names the run that holds the job: a new apply takes a fresh
	// one, a continuation carries its job's on. Another run is refused
	// while this one holds the lease.
	RunID     string    `json:"run_id,omitempty"`
	Status    string    `json:"status"`
	Done      int       `json:"done"`
	Total     int       `json:"total"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// CancelRequested asks the running apply to stop after its batch.
	CancelRequested bool    `json:"cancel_requested,omitempty"`
	Result          *Result `json:"result,omitempty"`
	Error           string  `json:"error,omitempty"`
}

// JobLease is how long a running job may go without a progress update
// before another apply may take over (its runner died).
const JobLease = 10 * time.Minute
