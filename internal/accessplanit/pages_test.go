package accessplanit_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	apsim "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
)

// importUsers silently stores n Users, User i last updated at base + i
// minutes, and returns their IDs in order.
func importUsers(t *testing.T, sim *apsim.Server, n int, base time.Time) []string {
	t.Helper()
	users := make([]map[string]any, n)
	for i := range users {
		users[i] = map[string]any{
			"Forenames": fmt.Sprint("F", i), "Surname": "S", "Email": fmt.Sprintf("u%04d@example.com", i),
			"JobTitle": "Trainer", "CF_Region": fmt.Sprint("R", i%3),
			"DateUpdated": base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
		}
	}
	ids, err := sim.ImportUsers(users)
	if err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	return ids
}

func idsOf(users []apmc.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func TestUsersPage(t *testing.T) {
	sim, c, _ := platform(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := importUsers(t, sim, 7, base)
	tests := []struct {
		name string
		page accessplanit.PageQuery
		want []string
	}{
		{"first page", accessplanit.PageQuery{Top: 3}, ids[:3]},
		{"a later page", accessplanit.PageQuery{Top: 3, Skip: 6}, ids[6:]},
		{"past the end", accessplanit.PageQuery{Top: 3, Skip: 7}, []string{}},
		{"default page size", accessplanit.PageQuery{}, ids},
		{"updated since is inclusive", accessplanit.PageQuery{UpdatedSince: base.Add(4 * time.Minute)}, ids[4:]},
		{"updated since in another zone", accessplanit.PageQuery{UpdatedSince: base.Add(5 * time.Minute).In(time.FixedZone("CET", 3600))}, ids[5:]},
		{"updated since and paging", accessplanit.PageQuery{UpdatedSince: base.Add(2 * time.Minute), Top: 2, Skip: 1}, ids[3:5]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.UsersPage(context.Background(), tt.page)
			if err != nil {
				t.Fatalf("UsersPage(%+v) error = %v", tt.page, err)
			}
			if g := idsOf(got); !slices.Equal(g, tt.want) {
				t.Errorf("UsersPage(%+v) IDs = %v, want %v", tt.page, g, tt.want)
			}
		})
	}
}

func TestUsersPageSelectsFields(t *testing.T) {
	sim, c, _ := platform(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	importUsers(t, sim, 1, base)
	got, err := c.UsersPage(context.Background(), accessplanit.PageQuery{Fields: []string{"CF_Region", "forenames"}})
	if err != nil || len(got) != 1 {
		t.Fatalf("UsersPage() = %v, %v; want one User", got, err)
	}
	u := got[0]
	var keys []string
	for k := range u.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"CF_Region", "DateUpdated", "Email", "Forenames", "ID", "Status", "UpdatedByID"}; !slices.Equal(keys, want) {
		t.Errorf("UsersPage() fields = %v, want %v (JobTitle not read)", keys, want)
	}
	if !u.UpdatedAt.Equal(base) || u.UpdatedByID != "1" || u.Fields["CF_Region"] != "R0" {
		t.Errorf("UsersPage() = %+v, want UpdatedAt %v, UpdatedByID 1, CF_Region R0", u, base)
	}
}

func TestUsersPageRefusesBadPages(t *testing.T) {
	_, c, _ := platform(t)
	for _, p := range []accessplanit.PageQuery{{Top: accessplanit.PageSize + 1}, {Top: -1}, {Skip: -1}} {
		if _, err := c.UsersPage(context.Background(), p); !apmc.IsPermanent(err) {
			t.Errorf("UsersPage(%+v) error = %v, want a permanent error", p, err)
		}
	}
}

func TestUserPagesWalksEveryUser(t *testing.T) {
	tests := []struct {
		users, top   int
		wantRequests int // pages with Users, then the empty one
	}{
		{0, 0, 1},
		{5, 2, 4},
		{6, 2, 4},
		{2100, 0, 4},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.users)+"/"+strconv.Itoa(tt.top), func(t *testing.T) {
			sim, c, _ := platform(t)
			ids := importUsers(t, sim, tt.users, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			var got []string
			for page, err := range c.UserPages(context.Background(), accessplanit.PageQuery{Top: tt.top}) {
				if err != nil {
					t.Fatalf("UserPages() error = %v", err)
				}
				got = append(got, idsOf(page)...)
			}
			if !slices.Equal(got, ids) {
				t.Errorf("UserPages() read %d Users, want all %d in ID order", len(got), len(ids))
			}
			if n := sim.Stats().Requests["GET User"]; n != tt.wantRequests {
				t.Errorf("UserPages() made %d requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

func TestUserPagesStopsAtAnError(t *testing.T) {
	sim, c, _ := platform(t)
	importUsers(t, sim, 5, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	pages := 0
	var last error
	for _, err := range c.UserPages(context.Background(), accessplanit.PageQuery{Top: 2}) {
		if err != nil {
			last = err
			continue
		}
		pages++
		if pages == 1 {
			sim.InjectFaults(apsim.Fault{Status: 503, Count: 1})
		}
	}
	if pages != 1 || last == nil || apmc.IsPermanent(last) {
		t.Errorf("UserPages() with a 503 on page 2 = %d pages, error %v; want 1 page then a transient error", pages, last)
	}
}
