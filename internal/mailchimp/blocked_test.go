package mailchimp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

func TestBatchSubscribeTellsBlockedMembers(t *testing.T) {
	sim, listID, c := audience(t)
	ctx := context.Background()
	for _, email := range []string{"held@example.com", "gone@example.com", "fine@example.com"} {
		if _, err := c.UpsertMember(ctx, listID, apmc.Member{Email: email}, "subscribed"); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.SetComplianceState(listID, "held@example.com", true); err != nil {
		t.Fatal(err)
	}
	if err := sim.Forget(listID, "gone@example.com"); err != nil {
		t.Fatal(err)
	}
	res, err := c.BatchSubscribe(ctx, listID, []apmc.Member{
		{Email: "held@example.com", MergeFields: apmc.Values{"FNAME": "Held"}},
		{Email: "gone@example.com", MergeFields: apmc.Values{"FNAME": "Gone"}},
		{Email: "fine@example.com", MergeFields: apmc.Values{"FNAME": "Fine"}},
		{Email: "bad@example", MergeFields: apmc.Values{"FNAME": "Bad"}},
	}, "subscribed")
	if err != nil {
		t.Fatalf("BatchSubscribe() error = %v", err)
	}
	for email, want := range map[string]bool{"held@example.com": true, "gone@example.com": true, "bad@example": false} {
		e, ok := res.Errors[email]
		if !ok {
			t.Errorf("BatchSubscribe() errors = %v, want one for %s", res.Errors, email)
			continue
		}
		if _, blocked := apmc.BlockedReason(e); blocked != want {
			t.Errorf("BlockedReason(%v) blocked = %v, want %v", e, blocked, want)
		}
	}
	if _, ok := res.Errors["fine@example.com"]; ok {
		t.Errorf("fine@example.com refused: %v", res.Errors["fine@example.com"])
	}
}

// Mailchimp refuses to re-subscribe a member who unsubscribed or bounced:
// the refusal is a blocked contact, and the member keeps its status. A
// write with status_if_new (what the service sends) still updates its
// fields and says the status it kept.
func TestResubscribeIsRefusedAsBlocked(t *testing.T) {
	sim, listID, c := audience(t)
	ctx := context.Background()
	if err := sim.Import(listID, []sbmc.ImportedMember{
		{EmailAddress: "gone@example.com", Status: "unsubscribed"},
		{EmailAddress: "bounced@example.com", Status: "cleaned"},
		{EmailAddress: "archived@example.com", Status: "archived"},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ email, status string }{
		{"gone@example.com", "unsubscribed"}, {"bounced@example.com", "cleaned"}, {"archived@example.com", "archived"},
	} {
		t.Run(tt.status, func(t *testing.T) {
			m, err := c.UpsertMember(ctx, listID, apmc.Member{Email: tt.email, MergeFields: apmc.Values{"FNAME": "Kept"}}, "subscribed")
			if err != nil || m.Status != tt.status || m.MergeFields["FNAME"] != "Kept" {
				t.Errorf("UpsertMember(status_if_new subscribed) = %s %v, %v; want the fields written and the status %s kept", m.Status, m.MergeFields, err, tt.status)
			}
			if tt.status == "archived" {
				return // an explicit status unarchives it (INFERRED in the simulator)
			}
			body := map[string]any{"email_address": tt.email, "status": "subscribed"}
			err = c.do(ctx, http.MethodPut, memberPath(listID, SubscriberHash(tt.email)), nil, body, nil)
			if _, blocked := apmc.BlockedReason(err); !blocked {
				t.Errorf("PUT status subscribed to a member %s: error %v, want a blocked contact (Member In Compliance State)", tt.status, err)
			}
			if m, _ := c.Member(ctx, listID, tt.email); m.Status != tt.status {
				t.Errorf("member status after the refused re-subscribe = %s, want %s", m.Status, tt.status)
			}
		})
	}
}

// A call on one member the audience no longer holds (permanently deleted)
// answers 404: the tags write and read and a PATCH are a blocked contact
// that still says not found, while the same 404 for an audience that does
// not exist stays a permanent failure (the configuration is wrong), as does
// a 404 to a list-level call or to a member lookup.
func TestMemberGoneFromTheAudienceIsBlocked(t *testing.T) {
	sim, listID, c := audience(t)
	ctx := context.Background()
	for _, email := range []string{"gone@example.com", "archived@example.com"} {
		if _, err := c.UpsertMember(ctx, listID, apmc.Member{Email: email}, "subscribed"); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.Forget(listID, "gone@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := sim.UnsubscribeInUI(listID, "archived@example.com", "delete"); err != nil {
		t.Fatal(err)
	}
	gold := []apmc.TagChange{{Name: "Gold", Active: true}}
	calls := map[string]func(listID, email string) error{
		"update tags": func(listID, email string) error {
			_, err := c.UpdateTags(ctx, listID, email, gold)
			return err
		},
		"read tags": func(listID, email string) error {
			_, err := c.MemberTags(ctx, listID, email)
			return err
		},
		"unsubscribe": func(listID, email string) error {
			_, err := c.Unsubscribe(ctx, listID, email)
			return err
		},
		"change email": func(listID, email string) error {
			_, err := c.ChangeEmail(ctx, listID, email, "elsewhere@example.com")
			return err
		},
		"member lookup": func(listID, email string) error {
			_, err := c.Member(ctx, listID, email)
			return err
		},
		"merge fields": func(listID, _ string) error {
			_, err := c.MergeFields(ctx, listID)
			return err
		},
	}
	tests := []struct {
		name, call, listID, email string
		ok, blocked               bool
	}{
		{"tags written to a deleted member", "update tags", listID, "gone@example.com", false, true},
		{"tags read of a deleted member", "read tags", listID, "gone@example.com", false, true},
		{"a deleted member unsubscribed", "unsubscribe", listID, "gone@example.com", false, true},
		{"a deleted member's address changed", "change email", listID, "gone@example.com", false, true},
		{"a deleted member looked up", "member lookup", listID, "gone@example.com", false, false},
		{"tags written to an archived member", "update tags", listID, "archived@example.com", true, false},
		{"tags read of an archived member", "read tags", listID, "archived@example.com", true, false},
		{"tags written in an unknown audience", "update tags", "nope", "archived@example.com", false, false},
		{"tags read in an unknown audience", "read tags", "nope", "archived@example.com", false, false},
		{"a PATCH in an unknown audience", "unsubscribe", "nope", "archived@example.com", false, false},
		{"merge fields of an unknown audience", "merge fields", "nope", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := calls[tt.call](tt.listID, tt.email)
			if tt.ok {
				if err != nil {
					t.Fatalf("%s: error = %v, want none (an archived member is still a member)", tt.call, err)
				}
				return
			}
			if !apmc.IsPermanent(err) || !errors.Is(err, apmc.ErrNotFound) {
				t.Errorf("%s: error = %v, want a permanent 404 that wraps apmc.ErrNotFound", tt.call, err)
			}
			reason, blocked := apmc.BlockedReason(err)
			if blocked != tt.blocked {
				t.Fatalf("%s: BlockedReason(%v) blocked = %v, want %v", tt.call, err, blocked, tt.blocked)
			}
			if blocked && (!strings.Contains(reason, "no longer in the audience") || !strings.Contains(reason, "404 Resource Not Found")) {
				t.Errorf("%s: blocked reason %q, want one saying the member is no longer in the audience and Mailchimp's 404", tt.call, reason)
			}
		})
	}
}

// When the audience cannot be read to tell a deleted member from a missing
// audience, the 404 is neither blocked nor permanent: the change is tried
// again.
func TestMemberGoneUndecidedIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		if strings.HasSuffix(r.URL.Path, "/tags") {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"title":"Resource Not Found","status":404,"detail":"The requested resource could not be found."}`)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"title":"Service Unavailable","status":503,"detail":"try later"}`)
	}))
	defer srv.Close()
	c, err := New(testKey, WithBaseURL(srv.URL+"/3.0"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateTags(context.Background(), "list1", "gone@example.com", []apmc.TagChange{{Name: "Gold", Active: true}})
	if _, blocked := apmc.BlockedReason(err); err == nil || blocked || apmc.IsPermanent(err) {
		t.Errorf("UpdateTags() error = %v (blocked %v, permanent %v), want a transient error", err, blocked, apmc.IsPermanent(err))
	}
}

// A member keeps its contact_id when its address changes in Mailchimp, and
// is found by it under the new address; an unknown contact_id is not found.
func TestMemberByContactID(t *testing.T) {
	_, listID, c := audience(t)
	ctx := context.Background()
	m, err := c.UpsertMember(ctx, listID, apmc.Member{Email: "ada@example.com"}, "subscribed")
	if err != nil || m.ContactID == "" {
		t.Fatalf("UpsertMember() = %+v, %v; want a member with a contact_id", m, err)
	}
	if _, err := c.ChangeEmail(ctx, listID, "ada@example.com", "ada@new.example.com"); err != nil {
		t.Fatalf("ChangeEmail() error = %v", err)
	}
	for _, tt := range []struct {
		name, contactID, wantEmail string
	}{
		{"moved", m.ContactID, "ada@new.example.com"},
		{"unknown", "0123456789abcdef", ""},
		{"none", "", ""},
	} {
		got, err := c.MemberByContactID(ctx, listID, tt.contactID)
		switch {
		case tt.wantEmail == "" && !errors.Is(err, apmc.ErrNotFound):
			t.Errorf("%s: MemberByContactID(%q) = %+v, %v; want not found", tt.name, tt.contactID, got, err)
		case tt.wantEmail != "" && (err != nil || got.Email != tt.wantEmail):
			t.Errorf("%s: MemberByContactID(%q) = %q, %v; want %q", tt.name, tt.contactID, got.Email, err, tt.wantEmail)
		}
	}
}
