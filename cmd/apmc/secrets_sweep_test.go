package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// TestNoCommandPrintsASecret runs every command, succeeding and failing,
// and checks that no secret appears in what it wrote to stdout or stderr or
// in the error it returned: not the instances' keys, path tokens or signing
// secrets, not the operator token, not a wrong key an operator typed, and
// not the secrets a Mailchimp error quoted back.
func TestNoCommandPrintsASecret(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	demo := s.Info.InstanceID
	badMC := "badmckey" + randomHex(t, 12) + "-us21"
	badAP := "badapkey" + randomHex(t, 12)

	type result struct{ args, out string }
	var results []result
	runCmd := func(wantErr bool, args ...string) string {
		t.Helper()
		out, errOut, err := s.apmc(t, args...)
		if (err != nil) != wantErr {
			t.Errorf("apmc %s error = %v, want error %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, wantErr, out, errOut)
		}
		results = append(results, result{strings.Join(args, " "), out + "\n" + errOut + "\n" + errString(err)})
		return out
	}

	// An instance of the test's own, with its signing secret registered.
	runCmd(false, s.createArgs("Sweep", "--id", "sweep")...)
	runCmd(false, "webhooks", "register", "sweep")
	// Executions on the demo instance: one succeeded, one failed by a
	// Mailchimp that quotes every credential back in its error.
	demoIn, err := s.Instances.Instance(ctx, demo)
	if err != nil {
		t.Fatalf("Instance(%s) error = %v", demo, err)
	}
	sweepIn, err := s.Instances.Instance(ctx, "sweep")
	if err != nil {
		t.Fatalf("Instance(sweep) error = %v", err)
	}
	company := s.Info.Sandbox.Accessplanit.DefaultCompanyID
	create := func(email string) {
		t.Helper()
		if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Sweep", "Surname": "Tester", "Email": email, "MainCompanyID": company}); err != nil {
			t.Fatalf("CreateUserInUI(%s) error = %v", email, err)
		}
	}
	create("fine@example.com")
	ok := s.waitExecution(t, "succeeded", "fine@example.com", func(e apmc.Execution) bool { return e.Status == apmc.StatusSucceeded })
	s.Mailchimp.InjectFaults(sbmc.FaultRule{
		Kind: sbmc.FaultStatus, Method: http.MethodPut, Status: 400, Title: "Invalid Resource",
		// Only the demo instance's own credentials: Mailchimp cannot know another's.
		Detail: "rejected for the sweep: " + strings.Join(demoIn.Secrets.Values(), " "),
	})
	create("fail@example.com")
	failed := s.waitExecution(t, "failed", "fail@example.com", func(e apmc.Execution) bool { return e.Status == apmc.StatusFailed })
	if !strings.Contains(failed.Error, "rejected for the sweep") {
		t.Fatalf("failed execution error = %q, want the simulator's rejection", failed.Error)
	}

	for _, id := range []string{demo, "sweep"} {
		runCmd(false, "instance", "show", id)
		runCmd(false, "instance", "show", id, "--json")
		runCmd(false, "webhooks", "check", id)
		runCmd(false, "executions", "list", id)
		runCmd(false, "executions", "list", id, "--json")
	}
	for _, args := range [][]string{
		{"instance", "list"}, {"instance", "list", "--json"},
		{"instance", "configure", "sweep", "--status-if-new", "pending"},
		{"instance", "configure", "sweep", "--map", "PHONE=Mobile:phone", "--json"},
		{"pause", demo}, {"resume", demo}, {"pause", demo, "--json"}, {"resume", demo, "--json"},
		{"executions", "list", demo, "--status", "failed"},
		{"executions", "list", demo, "--status", "failed", "--json"},
		{"executions", "list", demo, "--contact", "fail@example.com", "--flow", string(apmc.FlowToMailchimp), "--changed-only"},
		{"executions", "list", demo, "--from", "2020-01-01T00:00:00Z", "--original-only", "--limit", "1"},
		{"executions", "show", demo, failed.ID},
		{"executions", "show", demo, failed.ID, "--json"},
		{"executions", "show", demo, failed.ID, "--errors-only"},
		{"executions", "show", demo, ok.ID, "--json"},
		{"timeline", demo, "fail@example.com"}, {"timeline", demo, "fail@example.com", "--json"},
		{"replay", demo, failed.ID}, {"replay", demo, "--failed"}, {"replay", demo, "--failed", "--json"},
		{"dlq", "list"}, {"dlq", "list", "--json"}, {"dlq", "redrive", "--max", "1"},
		{"help"},
	} {
		runCmd(false, args...)
	}
	// First sync: plan, show, apply and status, on both instances.
	for _, id := range []string{demo, "sweep"} {
		var plan planJSON
		if err := json.Unmarshal([]byte(runCmd(false, "backfill", "plan", id, "--json")), &plan); err != nil {
			t.Fatalf("backfill plan %s --json does not decode: %v", id, err)
		}
		csvPath := filepath.Join(t.TempDir(), id+".csv")
		runCmd(false, "backfill", "plan", id, "--out", csvPath)
		runCmd(false, "backfill", "show", id, plan.PlanID)
		runCmd(false, "backfill", "show", id, plan.PlanID, "--json")
		runCmd(false, "backfill", "apply", id, "--plan", plan.PlanID)
		runCmd(false, "backfill", "status", id)
		runCmd(false, "backfill", "status", id, "--json")
		b, err := os.ReadFile(csvPath)
		if err != nil {
			t.Fatalf("read %s: %v", csvPath, err)
		}
		results = append(results, result{"backfill plan " + id + " --out (the file)", string(b)})
	}
	shown := false
	for _, r := range results {
		shown = shown || strings.Contains(r.out, "rejected for the sweep")
	}
	if !shown {
		t.Errorf("no command showed the failed execution's error: the sweep misses the error text")
	}

	// Failing commands: wrong keys, unknown instances, bad filters, bad ids.
	for _, args := range [][]string{
		s.createArgs("Bad MC", "--id", "bad-mc", "--mailchimp-api-key", badMC),
		s.createArgs("Bad AP", "--id", "bad-ap", "--accessplanit-api-key", badAP),
		{"instance", "configure", "sweep", "--mailchimp-api-key", badMC},
		{"instance", "configure", "sweep", "--accessplanit-api-key", badAP},
		{"instance", "configure", "sweep", "--map", "NOPE=Phone"},
		{"instance", "show", "nosuch"}, {"webhooks", "register", "nosuch"}, {"webhooks", "check", "nosuch"},
		{"pause", "nosuch"}, {"resume", "nosuch"}, {"executions", "list", "nosuch"},
		{"executions", "show", demo, "not-an-id"}, {"executions", "show", "nosuch", failed.ID},
		{"executions", "list", demo, "--status", "lost"}, {"executions", "list", demo, "--from", "yesterday"},
		{"executions", "list", demo, "--flow", "sideways"}, {"executions", "list", demo, "--cursor", "not-a-cursor"},
		{"replay", demo, "not-an-id"}, {"replay", "nosuch", "--failed"}, {"timeline", demo},
		{"dlq", "redrive", "--max", "-1"}, {"frobnicate"},
		{"instance", "list", "--stack", "prod"},
		{"backfill", "apply", demo}, {"backfill", "apply", demo, "--plan", "nosuch"},
		{"backfill", "plan", "nosuch"}, {"backfill", "show", demo, "nosuch"},
		{"backfill", "status", "nosuch"}, {"backfill", "cancel", demo},
	} {
		runCmd(true, args...)
	}

	secrets := map[string]string{
		"operator token":      s.Info.APIToken,
		"operator token hash": api.HashToken(s.Info.APIToken),
		"test Mailchimp key":  s.mcKey, "test accessplanit key": s.apKey,
		"wrong Mailchimp key typed": badMC, "wrong accessplanit key typed": badAP,
	}
	for name, in := range map[string]apmc.Instance{demo: demoIn, "sweep": sweepIn} {
		secrets[name+" Mailchimp API key"] = in.Secrets.MailchimpAPIKey
		secrets[name+" accessplanit API key"] = in.Secrets.AccessplanitAPIKey
		secrets[name+" accessplanit path token"] = in.Secrets.AccessplanitToken
		secrets[name+" Mailchimp path token"] = in.Secrets.MailchimpToken
		secrets[name+" signing secret"] = in.Secrets.MailchimpSigningSecret
	}
	for name, v := range secrets {
		if len(v) < 8 {
			t.Fatalf("the %s is %q: too short to be searched for", name, v)
		}
	}
	for _, r := range results {
		for name, v := range secrets {
			if strings.Contains(r.out, v) {
				t.Errorf("apmc %s printed the %s", r.args, name)
			}
		}
	}
}
