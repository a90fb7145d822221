package syncapp_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/apptest"
	"github.com/apmc-sync/apmc/internal/app/syncapp"
	"github.com/apmc-sync/apmc/internal/dynamo"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// burst is the sync function over kumo and both simulators, with an
// audience holding one unsubscribed person and a platform holding the
// Users a batch of changes names.
type burst struct {
	fn      *syncapp.Function
	d       apptest.Deployment
	mc      *sbmc.Server
	ap      *sbap.Server
	list    string
	userIDs []string
	emails  []string
}

// newBurst makes Users for the emails; the first one is already an
// unsubscribed member of the audience. edits change the instance before it
// is stored (its audience has the training activity fields when it syncs
// training activity).
func newBurst(t *testing.T, emails []string, edits ...func(*apmc.Instance)) *burst {
	t.Helper()
	mc := sbmc.New(sbmc.Options{})
	mcSrv := httptest.NewServer(mc)
	t.Cleanup(func() { mcSrv.Close(); mc.Close() })
	ap := sbap.New(sbap.Options{})
	apSrv := httptest.NewServer(ap)
	t.Cleanup(func() { apSrv.Close(); ap.Close() })

	in := apptest.Instance("burst")
	for _, edit := range edits {
		edit(&in)
	}
	var fields []sbmc.MergeField
	if in.Activity.Enabled {
		for _, f := range apmc.ActivityMergeFields {
			fields = append(fields, sbmc.MergeField{Tag: f.Tag, Name: f.Name, Type: string(f.Type)})
		}
	}
	mc.AddAccount(in.Secrets.MailchimpAPIKey)
	in.MailchimpListID = mc.AddList(in.Secrets.MailchimpAPIKey, "Burst", fields...)
	in.MailchimpBaseURL = mcSrv.URL + "/3.0"
	in.AccessplanitBaseURL = apSrv.URL + ap.Prefix()
	ap.AddAPIKey(in.Secrets.AccessplanitAPIKey, "9000")
	in.DefaultCompanyID = ap.AddCompany("Burst Ltd")
	if err := mc.Import(in.MailchimpListID, []sbmc.ImportedMember{{EmailAddress: emails[0], Status: "unsubscribed",
		MergeFields: map[string]any{"FNAME": "Old", "LNAME": "Name"}}}); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	b := &burst{d: apptest.New(t, in), mc: mc, ap: ap, list: in.MailchimpListID, emails: emails}
	for i, email := range emails {
		id, err := ap.AddUser(map[string]any{"Forenames": "Burst", "Surname": fmt.Sprintf("Person %d", i), "Email": email, "MainCompanyID": in.DefaultCompanyID})
		if err != nil {
			t.Fatalf("AddUser(%s) error = %v", email, err)
		}
		b.userIDs = append(b.userIDs, id)
	}
	fn, err := syncapp.New(syncapp.Config{
		InstancesTable: b.d.Tables.Instances, ExecutionsTable: b.d.Tables.Executions, ContactsTable: b.d.Tables.Contacts,
		QueueURL: b.d.Queues.ChangesURL, KMSKeyID: b.d.KeyID, InstanceCacheTTL: time.Minute, RetryBase: time.Second,
	}, app.Deps{AWS: b.d.Clients})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	b.fn = fn
	return b
}

// event is one SQS batch with a change per User, each in its own group.
func (b *burst) event(attempt int) events.SQSEvent {
	var ev events.SQSEvent
	for i, id := range b.userIDs {
		body := fmt.Sprintf(`{"id":"sha256:burst-%d","instance_id":"burst","source":"accessplanit","event":"updated","received_at":%q,"user_id":%q,"origin":"webhook"}`,
			i, time.Now().UTC().Format(time.RFC3339Nano), id)
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m-%d", i), Body: body,
			Attributes: map[string]string{"MessageGroupId": "burst/" + id, "ApproximateReceiveCount": fmt.Sprint(attempt)}})
	}
	return ev
}

func (b *burst) executions(t *testing.T) map[string]apmc.Execution {
	t.Helper()
	list, _, err := dynamo.NewExecutionStore(b.d.Clients.DynamoDB, b.d.Tables.Executions).Executions(context.Background(), "burst", apmc.ExecutionQuery{Limit: 100})
	if err != nil {
		t.Fatalf("Executions() error = %v", err)
	}
	out := map[string]apmc.Execution{}
	for _, e := range list {
		out[e.Contact] = e
	}
	return out
}

// TestHandleWritesABurstInOneBatchCall hands the sync function one batch of
// changed Users: their Mailchimp writes go out in one batch subscribe call,
// each change keeps its own execution and outcome (a member Mailchimp
// refuses fails its own change only), and the unsubscribed member stays
// unsubscribed.
func TestHandleWritesABurstInOneBatchCall(t *testing.T) {
	emails := []string{"gone@example.com", "ada@example.com", "alan@example.com", "grace@example.com", "fake@example.invalid"}
	b := newBurst(t, emails)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b.mc.ResetStats()
	res, err := b.fn.Consumer.Handle(ctx, b.event(1))
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle() = %+v, %v, want no failures (a refused member fails for good)", res, err)
	}
	st := b.mc.Stats()
	if st.Requests["POST"] != 1 || st.Requests["PUT"] != 0 || st.MembersWritten != 4 {
		t.Errorf("Mailchimp requests = %v, members written %d; want one POST (batch subscribe), no PUT, 4 members", st.Requests, st.MembersWritten)
	}
	execs := b.executions(t)
	for _, email := range emails {
		e, ok := execs[email]
		switch {
		case !ok:
			t.Errorf("no execution for %s", email)
		case email == "fake@example.invalid":
			if e.Status != apmc.StatusFailed || e.Retryable || !strings.Contains(e.Error, "fake") {
				t.Errorf("execution for %s = %s (retryable %v) %q, want failed for good with Mailchimp's reason", email, e.Status, e.Retryable, e.Error)
			}
		default:
			i := slices.IndexFunc(e.Steps, func(s apmc.Step) bool { return s.Name == "upsert_member" })
			if e.Status != apmc.StatusSucceeded || i < 0 || fmt.Sprint(e.Steps[i].Output["batch_members"]) != "5" {
				t.Errorf("execution for %s = %s, steps %+v; want succeeded, written in a batch of 5", email, e.Status, e.Steps)
			}
		}
	}
	m, ok := b.mc.Member(b.list, "gone@example.com")
	if !ok || m.Status != "unsubscribed" || m.MergeFields["LNAME"] != "Person 0" {
		t.Errorf("member gone@example.com = %+v, want still unsubscribed, with the User's surname", m)
	}
	if m, ok := b.mc.Member(b.list, "ada@example.com"); !ok || m.Status != "subscribed" {
		t.Errorf("member ada@example.com = %+v, want created subscribed (status_if_new)", m)
	}
}

// TestHandleRetriesTheChangesOfAFailedBatchCall fails the batch subscribe
// call as a whole (a 503): only the changes it carried are handed back.
func TestHandleRetriesTheChangesOfAFailedBatchCall(t *testing.T) {
	emails := []string{"gone@example.com", "ada@example.com", "alan@example.com"}
	b := newBurst(t, emails)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The first User's change writes nothing: it is already in Mailchimp
	// as the platform holds it.
	b.mc.ResetStats()
	first := b.event(1)
	first.Records = first.Records[:1]
	if res, err := b.fn.Consumer.Handle(ctx, first); err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle(first) = %+v, %v, want no failures", res, err)
	}
	ev := b.event(1)
	for i := range ev.Records {
		ev.Records[i].Body = strings.Replace(ev.Records[i].Body, "burst-", "again-", 1)
	}
	b.mc.InjectFaults(sbmc.FaultRule{Kind: sbmc.FaultStatus, Method: "POST", Status: 503, Count: 1})
	res, err := b.fn.Consumer.Handle(ctx, ev)
	if err != nil {
		t.Fatalf("Handle() error = %v", err)
	}
	var failed []string
	for _, f := range res.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	slices.Sort(failed)
	if want := []string{"m-1", "m-2"}; !slices.Equal(failed, want) {
		t.Errorf("batch item failures = %v, want %v (the two changes the failed call carried)", failed, want)
	}
	execs := b.executions(t)
	for _, email := range emails[1:] {
		if e := execs[email]; e.Status != apmc.StatusFailed || !e.Retryable {
			t.Errorf("execution for %s = %s (retryable %v), want failed, to be retried", email, e.Status, e.Retryable)
		}
	}
}

// TestHandleGivesBackKeptBudgetSlots hands Lambda's handler a batch: the
// Mailchimp budget slots its calls took, which the function keeps for its
// next request (connector.BudgetKeep), are all given back before it
// returns, as Lambda freezes the environment then; and the Mailchimp
// account of the instance, stored without one, is learnt and stored.
func TestHandleGivesBackKeptBudgetSlots(t *testing.T) {
	b := newBurst(t, []string{"gone@example.com", "ada@example.com", "alan@example.com"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := b.fn.Handle(ctx, b.event(1)); err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle() = %+v, %v, want no failures", res, err)
	}
	out, err := b.d.Clients.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(b.d.Tables.Contacts), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("Scan(contacts) error = %v", err)
	}
	slots := 0
	for _, it := range out.Items {
		sk, _ := it["email"].(*types.AttributeValueMemberS)
		if sk == nil || !strings.HasPrefix(sk.Value, "slot#") {
			continue
		}
		slots++
		if _, held := it["lease_until"]; held {
			t.Errorf("budget slot %s after Handle() returned is leased, want given back", sk.Value)
		}
	}
	if slots == 0 {
		t.Errorf("no budget slot in the contacts table after Handle(), want the ones its Mailchimp calls took")
	}
	// The instance was stored without its Mailchimp account: the function
	// read it and stored it.
	in, err := dynamo.NewInstanceStore(b.d.Clients.DynamoDB, b.d.Tables.Instances, nil).Display(ctx, "burst")
	if err != nil {
		t.Fatalf("Display(burst) error = %v", err)
	}
	if in.MailchimpAccountID == "" {
		t.Errorf("instance's MailchimpAccountID after Handle() is empty, want the account the function read from Mailchimp's API root")
	}
}
