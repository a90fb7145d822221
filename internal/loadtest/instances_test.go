package loadtest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/loadtest"
	"github.com/apmc-sync/apmc/internal/local"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// instance is one more instance on the local stack's simulators.
type instance struct {
	id      string
	list    string
	webhook string // its accessplanit webhook URL
}

// addInstance creates an instance on the stack's platform and on the
// Mailchimp account of apiKey (created if new; accountID names it), with an
// audience of its own. Mailchimp sends it no webhooks, so its writes have
// no echoes.
func (e *env) addInstance(tb testing.TB, id, apiKey, accountID string) instance {
	tb.Helper()
	mc, sb := e.stack.Mailchimp, e.stack.Info.Sandbox
	mc.AddAccount(apiKey)
	list := mc.AddList(apiKey, "Audience "+id)
	token := fmt.Sprintf("ap-token-%s-%s", id, strings.Repeat("7", 16))
	in := apmc.Instance{
		ID: id, Name: "Instance " + id, State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
		MailchimpListID: list, MailchimpBaseURL: sb.Mailchimp.BaseURL, MailchimpAccountID: accountID,
		AccessplanitBaseURL: sb.Accessplanit.BaseURL, DefaultCompanyID: sb.Accessplanit.DefaultCompanyID, AccessplanitUserID: "9000",
		Mappings: append(apmc.DefaultMappings(), apmc.FieldMapping{MergeTag: "PHONE", Field: "Phone", Type: apmc.TypePhone}),
		Secrets: apmc.Secrets{MailchimpAPIKey: apiKey, AccessplanitAPIKey: sb.Accessplanit.APIKey,
			AccessplanitToken: token, MailchimpToken: "mc-" + token},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.stack.Instances.Create(ctx, in); err != nil {
		tb.Fatalf("create instance %s: %v", id, err)
	}
	base := strings.TrimSuffix(e.stack.Info.APIURL, "/api/")
	return instance{id: id, list: list, webhook: fmt.Sprintf("%s/webhooks/accessplanit/%s/%s", base, id, token)}
}

// deliveryTo builds the POST of UserDelivery(i) to an accessplanit webhook.
func (e *env) deliveryTo(url string, i int) (*http.Request, error) {
	id, err := e.user(i)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(loadtest.UserDeliveryWithID(id, i, time.Now())))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// seedSynced makes Users first … first+n-1 known to the demo instance as
// synced before their latest change: the platform holds each User as
// UserDelivery sends it, the audience and the contact state an older
// surname. Their deliveries are then changes that each need a write, as
// after a bulk edit in accessplanit.
func (e *env) seedSynced(tb testing.TB, first, n int) {
	tb.Helper()
	sb := e.stack.Info.Sandbox
	old := func(i int) string { return fmt.Sprintf("Before %d", i) }
	const chunk = 1000
	for start := first; start < first+n; start += chunk {
		end := min(start+chunk, first+n)
		var users []map[string]any
		var members []sbmc.ImportedMember
		for i := start; i < end; i++ {
			users = append(users, loadtest.UserFields(i, sb.Accessplanit.DefaultCompanyID))
			members = append(members, sbmc.ImportedMember{EmailAddress: loadtest.UserEmail(i), Status: "subscribed",
				MergeFields: map[string]any{"FNAME": "Load", "LNAME": old(i)}})
		}
		ids, err := e.stack.Accessplanit.ImportUsers(users)
		if err != nil {
			tb.Fatalf("import users: %v", err)
		}
		if err := e.stack.Mailchimp.Import(sb.Mailchimp.ListID, members); err != nil {
			tb.Fatalf("import members: %v", err)
		}
		e.mu.Lock()
		if e.users == nil {
			e.users = map[int]string{}
		}
		for k, id := range ids {
			e.users[start+k] = id
		}
		e.mu.Unlock()
	}
	clients := app.NewClients(awsconfig.Local(), e.stack.Info.AWS.Endpoint)
	contacts := dynamo.NewContactStore(clients.DynamoDB, e.stack.Info.AWS.ContactsTable)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	work := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var failed error
	for range 16 {
		wg.Go(func() {
			for i := range work {
				values := apmc.Values{apmc.TagEmail: loadtest.UserEmail(i), "FNAME": "Load", "LNAME": old(i)}
				e.mu.Lock()
				id := e.users[i]
				e.mu.Unlock()
				c := apmc.Contact{InstanceID: local.DemoInstanceID, Email: loadtest.UserEmail(i), UserID: id,
					Mailchimp: apmc.SideState{Values: values}, Accessplanit: apmc.SideState{Values: values}}
				if err := contacts.SaveContact(ctx, c); err != nil {
					once.Do(func() { failed = err })
				}
			}
		})
	}
	for i := first; i < first+n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if failed != nil {
		tb.Fatalf("seed contact states: %v", failed)
	}
}
