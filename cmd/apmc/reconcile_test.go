package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

func TestReconcilePrintsItsCountsAndRepairs(t *testing.T) {
	s := startStack(t)
	id := s.Info.InstanceID
	list := s.Info.Sandbox.Mailchimp.ListID
	// A member that the service never heard of: imported without webhooks.
	if err := s.Mailchimp.Import(list, []sbmc.ImportedMember{{EmailAddress: "cli-lost@example.com", MergeFields: map[string]any{"FNAME": "Lost", "LNAME": "Member"}}}); err != nil {
		t.Fatalf("Mailchimp Import() error = %v", err)
	}
	var got struct {
		Checked  *int `json:"checked"`
		Enqueued *int `json:"enqueued"`
	}
	out := s.must(t, "reconcile", id, "--full", "--json")
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Checked == nil || got.Enqueued == nil {
		t.Fatalf("reconcile --json = %q (%v), want {\"checked\": n, \"enqueued\": n}", out, err)
	}
	if *got.Checked != 1 || *got.Enqueued != 1 {
		t.Errorf("reconcile --full --json = checked %d, enqueued %d; want 1 and 1", *got.Checked, *got.Enqueued)
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
