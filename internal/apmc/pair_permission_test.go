package apmc

import (
	"testing"
	"time"
)

// A marketing permission the member withdrew in Mailchimp while the User
// stayed opted in stays withdrawn whichever path decides the pair: a
// webhook (DecideToMailchimp) or a first sync or drift repair (DecidePair).
func TestPairKeepsWithdrawnPermission(t *testing.T) {
	in := testInstance()
	in.Mappings = append(in.Mappings, FieldMapping{MergeTag: PermissionPrefix + "p1", Field: "MarketingOptIn"})
	u := User{ID: "1", UpdatedAt: t0, Fields: map[string]string{"ID": "1", "Forenames": "Ada", "Surname": "Lovelace", "Email": "ada@example.com", "Phone": "01234 567890", "MarketingOptIn": "true"}}
	userValues, _, err := MapToMailchimp(in.Mappings, u)
	if err != nil {
		t.Fatal(err)
	}
	c := Contact{InstanceID: in.ID, Email: "ada@example.com", UserID: "1", Version: 3}
	c.Accessplanit.Values = userValues
	c.Mailchimp.Values = Values{}
	for k, v := range userValues {
		c.Mailchimp.Values[k] = v
	}
	c.Mailchimp.Values[PermissionPrefix+"p1"] = "false" // withdrawn in Mailchimp, seen live
	m := &Member{Email: "ada@example.com", Status: "subscribed", LastChanged: t0.Add(time.Hour),
		MergeFields: Values{"FNAME": "Ada", "LNAME": "Lovelace", "PHONE": "01234 567890"}, MarketingPermissions: map[string]bool{"p1": false}}

	live, err := DecideToMailchimp(ToMailchimpInput{Instance: in, User: u, Found: true, Contact: c, Now: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("live decision: %s, write %v", live.Action, live.Write)
	pair := DecidePair(in, Pair{Email: "ada@example.com", Users: []User{u}, Member: m, Contact: c}, t0.Add(2*time.Hour))
	t.Logf("pair decision: %s %q, to_mailchimp %v", pair.Action, pair.Reason, pair.ToMailchimp)
	if live.Write[PermissionPrefix+"p1"] == "true" {
		t.Errorf("the live decision grants the withdrawn permission again (%s)", live.Action)
	}
	if pair.ToMailchimp[PermissionPrefix+"p1"] == "true" {
		t.Errorf("DecidePair grants the withdrawn permission again (%s); the live decision keeps it withdrawn (%s)", pair.Action, live.Action)
	}
}
