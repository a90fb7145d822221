package connector_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
)

// accounts records the accounts the connector stores, as the instance
// store's RecordMailchimpAccount would.
type accounts struct {
	mu  sync.Mutex
	got map[string][]string
}

func (a *accounts) RecordMailchimpAccount(_ context.Context, instanceID, accountID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got[instanceID] = append(a.got[instanceID], accountID)
	return nil
}

// TestMailchimpAccountLearnt gives the connector an instance stored without
// its Mailchimp account: the account is read from the API root once, however
// many requests follow, recorded on the instance, and names the budget the
// requests count against.
func TestMailchimpAccountLearnt(t *testing.T) {
	env := awstest.Kumo(t)
	tables := env.Tables(t, "account")
	srv, baseURL, key, list := simulator(t, 0)
	const timeout = 5 * time.Second
	rec := &accounts{got: map[string][]string{}}
	c := &connector.Connector{Timeout: timeout, Accounts: rec,
		Budget: dynamo.NewMailchimpBudget(env.DynamoDB, tables.Contacts, connector.DefaultMaxMailchimpConnections, connector.BudgetLease(timeout), connector.BudgetWait(timeout))}
	in := instance("a", baseURL, key, list)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			mc, err := c.Mailchimp(in)
			if err != nil {
				t.Errorf("Mailchimp() error = %v", err)
				return
			}
			m := apmc.Member{Email: fmt.Sprintf("user%d@example.com", i), MergeFields: apmc.Values{"FNAME": "Ada", "LNAME": "Lovelace"}}
			if _, err := mc.UpsertMember(context.Background(), list, m, "subscribed"); err != nil {
				t.Errorf("UpsertMember() error = %v", err)
			}
		})
	}
	wg.Wait()
	// The simulator's account id is the key's digest, as its API root says.
	sum := sha256.Sum256([]byte(key))
	want := hex.EncodeToString(sum[:8])
	if got := rec.got["a"]; len(got) != 1 || got[0] != want {
		t.Errorf("accounts recorded for instance a = %v, want [%s] once", got, want)
	}
	if got := srv.Stats().Requests["GET"]; got != 1 {
		t.Errorf("GET requests = %d, want 1 (the API root, read once)", got)
	}
	out, err := env.DynamoDB.Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 aws.String(tables.Contacts),
		KeyConditionExpression:    aws.String("instance_id = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: dynamo.BudgetPartition(want)}},
	})
	if err != nil {
		t.Fatalf("Query(budget) error = %v", err)
	}
	if len(out.Items) == 0 {
		t.Errorf("no slot in the budget of account %s, want the requests counted there", want)
	}
}
