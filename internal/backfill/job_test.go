package backfill_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

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
