package mailchimp_test

import (
	"fmt"
	"net/url"
	"time"

	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// A delivery is verified on its raw body before it is parsed.
func ExampleVerifySignature() {
	body := []byte("type=unsubscribe&fired_at=2024-05-01+09%3A30%3A00&data%5Bemail%5D=Ada%2Bnews%40Example.com&data%5Baction%5D=unsub")
	now := time.Date(2024, 5, 1, 9, 30, 2, 0, time.UTC)
	header := mailchimp.Sign("signing-secret", body, now.Add(-2*time.Second))

	if err := mailchimp.VerifySignature(header, body, "signing-secret", now); err != nil {
		fmt.Println("refused:", err)
		return
	}
	form, _ := url.ParseQuery(string(body))
	change, err := mailchimp.ParseWebhook(form, "inst-1", now)
	if err != nil {
		fmt.Println("malformed:", err)
		return
	}
	fmt.Println(change.Event, change.Email, change.Action, change.OccurredAt.Format(time.RFC3339))
	// Output: unsubscribe ada+news@example.com unsub 2024-05-01T09:30:00Z
}

func ExampleSubscriberHash() {
	fmt.Println(mailchimp.SubscriberHash("Urist.McVankab@freddiesjokes.com"))
	// Output: 62eeb292278cc15f5817cb78f7790b08
}
