package accessplanit_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	apsim "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
)

func TestSplitTags(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Gold", []string{"Gold"}},
		{" Gold , Silver,,VIP ", []string{"Gold", "Silver", "VIP"}},
	}
	for _, tt := range tests {
		if got := accessplanit.SplitTags(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("SplitTags(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDelegateStatus(t *testing.T) {
	for name, want := range map[string]apmc.DelegateStatus{
		"Booked": apmc.DelegateBooked, "attended": apmc.DelegateAttended, "Cancelled": apmc.DelegateCancelled,
		"Waiting List": apmc.DelegateWaiting, "On Hold": apmc.DelegateOther, "": apmc.DelegateOther,
	} {
		if got := accessplanit.DelegateStatus(name); got != want {
			t.Errorf("DelegateStatus(%q) = %s, want %s", name, got, want)
		}
	}
}

// The User's Tags are read as tags, and its delegates are read with
// GET UserCourseDate?$filter=UserID eq '…': only that User's.
func TestUserTagsAndDelegates(t *testing.T) {
	sim, c, company := platform(t)
	ctx := context.Background()
	ada, err := sim.AddUser(map[string]any{"Forenames": "Ada", "Surname": "Lovelace", "Email": "ada@example.com", "MainCompanyID": company, "Tags": "Gold, VIP"})
	if err != nil {
		t.Fatal(err)
	}
	grace, err := sim.AddUser(map[string]any{"Forenames": "Grace", "Surname": "Hopper", "Email": "grace@example.com", "MainCompanyID": company})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.User(ctx, ada)
	if err != nil || !slices.Equal(u.Tags, []string{"Gold", "VIP"}) {
		t.Errorf("User(%s) tags = %q (%v), want [Gold VIP]", ada, u.Tags, err)
	}
	users, _, err := c.Users(ctx, []string{ada}, []string{"Tags"})
	if err != nil || len(users) != 1 || !slices.Equal(users[0].Tags, []string{"Gold", "VIP"}) {
		t.Errorf("Users(%s, Tags) = %+v (%v), want the tags read", ada, users, err)
	}

	first, err := sim.BookInUI(apsim.Booking{UserID: ada, Course: "First Aid", StartDate: "2026-12-24"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.BookInUI(apsim.Booking{UserID: ada, Course: "Fire Safety", StartDate: "2026-11-02T09:00:00", Status: "Attended"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.BookInUI(apsim.Booking{UserID: grace, Course: "First Aid", StartDate: "2026-12-24"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.BookInUI(apsim.Booking{UserID: ada, Course: "First Aid", StartDate: "2026-12-24", Status: "cancelled"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Delegates(ctx, ada)
	if err != nil {
		t.Fatalf("Delegates(%s) error = %v", ada, err)
	}
	slices.SortFunc(got, func(a, b apmc.Delegate) int { return a.Start.Compare(b.Start) })
	want := []apmc.Delegate{
		{UserID: ada, Course: "Fire Safety", Status: apmc.DelegateAttended, RawStatus: "Attended",
			Start: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 2, 16, 0, 0, 0, time.UTC)},
		{ID: first, UserID: ada, Course: "First Aid", Status: apmc.DelegateCancelled, RawStatus: "Cancelled",
			Start: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 24, 7, 0, 0, 0, time.UTC)},
	}
	if len(got) == 2 {
		want[0].ID = got[0].ID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Delegates(%s) differ (-want +got):\n%s", ada, diff)
	}
	if _, err := c.Delegates(ctx, "1 or 1 eq 1"); !apmc.IsPermanent(err) {
		t.Errorf("Delegates(bad ID) error = %v, want a permanent refusal", err)
	}
}

// The delegates of many Users are read together: one request per 50 Users,
// with only the delegates of the Users asked for, and IDs that are not
// User IDs skipped rather than sent.
func TestDelegatesOfUsers(t *testing.T) {
	sim, c, company := platform(t)
	ctx := context.Background()
	tests := []struct {
		users, booked, wantRequests int
	}{
		{users: 1, booked: 1, wantRequests: 1},
		{users: 12, booked: 8, wantRequests: 1},
		{users: 51, booked: 51, wantRequests: 2},
	}
	other, err := sim.AddUser(map[string]any{"Forenames": "Not", "Surname": "Asked", "Email": "other@example.com", "MainCompanyID": company})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.BookInUI(apsim.Booking{UserID: other, Course: "First Aid", StartDate: "2026-12-24"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		var ids []string
		want := map[string]int{}
		for i := range tt.users {
			id, err := sim.AddUser(map[string]any{"Forenames": "User", "Surname": "Booked", "Email": "booked@example.com", "MainCompanyID": company})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			if i < tt.booked {
				for _, course := range []string{"First Aid", "Fire Safety"} {
					if _, err := sim.BookInUI(apsim.Booking{UserID: id, Course: course, StartDate: "2026-12-24"}); err != nil {
						t.Fatal(err)
					}
				}
				want[id] = 2
			}
		}
		before := sim.Stats().Requests["GET UserCourseDate"]
		got, requests, err := c.DelegatesOfUsers(ctx, append(ids, "1 or 1 eq 1"))
		if err != nil {
			t.Fatalf("DelegatesOfUsers(%d users) error = %v", tt.users, err)
		}
		if n := sim.Stats().Requests["GET UserCourseDate"] - before; n != tt.wantRequests || requests != tt.wantRequests {
			t.Errorf("DelegatesOfUsers(%d users) made %d requests (said %d), want %d", tt.users, n, requests, tt.wantRequests)
		}
		per := map[string]int{}
		for _, d := range got {
			per[d.UserID]++
		}
		if diff := cmp.Diff(want, per); diff != "" {
			t.Errorf("DelegatesOfUsers(%d users): delegates per User differ (-want +got):\n%s", tt.users, diff)
		}
	}
}

// A User with more delegates than one page still has every one of them
// read, whatever page the platform answers when none is asked for: a cut
// list would take the service's own booking tags off and set NEXTCOURSE
// wrong.
func TestDelegatesBeyondOnePage(t *testing.T) {
	sim, c, company := platform(t, func(o *apsim.Options) { o.DefaultPageSize = 100 })
	ctx := context.Background()
	booked := map[string]int{}
	var ids []string
	for _, u := range []struct {
		name     string
		bookings int
	}{{"Busy", accessplanit.PageSize + 50}, {"Quiet", 3}} {
		id, err := sim.AddUser(map[string]any{"Forenames": u.name, "Surname": "Delegate", "Email": strings.ToLower(u.name) + "@example.com", "MainCompanyID": company})
		if err != nil {
			t.Fatal(err)
		}
		for i := range u.bookings {
			if _, err := sim.BookInUI(apsim.Booking{UserID: id, Course: fmt.Sprintf("Course %04d", i), StartDate: "2027-01-15"}); err != nil {
				t.Fatal(err)
			}
		}
		ids, booked[id] = append(ids, id), u.bookings
	}
	distinct := func(ds []apmc.Delegate) map[string]int {
		seen, per := map[string]bool{}, map[string]int{}
		for _, d := range ds {
			if !seen[d.ID] {
				seen[d.ID] = true
				per[d.UserID]++
			}
		}
		return per
	}

	ds, err := c.Delegates(ctx, ids[0])
	if err != nil {
		t.Fatalf("Delegates(%s) error = %v", ids[0], err)
	}
	if got := distinct(ds)[ids[0]]; got != booked[ids[0]] || len(ds) != got {
		t.Errorf("Delegates(%s) = %d delegates (%d distinct), want all %d", ids[0], len(ds), got, booked[ids[0]])
	}

	all, requests, err := c.DelegatesOfUsers(ctx, ids)
	if err != nil {
		t.Fatalf("DelegatesOfUsers(%v) error = %v", ids, err)
	}
	if diff := cmp.Diff(booked, distinct(all)); diff != "" || len(all) != booked[ids[0]]+booked[ids[1]] {
		t.Errorf("DelegatesOfUsers(%v) = %d delegates; per User (-want +got):\n%s", ids, len(all), diff)
	}
	if requests != 2 {
		t.Errorf("DelegatesOfUsers(%v) made %d requests, want 2 (a full page, then the rest)", ids, requests)
	}
}
