package backfillapp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/apptest"
	"github.com/apmc-sync/apmc/internal/app/backfillapp"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/queue"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

func TestConfigFromEnv(t *testing.T) {
	required := map[string]string{
		"INSTANCES_TABLE": "instances", "EXECUTIONS_TABLE": "executions", "CONTACTS_TABLE": "contacts",
		"BACKFILL_QUEUE_URL": "https://sqs/backfill.fifo", "KMS_KEY_ID": "key",
	}
	base := backfillapp.Config{
		InstancesTable: "instances", ExecutionsTable: "executions", ContactsTable: "contacts",
		BackfillQueueURL: "https://sqs/backfill.fifo", KMSKeyID: "key",
		APITimeout: connector.DefaultTimeout, MailchimpMaxConnections: connector.DefaultMaxMailchimpConnections,
	}
	tests := []struct {
		name    string
		vars    map[string]string
		want    func(c *backfillapp.Config)
		wantErr string
	}{
		{"defaults", required, func(*backfillapp.Config) {}, ""},
		{"timeout and connections", with(required, map[string]string{"API_TIMEOUT_SECONDS": "3", "MAILCHIMP_MAX_CONNECTIONS": "4"}),
			func(c *backfillapp.Config) { c.APITimeout, c.MailchimpMaxConnections = 3*time.Second, 4 }, ""},
		{"no queue", with(required, map[string]string{"BACKFILL_QUEUE_URL": ""}),
			func(c *backfillapp.Config) { c.BackfillQueueURL = "" }, "configuration: BACKFILL_QUEUE_URL is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := base
			tt.want(&want)
			got, err := backfillapp.ConfigFromEnv(func(name string) string { return tt.vars[name] })
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

func with(base, extra map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	clients := apptest.New(t).Clients
	complete := backfillapp.Config{InstancesTable: "i", ExecutionsTable: "e", ContactsTable: "c", BackfillQueueURL: "q", KMSKeyID: "k"}
	for _, tt := range []struct {
		name string
		cfg  backfillapp.Config
		deps app.Deps
		want string
	}{
		{"no settings", backfillapp.Config{}, app.Deps{AWS: clients}, "backfill configuration: no instances table, executions table, contacts table, backfill queue URL, KMS key"},
		{"no clients", complete, app.Deps{}, "backfill: no AWS clients"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := backfillapp.New(tt.cfg, tt.deps)
			if err == nil || err.Error() != tt.want || f != nil {
				t.Errorf("New() = %v, %v, want nil, %q", f, err, tt.want)
			}
		})
	}
}

// job is a deployment on kumo with both simulators, members only in
// Mailchimp (each a paced accessplanit create), and the backfill function
// built as its main builds it, fed by a poller of its own queue.
type job struct {
	f      *backfillapp.Function
	poller *queue.Poller
	ap     *sbap.Server
	queue  queue.Queues
	sqs    apptest.Deployment
	id     string
}

// members is how many contacts the job writes; pacing at 12,000 requests
// an hour (300 ms apart) makes them take 3 s, so a run limited to 1 s
// cannot write them all.
const members = 10

func newJob(t *testing.T) *job {
	t.Helper()
	ap := sbap.New(sbap.Options{})
	apSrv := httptest.NewServer(ap)
	mc := sbmc.New(sbmc.Options{})
	mcSrv := httptest.NewServer(mc)
	t.Cleanup(func() { apSrv.Close(); mcSrv.Close(); mc.Close(); ap.Close() })
	mcKey := "0123456789abcdef0123456789abcdef-us21"
	mc.AddAccount(mcKey)
	ap.AddAPIKey("ap-key", "9000")
	in := apptest.Instance("jobs")
	in.MailchimpListID, in.MailchimpBaseURL = mc.AddList(mcKey, "Audience"), mcSrv.URL+"/3.0"
	in.AccessplanitBaseURL, in.DefaultCompanyID, in.AccessplanitUserID = apSrv.URL+ap.Prefix(), ap.AddCompany("Acme"), "9000"
	in.Secrets.MailchimpAPIKey, in.Secrets.AccessplanitAPIKey = mcKey, "ap-key"
	in.AccessplanitRequestsPerHour = 12_000
	var imported []sbmc.ImportedMember
	for i := range members {
		imported = append(imported, sbmc.ImportedMember{EmailAddress: fmt.Sprintf("m%02d@example.com", i), MergeFields: map[string]any{"FNAME": "Member", "LNAME": fmt.Sprint(i)}})
	}
	if err := mc.Import(in.MailchimpListID, imported); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	d := apptest.New(t, in)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	qs, err := queue.Create(ctx, d.Clients.SQS, awstest.UniqueName("backfill"), 60, apmc.DefaultMaxAttempts)
	if err != nil {
		t.Fatalf("queue.Create() error = %v", err)
	}
	f, err := backfillapp.New(backfillapp.Config{
		InstancesTable: d.Tables.Instances, ExecutionsTable: d.Tables.Executions, ContactsTable: d.Tables.Contacts,
		BackfillQueueURL: qs.ChangesURL, KMSKeyID: d.KeyID, RunLimit: time.Second,
	}, app.Deps{AWS: d.Clients})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	f.Service.Reserve = 0
	return &job{
		f: f, ap: ap, queue: qs, sqs: d, id: in.ID,
		poller: &queue.Poller{Client: d.Clients.SQS, QueueURL: qs.ChangesURL, QueueARN: qs.ChangesARN, Handler: f.Handle, BatchSize: 1, Wait: time.Second},
	}
}

// next receives and runs one message of the backfill queue, reporting
// whether there was one.
func (j *job) next(t *testing.T, ctx context.Context) bool {
	t.Helper()
	before, err := queue.Depth(ctx, j.sqs.Clients.SQS, j.queue.ChangesURL)
	if err != nil {
		t.Fatalf("Depth() error = %v", err)
	}
	if before == 0 {
		return false
	}
	if err := j.poller.Once(ctx); err != nil {
		t.Fatalf("Once() error = %v", err)
	}
	return true
}

func (j *job) plan(t *testing.T, ctx context.Context) backfill.Plan {
	t.Helper()
	p, err := j.f.Service.Plan(ctx, j.id, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	return p
}

// A started job runs in several runs, each carrying on where the last one
// stopped, and ends done with every contact written once.
func TestJobContinuesUntilDone(t *testing.T) {
	j := newJob(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := j.plan(t, ctx)
	if got := p.Counts[apmc.PairCreateInAccessplanit]; got != members {
		t.Fatalf("plan counts = %v, want %d create_in_accessplanit", p.Counts, members)
	}
	if _, err := j.f.Service.Start(ctx, j.id, p.ID); err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	runs := 0
	for j.next(t, ctx) {
		runs++
		if runs > 3*members {
			t.Fatal("the job never ended")
		}
	}
	if runs < 2 {
		t.Errorf("runs = %d, want at least 2 (a run is limited to 1 s, the writes take 3 s)", runs)
	}
	got, err := j.f.Service.Status(ctx, j.id)
	if err != nil {
		t.Fatalf("Status() error = %v", err)
	}
	if got.Status != backfill.JobDone || got.Done != members || got.Total != members || got.Result == nil || got.Result.Written != members || got.Result.Incomplete {
		t.Errorf("Status() = %+v (result %+v), want done, %d of %d written", got, got.Result, members, members)
	}
	if got.Result != nil && got.Result.Counts[apmc.PairCreateInAccessplanit] != members {
		t.Errorf("result counts = %v, want the first run's %d creates", got.Result.Counts, members)
	}
	if n := len(j.ap.Users()); n != members {
		t.Errorf("accessplanit Users = %d, want %d (each created once)", n, members)
	}
}

// A cancel stops the job at its next batch, and no run follows; a second
// plan is refused while the first runs, and accepted once it has stopped.
func TestJobCancelAndOneAtATime(t *testing.T) {
	j := newJob(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first := j.plan(t, ctx)
	if _, err := j.f.Service.Start(ctx, j.id, first.ID); err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	if !j.next(t, ctx) {
		t.Fatal("Start() put nothing on the backfill queue")
	}
	running, err := j.f.Service.Status(ctx, j.id)
	if err != nil || running.Status != backfill.JobRunning || running.Done == 0 || running.Done >= members {
		t.Fatalf("Status() after one run = %+v, %v; want running, part done", running, err)
	}
	second := j.plan(t, ctx)
	if _, err := j.f.Service.Start(ctx, j.id, second.ID); !errors.Is(err, backfill.ErrJobRunning) || !errors.Is(err, apmc.ErrConflict) {
		t.Errorf("Start(second plan) error = %v, want ErrJobRunning", err)
	}
	if err := j.f.Service.Cancel(ctx, j.id); err != nil {
		t.Fatalf("Cancel() error = %v", err)
	}
	if !j.next(t, ctx) {
		t.Fatal("no continuation on the queue after an incomplete run")
	}
	if j.next(t, ctx) {
		t.Error("a run followed the cancelled one")
	}
	got, err := j.f.Service.Status(ctx, j.id)
	if err != nil || got.Status != backfill.JobCancelled || got.Done != running.Done {
		t.Errorf("Status() after cancel = %+v, %v; want cancelled with %d done", got, err, running.Done)
	}
	if n := len(j.ap.Users()); n != running.Done {
		t.Errorf("accessplanit Users = %d, want the %d written before the cancel", n, running.Done)
	}
	if _, err := j.f.Service.Start(ctx, j.id, second.ID); err != nil {
		t.Errorf("Start(second plan) after the cancel error = %v", err)
	}
}

// A message that names no live plan is dropped, not retried.
func TestHandleDropsAMessageForNoPlan(t *testing.T) {
	j := newJob(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, body := range []string{`{"instance_id":"jobs","plan_id":"gone"}`, `not json`, `{"instance_id":"jobs"}`} {
		res, err := j.f.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-1", Body: body}}})
		if err != nil || len(res.BatchItemFailures) != 0 {
			t.Errorf("Handle(%s) = %+v, %v; want it dropped", body, res, err)
		}
	}
	if _, err := j.f.Service.Status(ctx, j.id); !errors.Is(err, apmc.ErrNotFound) {
		t.Errorf("Status() error = %v, want no job", err)
	}
}
