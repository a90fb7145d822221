package backfill_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// mailchimpOnly puts n members in the audience that accessplanit does not
// hold: each is a User to create.
func mailchimpOnly(t *testing.T, w *world, n int) []string {
	t.Helper()
	var members []sbmc.ImportedMember
	var emails []string
	for i := range n {
		e := fmt.Sprintf("member%02d@example.com", i)
		emails = append(emails, e)
		members = append(members, sbmc.ImportedMember{EmailAddress: e, MergeFields: map[string]any{"FNAME": "Member", "LNAME": fmt.Sprint(i)}})
	}
	if err := w.mc.Import(w.instance.MailchimpListID, members); err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	return emails
}

// usersByEmail counts accessplanit's Users by email.
func usersByEmail(w *world) map[string]int {
	out := map[string]int{}
	for _, u := range w.ap.Users() {
		e, _ := u["Email"].(string)
		out[strings.ToLower(e)]++
	}
	return out
}

// Two applies of one plan at once: one holds the job and the other is
// refused (or, started after the first ended, finds nothing to do); every
// member gets exactly one User.
func TestConcurrentAppliesCreateEachUserOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	emails := mailchimpOnly(t, w, 20)
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	results := make([]backfill.Result, 2)
	for i := range errs {
		wg.Go(func() { results[i], errs[i] = w.svc.Apply(ctx, w.instance.ID, plan.ID, nil) })
	}
	wg.Wait()
	written := 0
	for i, err := range errs {
		if err != nil && !errors.Is(err, backfill.ErrJobRunning) {
			t.Errorf("Apply() #%d error = %v, want none or ErrJobRunning", i, err)
		}
		written += results[i].Written
	}
	if written != len(emails) {
		t.Errorf("Apply() written in all = %d, want %d (%v)", written, len(emails), results)
	}
	users := usersByEmail(w)
	for _, e := range emails {
		if users[e] != 1 {
			t.Errorf("Users with %s = %d, want 1", e, users[e])
		}
	}
}

// Two appliers writing the same contacts at once, each unaware of the
// other (no job between them): the announcement in the contact's state
// lets one write each User.
func TestConcurrentAppliersAnnounceAccessplanitWrites(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	emails := mailchimpOnly(t, w, 20)
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	sides, err := w.svc.Connect(w.instance)
	if err != nil {
		t.Fatalf("Connect() error = %v", err)
	}
	// Both read both sides and the contact states before either writes.
	var read sync.WaitGroup
	read.Add(2)
	a := backfill.Applier{
		Reader:       backfill.Reader{Users: sides.Users, Members: sides.Members, Contacts: w.store},
		Mailchimp:    sides.Batches,
		Member:       sides.Member,
		Accessplanit: sides.Accessplanit,
		Contacts:     w.store,
		Executions:   w.execs,
	}
	var wg sync.WaitGroup
	results := make([]backfill.Result, 2)
	for i := range results {
		wg.Go(func() {
			a := a
			a.Reader.Contacts = barrier{w.store, &read}
			res, err := a.Apply(ctx, w.instance, plan, nil)
			if err != nil {
				t.Errorf("Apply() #%d error = %v", i, err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	if got := results[0].Written + results[1].Written; got != len(emails) {
		t.Errorf("written in all = %d, want %d (%+v)", got, len(emails), results)
	}
	users := usersByEmail(w)
	for _, e := range emails {
		if users[e] != 1 {
			t.Errorf("Users with %s = %d, want 1", e, users[e])
		}
	}
}

// barrier reads the contact states, then waits until every reader has.
type barrier struct {
	backfill.ContactStates
	read *sync.WaitGroup
}

func (b barrier) EachContact(ctx context.Context, instanceID string, fn func(apmc.Contact) error) error {
	err := b.ContactStates.EachContact(ctx, instanceID, fn)
	b.read.Done()
	b.read.Wait()
	return err
}

// A job whose plan expires while it runs carries on: its continuation
// does not need the plan. A continuation that can never run (the instance
// paused since) ends the job failed instead of leaving it running.
func TestContinuationOutlivesItsPlan(t *testing.T) {
	for _, tt := range []struct {
		name       string
		paused     bool
		wantStatus string
	}{
		{"plan expired", false, backfill.JobDone},
		{"instance paused since", true, backfill.JobFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			emails := mailchimpOnly(t, w, 3)
			// Planned (and started) 25 hours ago: the plan has expired.
			started := time.Now().Add(-backfill.PlanTTL - time.Hour)
			w.svc.Now = func() time.Time { return started }
			plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
			if err != nil {
				t.Fatalf("Plan() error = %v", err)
			}
			m := backfill.Message{InstanceID: w.instance.ID, PlanID: plan.ID, RunID: backfill.NewRunID(started)}
			if err := w.store.StartJob(ctx, backfill.Job{InstanceID: m.InstanceID, PlanID: m.PlanID, RunID: m.RunID, Total: len(emails)}); err != nil {
				t.Fatalf("StartJob() error = %v", err)
			}
			w.svc.Now = time.Now
			if _, err := w.svc.StoredPlan(ctx, w.instance.ID, plan.ID); !apmc.IsInvalid(err) {
				t.Fatalf("StoredPlan() error = %v, want the plan expired", err)
			}
			if tt.paused {
				in := w.instance
				in.State = apmc.StatePaused
				w.svc.Instances = staticInstances{in}
			}

			res, err := w.svc.Run(ctx, m, nil)
			if err != nil {
				if err := w.svc.Abandon(ctx, m, err); err != nil {
					t.Fatalf("Abandon() error = %v", err)
				}
			}
			job, jerr := w.svc.Status(ctx, w.instance.ID)
			if jerr != nil || job.Status != tt.wantStatus {
				t.Fatalf("Status() = %+v, %v; want %s (Run() = %+v, %v)", job, jerr, tt.wantStatus, res, err)
			}
			wantWritten := len(emails)
			if tt.paused {
				wantWritten = 0
				if !strings.Contains(job.Error, "paused") {
					t.Errorf("job error = %q, want the reason (paused)", job.Error)
				}
			}
			if res.Written != wantWritten {
				t.Errorf("Run() written = %d, want %d", res.Written, wantWritten)
			}
		})
	}
}

// A paused instance holds its changes: a first sync is refused, started or
// applied.
func TestPausedInstanceRefusesFirstSync(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	mailchimpOnly(t, w, 2)
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	in := w.instance
	in.State = apmc.StatePaused
	w.svc.Instances = staticInstances{in}
	w.svc.Queue = refuseQueue{t}
	if _, err := w.svc.Apply(ctx, in.ID, plan.ID, nil); !apmc.IsInvalid(err) {
		t.Errorf("Apply() error = %v, want an invalid-input error", err)
	}
	if _, err := w.svc.Start(ctx, in.ID, plan.ID); !apmc.IsInvalid(err) {
		t.Errorf("Start() error = %v, want an invalid-input error", err)
	}
	if n := len(w.ap.Users()); n != 0 {
		t.Errorf("Users = %d, want none created", n)
	}
}

// refuseQueue fails the test when a job is handed to it.
type refuseQueue struct{ t *testing.T }

func (q refuseQueue) SendJob(context.Context, backfill.Message) error {
	q.t.Error("SendJob() called, want no job started")
	return nil
}

// Users without an email are each invalid, not Users sharing one email.
func TestUsersWithoutEmailAreEachInvalid(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.ap.ImportUsers([]map[string]any{
		{"Forenames": "No", "Surname": "One"}, {"Forenames": "No", "Surname": "Two"}, {"Forenames": "No", "Surname": "Three"},
	}); err != nil {
		t.Fatalf("ImportUsers() error = %v", err)
	}
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	if plan.Counts[apmc.PairInvalid] != 3 || plan.Shared != 0 {
		t.Errorf("Plan() invalid = %d, shared = %d; want 3 and 0 (counts %v)", plan.Counts[apmc.PairInvalid], plan.Shared, plan.Counts)
	}
}

// A run cut off by its deadline before it wrote anything fails the job with
// the reason, instead of handing itself to a continuation that would do the
// same forever.
func TestRunCutOffBeforeWritingFails(t *testing.T) {
	w := newWorld(t)
	mailchimpOnly(t, w, 3)
	ctx := context.Background()
	plan, err := w.svc.Plan(ctx, w.instance.ID, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	m := backfill.Message{InstanceID: w.instance.ID, PlanID: plan.ID, RunID: backfill.NewRunID(time.Now())}
	// Reading accessplanit takes longer than the run may last.
	w.ap.SetLatency(2 * time.Second)
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	res, err := w.svc.Run(short, m, nil)
	if err == nil || res.Incomplete || !strings.Contains(err.Error(), "before it wrote anything") {
		t.Fatalf("Run() cut off while reading = %+v, %v; want it to fail with the reason, not to continue", res, err)
	}
}
