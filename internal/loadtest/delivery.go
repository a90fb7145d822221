package loadtest

import (
	"fmt"
	"time"
)

// UserDelivery is an accessplanit webhook body carrying the whole User
// number i (as the platform sends on create), with DateUpdated at. Distinct
// i give distinct contacts: user ID 100000+i, email load<i>@example.com.
func UserDelivery(i int, at time.Time) []byte {
	return fmt.Appendf(nil, `{"ID":%d,"Title":null,"Forenames":"Load","Surname":"Tester %d","Email":"Load%d@Example.com","Phone":"+44 20 7946 %04d","MainCompanyID":1,"MarketingOptIn":true,"DateUpdated":%q,"UpdatedByID":1}`,
		100000+i, i, i, i%10000, at.UTC().Format("2006-01-02T15:04:05.000"))
}

// UserEmail is the lower-cased email of UserDelivery(i, …).
func UserEmail(i int) string { return fmt.Sprintf("load%d@example.com", i) }
