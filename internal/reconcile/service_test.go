package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/reconcile"
)

// instances holds the instances a service reads.
type instances map[string]apmc.Instance

func (s instances) Instance(_ context.Context, id string) (apmc.Instance, error) {
	in, ok := s[id]
	if !ok {
		return apmc.Instance{}, fmt.Errorf("instance %s: %w", id, apmc.ErrNotFound)
	}
	return in, nil
}

// runs records the runs saved.
type runs struct{ saved []reconcile.Run }

func (r *runs) SaveRun(_ context.Context, run reconcile.Run) error {
	r.saved = append(r.saved, run)
	return nil
}

func (r *runs) LastRun(_ context.Context, id string) (reconcile.Run, error) {
	for i := len(r.saved) - 1; i >= 0; i-- {
		if r.saved[i].InstanceID == id {
			return r.saved[i], nil
		}
	}
	return reconcile.Run{}, apmc.ErrNotFound
}

func (r *runs) LastSuccess(_ context.Context, id string) (reconcile.Run, error) {
	for i := len(r.saved) - 1; i >= 0; i-- {
		if r.saved[i].InstanceID == id && r.saved[i].Succeeded() {
			return r.saved[i], nil
		}
	}
	return reconcile.Run{}, apmc.ErrNotFound
}

// contacts holds contact states by email.
type contacts map[string]apmc.Contact

func (c contacts) Contact(_ context.Context, _, email string) (apmc.Contact, error) {
	if got, ok := c[email]; ok {
		return got, nil
	}
	return apmc.Contact{}, apmc.ErrNotFound
}

func (c contacts) ContactByUserID(_ context.Context, _, userID string) (apmc.Contact, error) {
	for _, got := range c {
		if got.UserID == userID {
			return got, nil
		}
	}
	return apmc.Contact{}, apmc.ErrNotFound
}

func (c contacts) EachContact(_ context.Context, _ string, fn func(apmc.Contact) error) error {
	for _, got := range c {
		if err := fn(got); err != nil {
			return err
		}
	}
	return nil
}

// sides answer every User and member in one page, whatever the time.
type sides struct {
	users   []apmc.User
	members []apmc.Member
}

func (s sides) ChangedUsers(_ context.Context, n int, _ time.Time, _ []string) ([]apmc.User, error) {
	if n > 0 {
		return nil, nil
	}
	return s.users, nil
}

func (s sides) ChangedMembers(_ context.Context, n int, _ time.Time) ([]apmc.Member, error) {
	if n > 0 {
		return nil, nil
	}
	return s.members, nil
}

// queue records the changes enqueued.
type queue struct{ changes []apmc.Change }

func (q *queue) Enqueue(_ context.Context, c apmc.Change) error {
	q.changes = append(q.changes, c)
	return nil
}

// service is a reconciliation service over the fakes, at time now.
func service(in instances, both sides, states contacts, rs *runs, q *queue, now time.Time) reconcile.Service {
	return reconcile.Service{
		Instances: in,
		Connect:   func(apmc.Instance) (reconcile.Sides, error) { return reconcile.Sides{Users: both, Members: both}, nil },
		Contacts:  states, Runs: rs, Queue: q,
		Now: func() time.Time { return now },
	}
}

func TestReconcileOfAnUnknownInstanceWritesNothing(t *testing.T) {
	rs, q := &runs{}, &queue{}
	svc := service(instances{}, sides{}, contacts{}, rs, q, time.Now())
	_, err := svc.Reconcile(context.Background(), "no-such-instance", reconcile.Options{})
	if !errors.Is(err, apmc.ErrNotFound) || !strings.Contains(err.Error(), "no-such-instance") {
		t.Errorf("Reconcile(unknown) error = %v, want one naming the instance and wrapping apmc.ErrNotFound", err)
	}
	if len(rs.saved) != 0 || len(q.changes) != 0 {
		t.Errorf("Reconcile(unknown) saved %d run(s) and enqueued %d change(s), want none", len(rs.saved), len(q.changes))
	}
}

func TestFirstReconcileRepairsWhatChangedSinceTheInstanceWasCreated(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	created := now.Add(-2 * time.Hour)
	user := func(id, email string, changed time.Time) apmc.User {
		return apmc.User{ID: id, UpdatedAt: changed, Fields: map[string]string{"Forenames": "Mary", "Surname": "Shelley", "Email": email}}
	}
	both := sides{users: []apmc.User{
		user("1", "before@example.com", created.Add(-time.Minute)),
		user("2", "after@example.com", created.Add(time.Hour)),
	}}
	tests := []struct {
		name      string
		createdAt time.Time
		want      []string // the Users enqueued
		baseline  time.Time
	}{
		{"created before the first run", created, []string{"2"}, created},
		{"stored without a creation time", time.Time{}, nil, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := apmc.Instance{ID: "i", Mappings: apmc.DefaultMappings(), Direction: apmc.DirectionBoth, CreatedAt: tt.createdAt}
			rs, q := &runs{}, &queue{}
			run, err := service(instances{"i": in}, both, contacts{}, rs, q, now).Reconcile(context.Background(), "i", reconcile.Options{})
			if err != nil {
				t.Fatalf("Reconcile() error = %v", err)
			}
			var got []string
			for _, c := range q.changes {
				got = append(got, c.UserID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("first run enqueued Users %v, want %v", got, tt.want)
			}
			if !run.Baseline.Equal(tt.baseline) {
				t.Errorf("first run's baseline = %v, want %v", run.Baseline, tt.baseline)
			}
		})
	}
}

func TestReconcileEnqueuesAMembersChangeBeforeItsUsers(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	in := apmc.Instance{ID: "i", Mappings: apmc.DefaultMappings(), Direction: apmc.DirectionBoth, CreatedAt: now.Add(-24 * time.Hour)}
	synced := apmc.Values{"EMAIL": "grace@example.com", "FNAME": "Grace", "LNAME": "Hopper"}
	states := contacts{"grace@example.com": {InstanceID: "i", Email: "grace@example.com", UserID: "7", Version: 2,
		Accessplanit: apmc.SideState{Values: synced}, Mailchimp: apmc.SideState{Values: synced}}}
	both := sides{
		users:   []apmc.User{{ID: "7", UpdatedAt: now.Add(-2 * time.Hour), Fields: map[string]string{"Forenames": "Grace", "Surname": "Murray", "Email": "grace@example.com"}}},
		members: []apmc.Member{{Email: "grace@example.com", Status: "subscribed", LastChanged: now.Add(-time.Hour), MergeFields: apmc.Values{"FNAME": "Amazing Grace", "LNAME": "Hopper"}}},
	}
	q := &queue{}
	if _, err := service(instances{"i": in}, both, states, &runs{}, q, now).Reconcile(context.Background(), "i", reconcile.Options{}); err != nil {
		t.Fatalf("Reconcile() error = %v", err)
	}
	var got []apmc.Side
	for _, c := range q.changes {
		got = append(got, c.Source)
	}
	if want := []apmc.Side{apmc.SideMailchimp, apmc.SideAccessplanit}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes enqueued from %v, want %v (the member's first)", got, want)
	}
}

// A member the contact state holds unsubscribed that signed up again (its
// webhook lost) is enqueued as that subscribe, so the sync records it and
// the status field follows; one pending again, as a profile change.
func TestReconcileEnqueuesAMemberThatSignedUpAgain(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	in := apmc.Instance{ID: "i", Mappings: apmc.DefaultMappings(), Direction: apmc.DirectionBoth, CreatedAt: now.Add(-24 * time.Hour)}
	synced := apmc.Values{"EMAIL": "grace@example.com", "FNAME": "Grace", "LNAME": "Hopper"}
	for _, tt := range []struct {
		status string
		want   apmc.Event
	}{
		{"subscribed", apmc.EventSubscribe},
		{"pending", apmc.EventProfile},
	} {
		states := contacts{"grace@example.com": {InstanceID: "i", Email: "grace@example.com", UserID: "7", Version: 2,
			Accessplanit: apmc.SideState{Values: synced}, Mailchimp: apmc.SideState{Values: synced, Status: "unsubscribed"}}}
		both := sides{members: []apmc.Member{{Email: "grace@example.com", Status: tt.status, LastChanged: now.Add(-time.Hour), MergeFields: apmc.Values{"FNAME": "Grace", "LNAME": "Hopper"}}}}
		q := &queue{}
		if _, err := service(instances{"i": in}, both, states, &runs{}, q, now).Reconcile(context.Background(), "i", reconcile.Options{}); err != nil {
			t.Fatalf("Reconcile() error = %v", err)
		}
		if len(q.changes) != 1 || q.changes[0].Event != tt.want || q.changes[0].Source != apmc.SideMailchimp {
			t.Errorf("%s member held unsubscribed: enqueued %+v, want one %s from Mailchimp", tt.status, q.changes, tt.want)
		}
	}
}
