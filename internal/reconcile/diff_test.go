package reconcile_test

import (
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/reconcile"
)

func TestDifferences(t *testing.T) {
	in := apmc.Instance{ID: "i", Mappings: apmc.DefaultMappings(), Direction: apmc.DirectionBoth}
	user := apmc.User{ID: "7", Fields: map[string]string{"Forenames": "Ada", "Surname": "Lovelace", "Email": "Ada@Example.com"}}
	userValues, _, err := apmc.MapToMailchimp(in.Mappings, user)
	if err != nil {
		t.Fatalf("MapToMailchimp() error = %v", err)
	}
	member := apmc.Member{Email: "ada@example.com", Status: "subscribed", MergeFields: apmc.Values{"FNAME": "Ada", "LNAME": "Lovelace"}}
	memberValues := apmc.MemberValues(in.Mappings, member)
	synced := &apmc.Contact{Email: "ada@example.com", UserID: "7", Version: 3,
		Accessplanit: apmc.SideState{Values: userValues}, Mailchimp: apmc.SideState{Values: memberValues}}
	renamedUser := apmc.User{ID: "7", Fields: map[string]string{"Forenames": "Augusta", "Surname": "Lovelace", "Email": "ada@example.com"}}
	deleted := apmc.User{ID: "7", Fields: map[string]string{"Forenames": "Ada", "Surname": "Lovelace", "Email": "ada@example.com", "Status": "Deleted"}}
	noEmail := apmc.User{ID: "8", Fields: map[string]string{"Forenames": "No", "Surname": "Email"}}

	users := []struct {
		name    string
		user    apmc.User
		contact *apmc.Contact
		want    bool
	}{
		{"unchanged since the last sync", user, synced, false},
		{"changed without a webhook", renamedUser, synced, true},
		{"never synced", user, nil, true},
		{"deleted", deleted, nil, false},
		{"no email", noEmail, nil, false},
	}
	for _, tt := range users {
		if got := reconcile.UserDiffers(in, tt.user, tt.contact); got != tt.want {
			t.Errorf("UserDiffers(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
	// An opt-out whose webhook was lost differs only when the instance
	// sends opt-outs to Mailchimp.
	yes := true
	optedIn := *synced
	optedIn.MarketingOptIn = &yes
	for _, tt := range []struct {
		consent *apmc.Consent
		want    bool
	}{{nil, false}, {&apmc.Consent{}, false}, {&apmc.Consent{OptoutsToMailchimp: true}, true}} {
		withConsent := in
		withConsent.Consent = tt.consent
		if got := reconcile.UserDiffers(withConsent, user, &optedIn); got != tt.want {
			t.Errorf("UserDiffers(lost opt-out, consent %+v) = %v, want %v", tt.consent, got, tt.want)
		}
	}

	edited := member
	edited.MergeFields = apmc.Values{"FNAME": "Augusta", "LNAME": "Lovelace"}
	unsubscribed := edited
	unsubscribed.Status = "unsubscribed"
	pending := edited
	pending.Status = "pending"
	members := []struct {
		name    string
		member  apmc.Member
		contact *apmc.Contact
		want    bool
	}{
		{"unchanged since the last sync", member, synced, false},
		{"changed without a webhook", edited, synced, true},
		{"pending and changed", pending, synced, true},
		{"never synced", member, nil, true},
		{"unsubscribed", unsubscribed, synced, false},
	}
	for _, tt := range members {
		if got := reconcile.MemberDiffers(in, tt.member, tt.contact); got != tt.want {
			t.Errorf("MemberDiffers(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
	// An unsubscribe or cleaned address whose webhook was lost differs only
	// when the instance applies it to accessplanit and the state does not
	// know it was applied.
	cleaned := member
	cleaned.Status = "cleaned"
	applied := *synced
	applied.Mailchimp.Status = "unsubscribed"
	wasSubscribed := *synced
	wasSubscribed.Mailchimp.Status = "subscribed"
	optouts := &apmc.Consent{OptoutsToAccessplanit: true}
	statuses := []struct {
		name        string
		member      apmc.Member
		contact     *apmc.Contact
		consent     *apmc.Consent
		statusField string
		want        bool
	}{
		{"unsubscribed, opt-outs to accessplanit", unsubscribed, synced, optouts, "", true},
		{"unsubscribed, last known subscribed", unsubscribed, &wasSubscribed, optouts, "", true},
		{"unsubscribed, never synced", unsubscribed, nil, optouts, "", true},
		{"unsubscribed, status field", unsubscribed, synced, nil, "CF_MailchimpStatus", true},
		{"unsubscribed, already applied", unsubscribed, &applied, optouts, "", false},
		{"unsubscribed, nothing flows back", unsubscribed, synced, &apmc.Consent{}, "", false},
		{"cleaned, status field", cleaned, synced, nil, "CF_MailchimpStatus", true},
		{"cleaned, opt-outs only", cleaned, synced, optouts, "", false},
		{"subscribed", member, synced, optouts, "CF_MailchimpStatus", false},
	}
	for _, tt := range statuses {
		withStatus := in
		withStatus.Consent, withStatus.MailchimpStatusField = tt.consent, tt.statusField
		if got := reconcile.StatusDiffers(withStatus, tt.member, tt.contact); got != tt.want {
			t.Errorf("StatusDiffers(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
	oneWay := in
	oneWay.Consent, oneWay.Direction = optouts, apmc.DirectionToMailchimp
	if reconcile.StatusDiffers(oneWay, unsubscribed, synced) {
		t.Error("StatusDiffers(unsubscribed, instance syncing only to Mailchimp) = true, want false")
	}
	// A member that signed up again while the state still holds the
	// unsubscribe applied (that webhook lost) is stale.
	resubscribed := member
	resubscribed.Status = "pending"
	appliedCleaned := *synced
	appliedCleaned.Mailchimp.Status = "cleaned"
	for _, tt := range []struct {
		name    string
		member  apmc.Member
		contact *apmc.Contact
		want    bool
	}{
		{"subscribed again after an applied unsubscribe", member, &applied, true},
		{"pending after an applied clean", resubscribed, &appliedCleaned, true},
		{"still unsubscribed", unsubscribed, &applied, false},
		{"subscribed, known subscribed", member, &wasSubscribed, false},
		{"subscribed, status never kept", member, synced, false},
		{"never synced", member, nil, false},
	} {
		if got := reconcile.StatusStale(tt.member, tt.contact); got != tt.want {
			t.Errorf("StatusStale(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
