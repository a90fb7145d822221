package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

func TestReconcilePrintsItsCountsAndRepairs(t *testing.T) {
	s := startStack(t)
	id := s.Info.InstanceID
	list := s.Info.Sandbox.Mailchimp.ListID
	// A member the audience held before the integration: the first run
	// leaves it to first sync and says so.
	if err := s.Mailchimp.Import(list, []sbmc.ImportedMember{{EmailAddress: "cli-old@example.com", MergeFields: map[string]any{"FNAME": "Old", "LNAME": "Member"},
		LastChanged: time.Now().Add(-time.Minute)}}); err != nil {
		t.Fatalf("Mailchimp Import() error = %v", err)
	}
	out := s.must(t, "reconcile", id)
	if !strings.Contains(out, "1 checked, 0 enqueued") || !strings.Contains(out, "1 contact(s) never synced") || !strings.Contains(out, "backfill plan") {
		t.Errorf("first reconcile = %q, want 1 checked, 0 enqueued and the contact left to first sync", out)
	}
	// A member that the service never heard of, imported without webhooks
	// while the integration is on.
	if err := s.Mailchimp.Import(list, []sbmc.ImportedMember{{EmailAddress: "cli-lost@example.com", MergeFields: map[string]any{"FNAME": "Lost", "LNAME": "Member"}}}); err != nil {
		t.Fatalf("Mailchimp Import() error = %v", err)
	}
	var got struct {
		Checked  *int `json:"checked"`
		Enqueued *int `json:"enqueued"`
	}
	out = s.must(t, "reconcile", id, "--full", "--json")
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Checked == nil || got.Enqueued == nil {
		t.Fatalf("reconcile --json = %q (%v), want {\"checked\": n, \"enqueued\": n}", out, err)
	}
	if *got.Checked != 2 || *got.Enqueued != 1 {
		t.Errorf("reconcile --full --json = checked %d, enqueued %d; want 2 and 1", *got.Checked, *got.Enqueued)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(out), &fields); err != nil || len(fields) != 2 {
		t.Errorf("reconcile --json = %q, want exactly checked and enqueued", out)
	}
	s.waitExecution(t, "the reconciled member", "cli-lost@example.com", func(e apmc.Execution) bool { return e.Origin == apmc.OriginReconcile })

	out = s.must(t, "reconcile", id)
	if !strings.Contains(out, "changed since") || !strings.Contains(out, "enqueued") {
		t.Errorf("reconcile = %q, want an incremental run's counts", out)
	}
	if show := s.must(t, "instance", "show", id); !strings.Contains(show, "last reconcile") || !strings.Contains(show, "checked") {
		t.Errorf("instance show = %q, want the last reconcile and its counts", show)
	}
	if _, _, err := s.apmc(t, "reconcile"); err == nil {
		t.Error("reconcile without an instance: no error, want one")
	}
}
