package loadtest

import (
	"fmt"
	"time"
)

// UserDelivery is an accessplanit webhook body carrying the whole User
// number i (as the platform sends on create), with DateUpdated at. Distinct
// i give distinct contacts: user ID 100000+i, email load<i>@example.com.
func UserDelivery(i int, at time.Time) []byte {
	return UserDeliveryWithID(fmt.Sprint(100000+i), i, at)
}

// UserDeliveryWithID is UserDelivery for the User with that ID (as the
// platform holding User number i numbered it).
func UserDeliveryWithID(id string, i int, at time.Time) []byte {
	return fmt.Appendf(nil, `{"ID":%s,"Title":null,"Forenames":"Load","Surname":"Tester %d","Email":"Load%d@Example.com","Phone":"+44 20 7946 %04d","MainCompanyID":1,"MarketingOptIn":true,"DateUpdated":%q,"UpdatedByID":1}`,
		id, i, i, i%10000, at.UTC().Format("2006-01-02T15:04:05.000"))
}

// UserFields are the properties of User number i, as UserDelivery sends
// them, for a platform to hold before its webhook is sent.
func UserFields(i int, companyID string) map[string]any {
	return map[string]any{"Forenames": "Load", "Surname": fmt.Sprintf("Tester %d", i), "Email": fmt.Sprintf("Load%d@Example.com", i),
		"Phone": fmt.Sprintf("+44 20 7946 %04d", i%10000), "MainCompanyID": companyID, "MarketingOptIn": true}
}

// UserEmail is the lower-cased email of UserDelivery(i, …).
func UserEmail(i int) string { return fmt.Sprintf("load%d@example.com", i) }
