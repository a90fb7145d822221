package connector_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
)

// TestMailchimpBudgetAcrossProcesses runs several connectors, as separate
// function instances would, each allowed Mailchimp's 10 connections on its
// own: only the shared budget keeps the account within its limit.
func TestMailchimpBudgetAcrossProcesses(t *testing.T) {
	env := awstest.Kumo(t)
	tests := []struct {
		name      string
		budget    bool
		want429   bool
		wantWaits bool
	}{
		{name: "shared budget", budget: true, wantWaits: true},
		{name: "no budget meets 429s", budget: false, want429: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, baseURL, key, list := simulator(t, 60*time.Millisecond)
			tables := env.Tables(t, "budget")
			const processes, calls = 4, 80
			var conns []*connector.Connector
			for range processes {
				c := &connector.Connector{Timeout: 10 * time.Second}
				if tt.budget {
					c.Budget = dynamo.NewMailchimpBudget(env.DynamoDB, tables.Contacts, connector.DefaultMaxMailchimpConnections,
						connector.BudgetLease(c.Timeout), connector.BudgetWait(c.Timeout))
				}
				conns = append(conns, c)
			}
			// Two instances of one account: the account id names the budget,
			// whatever the instance.
			ins := []apmc.Instance{instance("a", baseURL, key, list), instance("b", baseURL, key, list)}
			for i := range ins {
				ins[i].MailchimpAccountID = "acct-1"
			}
			var (
				wg     sync.WaitGroup
				failed atomic.Int64
				waited atomic.Int64
			)
			for i := range calls {
				c, in := conns[i%processes], ins[i%len(ins)]
				mc, err := c.Mailchimp(in)
				if err != nil {
					t.Fatalf("Mailchimp(%s) error = %v", in.ID, err)
				}
				wg.Go(func() {
					ctx, wait := apmc.WithBudgetWait(context.Background())
					m := apmc.Member{Email: fmt.Sprintf("user%d@example.com", i), MergeFields: apmc.Values{"FNAME": "Load", "LNAME": fmt.Sprint(i)}}
					if _, err := mc.UpsertMember(ctx, in.MailchimpListID, m, "subscribed"); err != nil {
						failed.Add(1)
					}
					if wait.Total() > 0 {
						waited.Add(1)
					}
				})
			}
			wg.Wait()
			st := srv.Stats()
			if tt.want429 {
				if st.TooManyRequests == 0 {
					t.Errorf("TooManyRequests = 0 from %d processes without a budget, want some", processes)
				}
				return
			}
			if n := failed.Load(); n != 0 {
				t.Errorf("UpsertMember errors = %d, want none", n)
			}
			if st.TooManyRequests != 0 || st.PeakInFlight > connector.DefaultMaxMailchimpConnections {
				t.Errorf("TooManyRequests = %d, PeakInFlight = %d, want 0 and at most 10", st.TooManyRequests, st.PeakInFlight)
			}
			if st.MemberWrites != calls {
				t.Errorf("MemberWrites = %d, want %d", st.MemberWrites, calls)
			}
			if tt.wantWaits && waited.Load() == 0 {
				t.Errorf("no call reported a budget wait, want some (%d calls for 10 slots)", calls)
			}
		})
	}
}
