package health

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/notify"
)

// receiver is a local notification endpoint that keeps what it is sent.
type receiver struct {
	mu    sync.Mutex
	texts []string
	srv   *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Text string `json:"text"`
		}
		_ = json.NewDecoder(req.Body).Decode(&body)
		r.mu.Lock()
		r.texts = append(r.texts, body.Text)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.texts)
}

// countingStore counts the health writes that reach the real store.
type countingStore struct {
	*dynamo.InstanceStore
	saves atomic.Int64
}

func (c *countingStore) SaveHealth(ctx context.Context, id string, read int, next apmc.Health) (apmc.Health, error) {
	c.saves.Add(1)
	return c.InstanceStore.SaveHealth(ctx, id, read, next)
}

type fixture struct {
	store *countingStore
	recv  *receiver
	now   time.Time
	mu    sync.Mutex
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// function returns a tracker as one sync function instance has it: its own
// instance cache and memory, the shared table.
func (f *fixture) function(log *bytes.Buffer) *Tracker {
	tr := &Tracker{
		Instances: &apmc.CachedInstances{Next: f.store.InstanceStore, TTL: time.Minute, Now: f.clock},
		Store:     f.store, Notifier: &notify.Webhook{}, Now: f.clock,
	}
	if log != nil {
		tr.Logger = newJSONLogger(log)
	}
	return tr
}

func newFixture(t *testing.T) *fixture {
	env := awstest.Kumo(t)
	tables := env.Tables(t, "health")
	store := env.Instances(t, tables)
	recv := newReceiver(t)
	in := apmc.Instance{
		ID: "acme", Name: "Acme Training", State: apmc.StateEnabled, Direction: apmc.DirectionBoth,
		MailchimpListID: "list1", StatusIfNew: "subscribed", AccessplanitBaseURL: "https://acme.example.com/api/v2/", DefaultCompanyID: "1",
		Mappings: apmc.DefaultMappings(),
		Secrets:  apmc.Secrets{MailchimpAPIKey: "key-us1", AccessplanitAPIKey: "ap-key", NotificationURL: recv.srv.URL + "/hook"},
	}
	if err := store.Create(context.Background(), in); err != nil {
		t.Fatalf("Create error: %v", err)
	}
	return &fixture{store: &countingStore{InstanceStore: store}, recv: recv, now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
}

func exec(status apmc.Status) apmc.Execution {
	return apmc.Execution{InstanceID: "acme", Status: status}
}

// TestTrackerNotifiesOncePerChangeOfState drives two functions' trackers
// with the same stream of executions, concurrently: the instance starts
// failing (many failures), gets a dead letter, recovers and is paused; each
// change of state reaches the receiver once, and steady successes write
// nothing.
func TestTrackerNotifiesOncePerChangeOfState(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, b := f.function(nil), f.function(nil)
	both := func(e apmc.Execution, retried bool, n int) {
		var wg sync.WaitGroup
		for i := range n {
			tr := a
			if i%2 == 1 {
				tr = b
			}
			wg.Go(func() { tr.Observe(ctx, e, retried) })
		}
		wg.Wait()
	}

	both(exec(apmc.StatusSucceeded), false, 20)
	if n := f.store.saves.Load(); n != 0 {
		t.Errorf("steady successes made %d health writes, want 0", n)
	}
	both(exec(apmc.StatusFailed), false, 30)
	both(apmc.Execution{InstanceID: "acme", Status: apmc.StatusFailed, Retryable: true}, true, 10)
	both(exec(apmc.StatusFailed), true, 4) // dead-lettered
	f.advance(10 * time.Minute)
	both(exec(apmc.StatusSucceeded), false, 20)
	both(exec(apmc.StatusHeld), false, 20)

	got := f.recv.received()
	wants := []string{"is failing", "has dead letters", "has recovered", "is paused"}
	if len(got) != len(wants) {
		t.Fatalf("received %d notifications %q, want %d", len(got), got, len(wants))
	}
	for i, want := range wants {
		if !strings.Contains(got[i], want) || !strings.Contains(got[i], "Acme Training (acme)") {
			t.Errorf("notification %d = %q, want it to name the instance and say %q", i, got[i], want)
		}
	}
	stored, err := f.store.Display(ctx, "acme")
	if err != nil {
		t.Fatalf("Display error: %v", err)
	}
	if stored.Health.State != apmc.StatePaused || stored.Health.Failing || stored.Health.LastNotification == nil || stored.Health.LastNotification.Outcome != "delivered" {
		t.Errorf("stored health = %+v, want paused, healthy, last notification delivered", stored.Health)
	}
}

// TestTrackerRecordsAFailedDelivery: an unreachable URL is no error of the
// execution; the outcome is kept and logged without the URL.
func TestTrackerRecordsAFailedDelivery(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.recv.srv.Close()
	var log bytes.Buffer
	tr := f.function(&log)
	tr.Observe(ctx, exec(apmc.StatusFailed), false)
	stored, err := f.store.Display(ctx, "acme")
	if err != nil {
		t.Fatalf("Display error: %v", err)
	}
	n := stored.Health.LastNotification
	if n == nil || !strings.HasPrefix(n.Outcome, "failed: ") || !slices.Equal(n.Events, []apmc.HealthEvent{apmc.EventFailing}) {
		t.Fatalf("last notification = %+v, want a failed delivery of failing", n)
	}
	if strings.Contains(n.Outcome, f.recv.srv.URL) || strings.Contains(log.String(), f.recv.srv.URL) {
		t.Errorf("the outcome or the log holds the notification URL: %q / %s", n.Outcome, log.String())
	}
	if !strings.Contains(log.String(), "instance health changed") {
		t.Errorf("log = %s, want the health change logged", log.String())
	}
}
