package apmc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGroupUpserts(t *testing.T) {
	up := func(key, email string) *pendingUpsert {
		return &pendingUpsert{key: key, member: Member{Email: email}}
	}
	many := make([]*pendingUpsert, maxBatchUpserts+1)
	for i := range many {
		many[i] = up("a", fmt.Sprintf("p%d@example.com", i))
	}
	tests := []struct {
		name string
		ups  []*pendingUpsert
		want []int // the size of each call, in order
		// wantKeys are each call's audience.
		wantKeys []string
	}{
		{"one audience", []*pendingUpsert{up("a", "x@e.com"), up("a", "y@e.com"), up("a", "z@e.com")}, []int{3}, []string{"a"}},
		{"two audiences", []*pendingUpsert{up("a", "x@e.com"), up("b", "x@e.com"), up("a", "y@e.com")}, []int{2, 1}, []string{"a", "b"}},
		{"an address twice goes in a second call", []*pendingUpsert{up("a", "x@e.com"), up("a", "X@e.com"), up("a", "y@e.com")}, []int{2, 1}, []string{"a", "a"}},
		{"at most 500 a call", many, []int{maxBatchUpserts, 1}, []string{"a", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := groupUpserts(tt.ups)
			var sizes []int
			var keys []string
			total := 0
			for _, c := range calls {
				sizes = append(sizes, len(c))
				keys = append(keys, c[0].key)
				seen := map[string]bool{}
				for _, p := range c {
					if p.key != c[0].key {
						t.Errorf("call mixes audiences %q and %q", c[0].key, p.key)
					}
					if e := NormaliseEmail(p.member.Email); seen[e] {
						t.Errorf("call carries %s twice", e)
					}
					seen[NormaliseEmail(p.member.Email)] = true
				}
				total += len(c)
			}
			if diff := cmp.Diff(tt.want, sizes); diff != "" {
				t.Errorf("groupUpserts() call sizes mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantKeys, keys); diff != "" {
				t.Errorf("groupUpserts() call audiences mismatch (-want +got):\n%s", diff)
			}
			if total != len(tt.ups) {
				t.Errorf("groupUpserts() placed %d upserts, want %d", total, len(tt.ups))
			}
		})
	}
}

func TestMemberResults(t *testing.T) {
	members := []Member{{Email: "Ada@Example.com"}, {Email: "alan@example.com"}, {Email: "grace@example.com"}}
	refusal := errors.New("looks fake")
	callErr := errors.New("503")
	tests := []struct {
		name    string
		written map[string]Member
		refused map[string]error
		callErr error
		want    []string // per member: the written member's ID or the error
	}{
		{"each written", map[string]Member{"ada@example.com": {ID: "1"}, "alan@example.com": {ID: "2"}, "grace@example.com": {ID: "3"}}, nil, nil, []string{"1", "2", "3"}},
		{"one refused", map[string]Member{"ada@example.com": {ID: "1"}, "grace@example.com": {ID: "3"}}, map[string]error{"alan@example.com": refusal}, nil, []string{"1", "looks fake", "3"}},
		{"one not mentioned", map[string]Member{"ada@example.com": {ID: "1"}, "alan@example.com": {ID: "2"}}, nil, nil,
			[]string{"1", "2", "the batch answer from Mailchimp does not mention grace@example.com"}},
		{"the call failed", nil, nil, callErr, []string{"503", "503", "503"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range memberResults(members, tt.written, tt.refused, tt.callErr) {
				if r.err != nil {
					got = append(got, r.err.Error())
					if IsPermanent(r.err) {
						t.Errorf("result error %v is permanent, want what the call said", r.err)
					}
					continue
				}
				got = append(got, r.member.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("memberResults() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// callLog is a Mailchimp client recording the calls a Batch makes.
type callLog struct {
	mu    sync.Mutex
	calls [][]string // the emails of each call
}

func (c *callLog) record(ms ...Member) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var emails []string
	for _, m := range ms {
		emails = append(emails, m.Email)
	}
	c.calls = append(c.calls, emails)
}

func (c *callLog) UpsertMember(_ context.Context, _ string, m Member, _ string) (Member, error) {
	c.record(m)
	return Member{Email: m.Email, ID: "single"}, nil
}

func (c *callLog) UpsertMembers(_ context.Context, _ string, ms []Member, _ string) (map[string]Member, map[string]error, error) {
	c.record(ms...)
	out := map[string]Member{}
	for _, m := range ms {
		out[m.Email] = Member{Email: m.Email, ID: "batch"}
	}
	return out, nil, nil
}

func (c *callLog) Member(context.Context, string, string) (Member, error) {
	return Member{}, ErrNotFound
}
func (c *callLog) ChangeEmail(context.Context, string, string, string) (Member, error) {
	return Member{}, ErrNotFound
}

func (c *callLog) Unsubscribe(context.Context, string, string) (Member, error) {
	return Member{}, errors.New("not called by a Batch")
}

func (c *callLog) UpdateTags(context.Context, string, string, []TagChange) (time.Time, error) {
	return time.Time{}, errors.New("not called by a Batch")
}

func (c *callLog) MemberTags(context.Context, string, string) ([]MemberTag, error) {
	return nil, errors.New("not called by a Batch")
}

func (c *callLog) MemberByContactID(context.Context, string, string) (Member, error) {
	return Member{}, errors.New("not called by a Batch")
}

// TestBatchWaitsForEveryRunningGroup shows when a Batch sends: once every
// running group waits (one call for all), when a group ends without a write,
// or after Linger when a group is still busy; a lone write is a single PUT.
func TestBatchWaitsForEveryRunningGroup(t *testing.T) {
	in := Instance{ID: "i", MailchimpListID: "l", StatusIfNew: "subscribed"}
	tests := []struct {
		name    string
		writers int // groups that write
		idle    int // groups that end without writing
		busy    bool
		want    []int // call sizes
		minWait time.Duration
	}{
		{"all write", 4, 0, false, []int{4}, 0},
		{"some end without a write", 3, 2, false, []int{3}, 0},
		{"one group is busy: Linger", 3, 0, true, []int{3}, 40 * time.Millisecond},
		{"a lone write", 1, 0, false, []int{1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &callLog{}
			b := &Batch{Linger: 50 * time.Millisecond}
			groups := tt.writers + tt.idle
			if tt.busy {
				groups++
			}
			for range groups {
				b.Begin()
			}
			start := time.Now()
			var wg sync.WaitGroup
			results := make([]string, tt.writers)
			for i := range tt.writers {
				wg.Go(func() {
					defer b.End()
					m, call, err := b.upsert(context.Background(), log, in, Member{Email: fmt.Sprintf("p%d@example.com", i)}, "subscribed", nil, nil)
					if err != nil || call.members != len(results) {
						t.Errorf("upsert() = %+v, %v; want written in a call of %d", call, err, len(results))
					}
					results[i] = m.ID
				})
			}
			for range tt.idle {
				wg.Go(func() {
					time.Sleep(5 * time.Millisecond)
					b.End()
				})
			}
			wg.Wait()
			if took := time.Since(start); took < tt.minWait {
				t.Errorf("writes went out after %v, want at least %v (Linger)", took, tt.minWait)
			}
			if tt.busy {
				b.End()
			}
			var sizes []int
			for _, c := range log.calls {
				sizes = append(sizes, len(c))
			}
			if diff := cmp.Diff(tt.want, sizes); diff != "" {
				t.Errorf("call sizes mismatch (-want +got):\n%s", diff)
			}
			wantID := "batch"
			if tt.writers == 1 {
				wantID = "single"
			}
			for i, id := range results {
				if id != wantID {
					t.Errorf("write %d answered by %q, want %q", i, id, wantID)
				}
			}
		})
	}
}

// slowLog is a callLog whose calls take delay, noting the addresses two
// calls wrote at once.
type slowLog struct {
	*callLog
	delay    time.Duration
	mu       sync.Mutex
	active   map[string]bool
	overlaps []string
}

func (s *slowLog) UpsertMembers(ctx context.Context, listID string, ms []Member, statusIfNew string) (map[string]Member, map[string]error, error) {
	s.mark(ms, true)
	defer s.mark(ms, false)
	time.Sleep(s.delay)
	return s.callLog.UpsertMembers(ctx, listID, ms, statusIfNew)
}

func (s *slowLog) UpsertMember(ctx context.Context, listID string, m Member, statusIfNew string) (Member, error) {
	s.mark([]Member{m}, true)
	defer s.mark([]Member{m}, false)
	time.Sleep(s.delay)
	return s.callLog.UpsertMember(ctx, listID, m, statusIfNew)
}

func (s *slowLog) mark(ms []Member, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range ms {
		e := NormaliseEmail(m.Email)
		if on && s.active[e] {
			s.overlaps = append(s.overlaps, e)
		}
		s.active[e] = on
	}
}

// TestBatchWritesOneMemberInOrder gives a Batch two writes of one member
// from two groups (a booking is queued by User, a profile change by
// address) beside a third: the second write goes out in a call of its own,
// only once the call carrying the first is answered.
func TestBatchWritesOneMemberInOrder(t *testing.T) {
	in := Instance{ID: "i", MailchimpListID: "l", StatusIfNew: "subscribed"}
	log := &slowLog{callLog: &callLog{}, delay: 30 * time.Millisecond, active: map[string]bool{}}
	b := &Batch{Linger: time.Second}
	writes := []Member{{Email: "ada@example.com"}, {Email: "Ada@Example.com"}, {Email: "alan@example.com"}}
	for range writes {
		b.Begin()
	}
	var wg sync.WaitGroup
	for _, m := range writes {
		wg.Go(func() {
			defer b.End()
			if _, _, err := b.upsert(context.Background(), log, in, m, "subscribed", nil, nil); err != nil {
				t.Errorf("upsert(%s) error = %v", m.Email, err)
			}
		})
		time.Sleep(10 * time.Millisecond) // the writes wait in this order
	}
	wg.Wait()
	if len(log.overlaps) > 0 {
		t.Errorf("addresses written by two calls at once: %v, want none", log.overlaps)
	}
	want := [][]string{{"ada@example.com", "alan@example.com"}, {"Ada@Example.com"}}
	if diff := cmp.Diff(want, log.calls); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}
