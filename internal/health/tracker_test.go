package health

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
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
	saves     atomic.Int64
	successes atomic.Int64
}

func (c *countingStore) RecordSuccess(ctx context.Context, id string, at time.Time) error {
	c.successes.Add(1)
	return c.InstanceStore.RecordSuccess(ctx, id, at)
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
		Store:     f.store, Notifier: &notify.Webhook{}, Now: f.clock, Metrics: io.Discard,
	}
	if log != nil {
		tr.Logger = newJSONLogger(log)
	} else {
		tr.Logger = slog.New(slog.NewTextHandler(tWriter{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
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
	if _, err := f.store.SetState(ctx, "acme", apmc.StatePaused); err != nil {
		t.Fatalf("SetState error: %v", err)
	}
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

// TestTrackerAnnouncesTheStoredState: an operator pauses the instance while
// one function's cached instance still says enabled (the cache keeps it for
// seconds). A change that function applies and that fails must not
// announce a resume, nor the next held change the pause again: pauses and
// resumes are announced as the item stores them.
func TestTrackerAnnouncesTheStoredState(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	stale := f.function(nil)
	if _, err := stale.Instances.Instance(ctx, "acme"); err != nil { // cached: enabled
		t.Fatalf("Instance error: %v", err)
	}
	if _, err := f.store.SetState(ctx, "acme", apmc.StatePaused); err != nil {
		t.Fatalf("SetState error: %v", err)
	}
	fresh := f.function(nil)

	fresh.Observe(ctx, exec(apmc.StatusHeld), false)
	stale.Observe(ctx, exec(apmc.StatusFailed), false)
	f.advance(6 * time.Second)
	fresh.Observe(ctx, exec(apmc.StatusHeld), false)
	stale.Observe(ctx, exec(apmc.StatusFailed), false)

	got := f.recv.received()
	wants := []string{"is paused", "is failing"}
	if len(got) != len(wants) {
		t.Fatalf("received %d notifications %q, want %d: %q", len(got), got, len(wants), wants)
	}
	for i, want := range wants {
		if !strings.Contains(got[i], want) {
			t.Errorf("notification %d = %q, want it to say %q", i, got[i], want)
		}
	}
	stored, err := f.store.Display(ctx, "acme")
	if err != nil {
		t.Fatalf("Display error: %v", err)
	}
	if stored.Health.State != apmc.StatePaused || !stored.Health.Failing {
		t.Errorf("stored health = %+v, want the pause announced and failing", stored.Health)
	}
}

// TestTrackerCountsEveryDeadLetter: ten functions each see twenty
// dead-lettered changes of the same instance at once; every one is
// counted, and the dead letters are announced once.
func TestTrackerCountsEveryDeadLetter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const functions, each = 10, 20
	var wg sync.WaitGroup
	for range functions {
		tr := f.function(nil)
		wg.Go(func() {
			for range each {
				tr.Observe(ctx, exec(apmc.StatusFailed), true)
			}
		})
	}
	wg.Wait()
	stored, err := f.store.Display(ctx, "acme")
	if err != nil {
		t.Fatalf("Display error: %v", err)
	}
	if stored.Health.DeadLettered != functions*each || !stored.Health.LastDeadLetterAt.Equal(f.clock()) {
		t.Errorf("stored dead letters = %d (last %s), want %d (last %s)", stored.Health.DeadLettered, stored.Health.LastDeadLetterAt, functions*each, f.clock())
	}
	var announced int
	for _, text := range f.recv.received() {
		if strings.Contains(text, "has dead letters") {
			announced++
		}
	}
	if announced != 1 {
		t.Errorf("dead letters announced %d times (%q), want once", announced, f.recv.received())
	}
}

type tWriter struct{}

func (tWriter) Write(p []byte) (int, error) { return os.Stderr.Write(p) }

// TestTrackerCountsAHandedBackDeadLetter: a change the consumer handed back
// on its last receive has no execution; it is counted and announced as a
// dead letter all the same.
func TestTrackerCountsAHandedBackDeadLetter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var metrics bytes.Buffer
	tr := f.function(nil)
	tr.Metrics = &metrics
	tr.DeadLettered(ctx, "acme")
	stored, err := f.store.Display(ctx, "acme")
	if err != nil {
		t.Fatalf("Display error: %v", err)
	}
	if stored.Health.DeadLettered != 1 || !stored.Health.DeadLettersAnnounced {
		t.Errorf("stored health = %+v, want one dead letter, announced", stored.Health)
	}
	if got := f.recv.received(); len(got) != 1 || !strings.Contains(got[0], "has dead letters") {
		t.Errorf("notifications = %q, want one saying the instance has dead letters", got)
	}
	var rec map[string]any
	if err := json.Unmarshal(metrics.Bytes(), &rec); err != nil || rec[MetricDeadLettered] != 1.0 || rec[DimensionInstance] != "acme" {
		t.Errorf("metric record = %s (%v), want one dead letter of acme", metrics.String(), err)
	}
	if _, ok := rec[MetricFailedPercent]; ok {
		t.Errorf("metric record = %s, want no FailedPercent (no execution)", metrics.String())
	}
}

// notifierFunc is a Notifier made of a function.
type notifierFunc func(ctx context.Context, url, text string) error

func (f notifierFunc) Send(ctx context.Context, url, text string) error { return f(ctx, url, text) }

// TestTrackerBoundsTheNotificationByTheInvocation: a notification gets the
// time the invocation has left, less a margin for recording it; with less
// than the margin left it is not sent at all.
func TestTrackerBoundsTheNotificationByTheInvocation(t *testing.T) {
	for _, tt := range []struct {
		name    string
		left    time.Duration
		sent    bool
		outcome string
	}{
		{"time left", 10 * time.Second, true, "delivered"},
		{"too little time left", notifyMargin / 2, false, "not sent: too little time left in the invocation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx, cancel := context.WithTimeout(context.Background(), tt.left)
			defer cancel()
			invocation, _ := ctx.Deadline()
			var sent bool
			tr := f.function(nil)
			tr.Notifier = notifierFunc(func(nctx context.Context, _, _ string) error {
				sent = true
				d, ok := nctx.Deadline()
				if !ok || !d.Equal(invocation.Add(-notifyMargin)) {
					t.Errorf("notification deadline = %s (set %t), want the invocation's less %s (%s)", d, ok, notifyMargin, invocation.Add(-notifyMargin))
				}
				return nil
			})
			tr.Observe(ctx, exec(apmc.StatusFailed), false)
			if sent != tt.sent {
				t.Errorf("notification sent = %t, want %t", sent, tt.sent)
			}
			stored, err := f.store.Display(context.Background(), "acme")
			if err != nil {
				t.Fatalf("Display error: %v", err)
			}
			if n := stored.Health.LastNotification; n == nil || n.Outcome != tt.outcome {
				t.Errorf("last notification = %+v, want outcome %q", n, tt.outcome)
			}
		})
	}
}

// TestTrackerRedactsTheNotificationHost: network, DNS and TLS errors name
// the URL's host, which is part of the secret; the stored outcome and the
// log do not.
func TestTrackerRedactsTheNotificationHost(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	in, err := f.store.Instance(ctx, "acme")
	if err != nil {
		t.Fatalf("Instance error: %v", err)
	}
	const host = "hooks.acme-internal.example"
	in.Secrets.NotificationURL = "https://" + host + "/services/T0/B0/secret"
	if err := f.store.Update(ctx, in); err != nil {
		t.Fatalf("Update error: %v", err)
	}
	var log bytes.Buffer
	tr := f.function(&log)
	tr.Notifier = notifierFunc(func(context.Context, string, string) error {
		return fmt.Errorf("post notification: dial tcp: lookup %s: no such host", host)
	})
	tr.Observe(ctx, exec(apmc.StatusFailed), false)
	stored, err := f.store.Display(ctx, "acme")
	if err != nil {
		t.Fatalf("Display error: %v", err)
	}
	n := stored.Health.LastNotification
	if n == nil || !strings.HasPrefix(n.Outcome, "failed: post notification: dial tcp: lookup ") || strings.Contains(n.Outcome, host) {
		t.Errorf("last notification = %+v, want the failure kept without the host %s", n, host)
	}
	if strings.Contains(log.String(), host) {
		t.Errorf("log holds the host: %s", log.String())
	}
}

// TestTrackerRecordsTheLastSuccessOncePerStamp: a function records its
// instance's last successful sync at most once per the policy's Stamp,
// not once per synced change; changes that wrote nothing (suppressed,
// skipped) are no success.
func TestTrackerRecordsTheLastSuccessOncePerStamp(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tr := f.function(nil)
	start := f.clock()
	for _, step := range []struct {
		name      string
		advance   time.Duration
		status    apmc.Status
		n         int
		wantAll   int64 // RecordSuccess calls so far
		wantSince time.Duration
	}{
		{name: "a burst of successes", status: apmc.StatusSucceeded, n: 20, wantAll: 1},
		{name: "echoes and skips", advance: 2 * time.Minute, status: apmc.StatusSuppressed, n: 5, wantAll: 1},
		{name: "skips", status: apmc.StatusSkipped, n: 5, wantAll: 1},
		{name: "successes a minute on", status: apmc.StatusSucceeded, n: 10, wantAll: 2, wantSince: 2 * time.Minute},
		{name: "successes within the minute", advance: 30 * time.Second, status: apmc.StatusSucceeded, n: 10, wantAll: 2, wantSince: 2 * time.Minute},
		{name: "successes after the minute", advance: 31 * time.Second, status: apmc.StatusSucceeded, n: 3, wantAll: 3, wantSince: 2*time.Minute + 61*time.Second},
	} {
		f.advance(step.advance)
		for range step.n {
			tr.Observe(ctx, exec(step.status), false)
		}
		if got := f.store.successes.Load(); got != step.wantAll {
			t.Errorf("after %s: %d successes recorded, want %d", step.name, got, step.wantAll)
		}
		want := start.Add(step.wantSince)
		if got, err := f.store.LastSuccess(ctx, "acme"); err != nil || !got.Equal(want) {
			t.Errorf("after %s: stored last success %v (%v), want %s", step.name, got, err, want)
		}
	}
}
