package mailchimp

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// audience starts the Mailchimp simulator on 127.0.0.1 with one audience
// and returns it, the audience id and a client for it.
func audience(t *testing.T) (*sbmc.Server, string, *Client) {
	t.Helper()
	sim := sbmc.New(sbmc.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	listID := sim.AddList(testKey, "Audience")
	c, err := New(testKey, WithBaseURL(srv.URL+"/3.0"))
	if err != nil {
		t.Fatal(err)
	}
	return sim, listID, c
}

func TestBatchSubscribeNeverChangesAnExistingStatus(t *testing.T) {
	sim, listID, c := audience(t)
	if err := sim.Import(listID, []sbmc.ImportedMember{
		{EmailAddress: "gone@example.com", Status: "unsubscribed", MergeFields: map[string]any{"FNAME": "Old"}},
		{EmailAddress: "here@example.com", MergeFields: map[string]any{"FNAME": "Here"}},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := c.BatchSubscribe(context.Background(), listID, []apmc.Member{
		{Email: "Gone@Example.com", Status: "subscribed", MergeFields: apmc.Values{"FNAME": "New"}},
		{Email: "here@example.com", MergeFields: apmc.Values{"LNAME": "Now"}},
		{Email: "fresh@example.com", MergeFields: apmc.Values{"EMAIL": "fresh@example.com", "FNAME": "Fresh"}},
		{Email: "no-at-sign.example.com"},
	}, "pending")
	if err != nil {
		t.Fatalf("BatchSubscribe() error = %v", err)
	}
	emails := func(ms []apmc.Member) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Email)
		}
		slices.Sort(out)
		return out
	}
	if got := emails(res.Created); !slices.Equal(got, []string{"fresh@example.com"}) {
		t.Errorf("Created = %v, want [fresh@example.com]", got)
	}
	if got := emails(res.Updated); !slices.Equal(got, []string{"gone@example.com", "here@example.com"}) {
		t.Errorf("Updated = %v, want gone@ and here@", got)
	}
	be, ok := res.Errors["no-at-sign.example.com"]
	if len(res.Errors) != 1 || !ok || be.Code != "ERROR_GENERIC" || be.Message == "" || !strings.Contains(be.Error(), be.Message) {
		t.Errorf("Errors = %+v, want one ERROR_GENERIC with Mailchimp's message for no-at-sign.example.com", res.Errors)
	}
	for email, want := range map[string]struct{ status, fname string }{
		"gone@example.com":  {"unsubscribed", "New"},
		"here@example.com":  {"subscribed", "Here"},
		"fresh@example.com": {"pending", "Fresh"},
	} {
		m, _ := sim.Member(listID, email)
		if m.Status != want.status || m.MergeFields["FNAME"] != want.fname {
			t.Errorf("member %s = %s FNAME %v, want %s FNAME %s", email, m.Status, m.MergeFields["FNAME"], want.status, want.fname)
		}
	}
}

func TestBatchSubscribeRefusesBeforeSending(t *testing.T) {
	sim, listID, c := audience(t)
	many := make([]apmc.Member, MaxBatchMembers+1)
	for i := range many {
		many[i] = apmc.Member{Email: fmt.Sprintf("m%d@example.com", i)}
	}
	tests := []struct {
		name        string
		members     []apmc.Member
		statusIfNew string
	}{
		{"too many", many, "subscribed"},
		{"no address", []apmc.Member{{MergeFields: apmc.Values{"FNAME": "X"}}}, "subscribed"},
		{"an address twice", []apmc.Member{{Email: "a@example.com"}, {Email: "A@example.com"}}, "subscribed"},
		{"a bad status", []apmc.Member{{Email: "a@example.com"}}, "archived"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.BatchSubscribe(context.Background(), listID, tt.members, tt.statusIfNew); !apmc.IsPermanent(err) {
				t.Errorf("BatchSubscribe() error = %v, want a permanent error", err)
			}
		})
	}
	if n := sim.Stats().Requests["POST"]; n != 0 {
		t.Errorf("requests sent = %d, want 0", n)
	}
	res, err := c.BatchSubscribe(context.Background(), listID, many[:MaxBatchMembers], "subscribed")
	if err != nil || len(res.Created) != MaxBatchMembers {
		t.Errorf("BatchSubscribe(%d members) = %d created, %v; want all created", MaxBatchMembers, len(res.Created), err)
	}
}

func TestMembersPage(t *testing.T) {
	sim, listID, c := audience(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var in []sbmc.ImportedMember
	for i := range 12 {
		status := "subscribed"
		if i%4 == 3 {
			status = "unsubscribed"
		}
		in = append(in, sbmc.ImportedMember{EmailAddress: fmt.Sprintf("M%02d@example.com", i), Status: status,
			MergeFields: map[string]any{"FNAME": fmt.Sprint("F", i), "LNAME": "L"}, LastChanged: base.Add(time.Duration(i) * time.Hour)})
	}
	if err := sim.Import(listID, in); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var all []apmc.Member
	for offset := 0; ; offset += 5 {
		page, total, err := c.MembersPage(ctx, listID, offset, 5, time.Time{}, nil)
		if err != nil || total != 12 {
			t.Fatalf("MembersPage(offset %d) = total %d, %v; want 12", offset, total, err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
	}
	if len(all) != 12 {
		t.Fatalf("members read in pages = %d, want 12", len(all))
	}
	first := all[0]
	if first.Email != "m00@example.com" || first.ID != SubscriberHash("m00@example.com") || first.Status != "subscribed" ||
		first.ContactID == "" || !first.LastChanged.Equal(base) || first.MergeFields["FNAME"] != "F0" || first.MergeFields["LNAME"] != "L" || first.MergeFields["EMAIL"] != "m00@example.com" {
		t.Errorf("first member = %+v, want m00 with id, contact id, status, last changed and merge fields", first)
	}
	if all[3].Status != "unsubscribed" {
		t.Errorf("member 3 status = %s, want unsubscribed", all[3].Status)
	}

	since, total, err := c.MembersPage(ctx, listID, 0, MaxMembersPage, base.Add(9*time.Hour), []string{"fname"})
	if err != nil || total != 2 || len(since) != 2 {
		t.Fatalf("MembersPage(since 9h) = %d members, total %d, %v; want 2 and 2", len(since), total, err)
	}
	if since[0].Email != "m10@example.com" || since[0].MergeFields["FNAME"] != "F10" || since[0].MergeFields["LNAME"] != "" {
		t.Errorf("MembersPage(since 9h, FNAME only)[0] = %+v, want m10 with FNAME and no LNAME", since[0])
	}

	for _, bad := range []struct{ offset, count int }{{0, 0}, {0, MaxMembersPage + 1}, {-1, 10}} {
		if _, _, err := c.MembersPage(ctx, listID, bad.offset, bad.count, time.Time{}, nil); !apmc.IsPermanent(err) {
			t.Errorf("MembersPage(offset %d, count %d) error = %v, want a permanent error", bad.offset, bad.count, err)
		}
	}
	if _, _, err := c.MembersPage(ctx, "nope", 0, 10, time.Time{}, nil); err == nil {
		t.Error("MembersPage(unknown audience) = nil error, want one")
	}
}
