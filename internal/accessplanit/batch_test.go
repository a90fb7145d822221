package accessplanit_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
)

func TestValidUserID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"1042", true},
		{"a-B_9", true},
		{"1234567890123456789012345678901234567890123456789012345678901234", true},
		{"12345678901234567890123456789012345678901234567890123456789012345", false},
		{"", false},
		{"10 42", false},
		{"1042'", false},
		{"1' or ID ne '0", false},
		{"10/42", false},
		{"1042\n", false},
		{"١٠٤٢", false},
	}
	for _, tt := range tests {
		if got := accessplanit.ValidUserID(tt.id); got != tt.want {
			t.Errorf("ValidUserID(%q) = %t, want %t", tt.id, got, tt.want)
		}
	}
}

// TestUsersSkipsMalformedIDs checks that IDs that cannot be User IDs are
// left out of a batched read instead of failing it for every other ID, and
// that reading one on its own answers "not found".
func TestUsersSkipsMalformedIDs(t *testing.T) {
	_, c, company := platform(t)
	ctx := context.Background()
	var want []string
	for _, email := range []string{"ada@example.com", "grace@example.com"} {
		u, err := c.CreateUser(ctx, map[string]string{"Forenames": "A", "Surname": "B", "Email": email, "MainCompanyID": company})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, u.ID)
	}
	malformed := []string{`10"42`, "10 42", "1' or ID ne '0", "x\ny"}
	got, requests, err := c.Users(ctx, append([]string{want[0], malformed[0], malformed[1]}, append(malformed[2:], want[1])...), nil)
	if err != nil {
		t.Fatalf("Users() error = %v, want the valid IDs read", err)
	}
	if ids := ids(got); !slices.Equal(ids, want) {
		t.Errorf("Users() IDs = %v, want %v", ids, want)
	}
	if requests != 1 {
		t.Errorf("Users() made %d requests, want 1", requests)
	}
	if _, requests, err := c.Users(ctx, malformed, nil); err != nil || requests != 0 {
		t.Errorf("Users(only malformed) = %d requests, %v; want 0 requests and no error", requests, err)
	}
	for _, id := range malformed {
		if _, err := c.User(ctx, id); !errors.Is(err, apmc.ErrNotFound) {
			t.Errorf("User(%q) error = %v, want not found", id, err)
		}
	}
}
