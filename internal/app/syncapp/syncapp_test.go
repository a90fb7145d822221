package syncapp_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/apptest"
	"github.com/apmc-sync/apmc/internal/app/syncapp"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
)

func TestConfigFromEnv(t *testing.T) {
	required := map[string]string{
		"INSTANCES_TABLE": "instances", "EXECUTIONS_TABLE": "executions", "CONTACTS_TABLE": "contacts",
		"QUEUE_URL": "https://sqs/changes.fifo", "KMS_KEY_ID": "key",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range required {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	base := syncapp.Config{
		InstancesTable: "instances", ExecutionsTable: "executions", ContactsTable: "contacts",
		QueueURL: "https://sqs/changes.fifo", KMSKeyID: "key",
		InstanceCacheTTL: syncapp.DefaultInstanceCacheTTL, RetryBase: syncapp.DefaultRetryBase,
		APITimeout: connector.DefaultTimeout, MailchimpMaxConnections: connector.DefaultMaxMailchimpConnections,
		BurstWindowSettle: apmc.DefaultBurstWindowSettle,
	}
	tests := []struct {
		name    string
		vars    map[string]string
		want    func(c *syncapp.Config)
		wantErr string
	}{
		{"defaults", required, func(*syncapp.Config) {}, ""},
		{"every setting", with(map[string]string{"INSTANCE_CACHE_SECONDS": "1", "RETRY_BASE_SECONDS": "2", "API_TIMEOUT_SECONDS": "3", "MAILCHIMP_MAX_CONNECTIONS": "4", "BULK_QUEUE_URL": "https://sqs/changes-bulk.fifo", "BURST_WINDOW_SETTLE_SECONDS": "5"}),
			func(c *syncapp.Config) {
				c.InstanceCacheTTL, c.RetryBase, c.APITimeout, c.MailchimpMaxConnections = time.Second, 2*time.Second, 3*time.Second, 4
				c.BulkQueueURL = "https://sqs/changes-bulk.fifo"
				c.BurstWindowSettle = 5 * time.Second
			}, ""},
		{"no connections", with(map[string]string{"MAILCHIMP_MAX_CONNECTIONS": "0"}), func(*syncapp.Config) {},
			`configuration: MAILCHIMP_MAX_CONNECTIONS must be a whole number of at least 1, not "0"`},
		{"missing tables and bad timeout", map[string]string{"QUEUE_URL": "https://sqs/changes.fifo", "KMS_KEY_ID": "key", "API_TIMEOUT_SECONDS": "ten"},
			func(c *syncapp.Config) { c.InstancesTable, c.ExecutionsTable, c.ContactsTable = "", "", "" },
			`configuration: INSTANCES_TABLE is not set; EXECUTIONS_TABLE is not set; CONTACTS_TABLE is not set; API_TIMEOUT_SECONDS must be a whole number of seconds, not "ten"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := base
			tt.want(&want)
			got, err := syncapp.ConfigFromEnv(func(name string) string { return tt.vars[name] })
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("ConfigFromEnv() error = %q, want %q", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ConfigFromEnv() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	clients := apptest.New(t).Clients
	complete := syncapp.Config{InstancesTable: "i", ExecutionsTable: "e", ContactsTable: "c", QueueURL: "q", KMSKeyID: "k"}
	tests := []struct {
		name string
		cfg  syncapp.Config
		deps app.Deps
		want string
	}{
		{"no settings", syncapp.Config{}, app.Deps{AWS: clients}, "sync configuration: no instances table, executions table, contacts table, queue URL, KMS key"},
		{"no contacts table", syncapp.Config{InstancesTable: "i", ExecutionsTable: "e", QueueURL: "q", KMSKeyID: "k"}, app.Deps{AWS: clients}, "sync configuration: no contacts table"},
		{"no clients", complete, app.Deps{}, "sync: no AWS clients"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := syncapp.New(tt.cfg, tt.deps)
			if err == nil || err.Error() != tt.want || f != nil {
				t.Errorf("New() = %v, %v, want nil, %q", f, err, tt.want)
			}
		})
	}
}

func TestNewReservesTimeForThreeAPICalls(t *testing.T) {
	deps := app.Deps{AWS: apptest.New(t).Clients}
	cfg := syncapp.Config{InstancesTable: "i", ExecutionsTable: "e", ContactsTable: "c", QueueURL: "q", KMSKeyID: "k"}
	for _, tt := range []struct {
		timeout time.Duration
		bulk    string
		want    time.Duration
	}{
		{0, "", 3*connector.DefaultTimeout + time.Second},
		{3 * time.Second, "", 10 * time.Second},
		// With a bulk queue, a change may first wait for an announced
		// write's state.
		{3 * time.Second, "bq", 10*time.Second + apmc.DefaultInFlightWait},
	} {
		cfg.APITimeout, cfg.BulkQueueURL = tt.timeout, tt.bulk
		f, err := syncapp.New(cfg, deps)
		if err != nil {
			t.Fatalf("New() error = %v", err)
		}
		if f.Consumer.Reserve != tt.want {
			t.Errorf("New(APITimeout %v).Consumer.Reserve = %v, want %v", tt.timeout, f.Consumer.Reserve, tt.want)
		}
	}
}

// TestHandleRecordsExecutions builds the function as its main does, over
// kumo, and hands it a batch as Lambda would: the change for a paused
// instance is held, read through the sealed instance and recorded in the
// executions table.
func TestHandleRecordsExecutions(t *testing.T) {
	paused := apptest.Instance("acme")
	paused.State = apmc.StatePaused
	d := apptest.New(t, paused)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := syncapp.New(syncapp.Config{
		InstancesTable: d.Tables.Instances, ExecutionsTable: d.Tables.Executions, ContactsTable: d.Tables.Contacts,
		QueueURL: d.Queues.ChangesURL, KMSKeyID: d.KeyID, InstanceCacheTTL: time.Minute, RetryBase: time.Second,
	}, app.Deps{AWS: d.Clients})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	body := `{"id":"sha256:held-1","instance_id":"acme","source":"accessplanit","event":"updated","received_at":"2026-11-26T09:14:07.391Z",` +
		`"occurred_at":"2026-11-26T09:14:07.25Z","email":"ada@example.com","user_id":"1042","origin":"webhook"}`
	res, err := f.Consumer.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "m-1", Body: body, Attributes: map[string]string{"MessageGroupId": "acme/ada@example.com", "ApproximateReceiveCount": "1"},
	}}})
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle() = %+v, %v, want no failures", res, err)
	}
	list, _, err := dynamo.NewExecutionStore(d.Clients.DynamoDB, d.Tables.Executions).Executions(ctx, "acme", apmc.ExecutionQuery{})
	if err != nil {
		t.Fatalf("Executions() error = %v", err)
	}
	if len(list) != 1 || list[0].Status != apmc.StatusHeld {
		t.Fatalf("executions = %+v, want one %s", list, apmc.StatusHeld)
	}
}

// TestHeldForgedDeliveryIsRecordedSmall: a forged Mailchimp delivery as
// large as the changes queue takes (random merges, which do not compress)
// is held for a paused instance, and its execution item still stays within
// a few KB: the delivered merges are not recorded.
func TestHeldForgedDeliveryIsRecordedSmall(t *testing.T) {
	paused := apptest.Instance("acme")
	paused.State = apmc.StatePaused
	d := apptest.New(t, paused)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := syncapp.New(syncapp.Config{
		InstancesTable: d.Tables.Instances, ExecutionsTable: d.Tables.Executions, ContactsTable: d.Tables.Contacts,
		QueueURL: d.Queues.ChangesURL, KMSKeyID: d.KeyID, InstanceCacheTTL: time.Minute, RetryBase: time.Second,
	}, app.Deps{AWS: d.Clients})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	rnd := rand.New(rand.NewPCG(7, 11))
	merges := apmc.Values{"EMAIL": "nobody@example.com"}
	for i := range 400 {
		b := make([]byte, 225)
		for j := range b {
			b[j] = byte(rnd.Uint32())
		}
		merges[fmt.Sprintf("JUNK%03d", i)] = base64.StdEncoding.EncodeToString(b)
	}
	body, err := json.Marshal(apmc.Change{ID: "sha256:forged-1", InstanceID: "acme", Source: apmc.SideMailchimp, Event: apmc.EventProfile,
		ReceivedAt: time.Date(2026, 11, 26, 9, 14, 7, 0, time.UTC), Email: "nobody@example.com", Merges: merges, Origin: apmc.OriginWebhook})
	if err != nil {
		t.Fatalf("encode change: %v", err)
	}
	res, err := f.Consumer.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "m-1", Body: string(body), Attributes: map[string]string{"MessageGroupId": "acme/nobody@example.com", "ApproximateReceiveCount": "1"},
	}}})
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle(%d KB delivery) = %+v, %v, want no failures", len(body)>>10, res, err)
	}
	out, err := d.Clients.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(d.Tables.Executions)})
	if err != nil {
		t.Fatalf("Scan(executions) error = %v", err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("executions table holds %d items, want 1", len(out.Items))
	}
	// Every value's JSON is at least as long as DynamoDB bills it.
	size, err := json.Marshal(out.Items[0])
	if err != nil {
		t.Fatalf("encode item: %v", err)
	}
	if len(size) > 4096 {
		t.Errorf("held execution of a %d KB forged delivery = %d bytes, want at most 4096", len(body)>>10, len(size))
	}
}
