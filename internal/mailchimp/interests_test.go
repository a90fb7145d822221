package mailchimp

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
)

func TestInterestsAndPermissions(t *testing.T) {
	sim, listID, c := audience(t)
	ctx := context.Background()
	depts, err := sim.AddInterestCategory(listID, "Departments", "checkboxes")
	if err != nil {
		t.Fatal(err)
	}
	sales, _ := sim.AddInterest(listID, depts, "Sales")
	support, _ := sim.AddInterest(listID, depts, "Support")
	regions, _ := sim.AddInterestCategory(listID, "Regions", "radio")
	north, _ := sim.AddInterest(listID, regions, "North")

	cats, err := c.InterestCategories(ctx, listID)
	if err != nil {
		t.Fatalf("InterestCategories() error = %v", err)
	}
	if len(cats) != 2 || cats[0].Title != "Departments" || cats[0].Type != "checkboxes" || !maps.Equal(cats[0].Interests, map[string]string{"Sales": sales, "Support": support}) ||
		cats[1].Title != "Regions" || cats[1].Type != "radio" || cats[1].Interests["North"] != north {
		t.Errorf("InterestCategories() = %+v", cats)
	}

	if _, found, err := c.MarketingPermissions(ctx, listID); err != nil || found {
		t.Errorf("MarketingPermissions() of an empty audience: found %v, error %v; want not found", found, err)
	}
	email, _ := sim.AddMarketingPermission(listID, "Email")

	// A member in another category keeps it when this one is written.
	if _, err := c.UpsertMember(ctx, listID, apmc.Member{Email: "ada@example.com", Interests: map[string]bool{north: true}}, "subscribed"); err != nil {
		t.Fatalf("UpsertMember(North) error = %v", err)
	}
	m, err := c.UpsertMember(ctx, listID, apmc.Member{Email: "ada@example.com", Interests: map[string]bool{sales: true, support: false}, MarketingPermissions: map[string]bool{email: true}}, "subscribed")
	if err != nil {
		t.Fatalf("UpsertMember(Sales) error = %v", err)
	}
	if !m.Interests[sales] || m.Interests[support] || !m.Interests[north] || !m.MarketingPermissions[email] {
		t.Errorf("member after the writes: interests %v, permissions %v; want Sales and North, Email enabled", m.Interests, m.MarketingPermissions)
	}
	perms, found, err := c.MarketingPermissions(ctx, listID)
	if err != nil || !found || len(perms) != 1 || perms[0].ID != email || perms[0].Text != "Email" {
		t.Errorf("MarketingPermissions() = %v, %v, %v; want the Email permission", perms, found, err)
	}
	if _, err := c.UpsertMember(ctx, listID, apmc.Member{Email: "ada@example.com", Interests: map[string]bool{"nope": true}}, "subscribed"); err == nil || !apmc.IsPermanent(err) {
		t.Errorf("UpsertMember(unknown interest) error = %v, want a permanent error", err)
	}
}

func TestUnsubscribeAndBlocked(t *testing.T) {
	sim, listID, c := audience(t)
	ctx := context.Background()
	if _, err := c.UpsertMember(ctx, listID, apmc.Member{Email: "ada@example.com"}, "subscribed"); err != nil {
		t.Fatal(err)
	}
	m, err := c.Unsubscribe(ctx, listID, "ada@example.com")
	if err != nil || m.Status != "unsubscribed" {
		t.Errorf("Unsubscribe() = %s, %v; want unsubscribed", m.Status, err)
	}
	if err := sim.SetComplianceState(listID, "ada@example.com", true); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpsertMember(ctx, listID, apmc.Member{Email: "ada@example.com", MergeFields: apmc.Values{"FNAME": "Ada"}}, "subscribed")
	reason, blocked := apmc.BlockedReason(err)
	if !blocked || !strings.Contains(reason, "Member In Compliance State") || !apmc.IsPermanent(err) {
		t.Errorf("UpsertMember(compliance state) error = %v; want blocked with Mailchimp's title", err)
	}
	if _, err := c.UpsertMember(ctx, listID, apmc.Member{Email: "bob@example.com"}, "subscribed"); err != nil {
		t.Fatal(err)
	}
	if err := sim.Forget(listID, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpsertMember(ctx, listID, apmc.Member{Email: "bob@example.com"}, "subscribed")
	if reason, blocked := apmc.BlockedReason(err); !blocked || !strings.Contains(reason, "Forgotten Email Not Subscribed") {
		t.Errorf("UpsertMember(forgotten) error = %v; want blocked", err)
	}
}
