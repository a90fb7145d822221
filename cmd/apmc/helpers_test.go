package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/local"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// cliStack is a local stack started in-process for one test, with the
// state file the CLI reads.
type cliStack struct {
	*local.Stack
	stateFile string
	// Unique credentials of a second Mailchimp account and accessplanit
	// key, so a test can tell whether a secret leaked.
	mcKey, mcListID, apKey string
}

func startStack(t *testing.T) *cliStack {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	state := filepath.Join(t.TempDir(), "local.json")
	// kumo keeps state per process: every stack gets its own tables and
	// queues, also when a test runs again (-count).
	prefix := "cli-" + randomHex(t, 6)
	s, err := local.Start(ctx, local.Config{Prefix: prefix, StateFile: state, RetryBase: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("local.Start() error = %v", err)
	}
	t.Cleanup(s.Close)
	cs := &cliStack{Stack: s, stateFile: state}
	cs.mcKey = "clisecret" + randomHex(t, 12) + "-us21"
	cs.mcListID = s.Mailchimp.AddList(cs.mcKey, "Shop audience",
		sbmc.MergeField{Tag: "BIRTHDAY", Name: "Birthday", Type: "birthday"},
		sbmc.MergeField{Tag: "COMPANY", Name: "Company", Type: "text"})
	cs.apKey = "apclisecret" + randomHex(t, 12)
	s.Accessplanit.AddAPIKey(cs.apKey, "9100")
	return cs
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand.Read() error = %v", err)
	}
	return hex.EncodeToString(b)
}

// apmc runs the CLI against the stack and returns what it printed.
func (s *cliStack) apmc(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(append(args, "--local-file", s.stateFile), &out, &errOut)
	return out.String(), errOut.String(), err
}

// must runs the CLI and fails the test on an error.
func (s *cliStack) must(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := s.apmc(t, args...)
	if err != nil {
		t.Fatalf("apmc %s error = %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// createArgs are the flags creating an instance on the test's own
// Mailchimp account and accessplanit key.
func (s *cliStack) createArgs(name string, extra ...string) []string {
	return append([]string{"instance", "create", "--name", name,
		"--mailchimp-api-key", s.mcKey, "--mailchimp-base-url", s.Info.Sandbox.Mailchimp.BaseURL,
		"--accessplanit-url", s.Info.Sandbox.Accessplanit.BaseURL, "--accessplanit-api-key", s.apKey,
	}, extra...)
}

// waitExecution waits for an execution of the contact matching ok.
func (s *cliStack) waitExecution(t *testing.T, what, contact string, ok func(apmc.Execution) bool) apmc.Execution {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, _, err := s.Executions.Executions(context.Background(), s.Info.InstanceID, apmc.ExecutionQuery{Contact: contact, Limit: 200})
		if err != nil {
			t.Fatalf("Executions() error = %v", err)
		}
		for _, e := range list {
			if ok(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s: no %s execution for %s among %d", what, contact, len(list))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
