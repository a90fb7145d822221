package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ops"
)

func syncQueryAll() apmc.ExecutionQuery { return apmc.ExecutionQuery{Limit: 200} }

func TestPauseResumeExecutionsReplayAndDeadLetters(t *testing.T) {
	s := startStack(t)
	id := s.Info.InstanceID
	const email = "cli-held@example.com"
	const toMC = string(apmc.FlowToMailchimp)

	if out := s.must(t, "pause", id); !strings.Contains(out, "paused") {
		t.Errorf("pause = %q, want paused", out)
	}
	if _, err := s.Accessplanit.CreateUserInUI(map[string]any{"Forenames": "Held", "Surname": "Tester", "Email": email, "MainCompanyID": s.Info.Sandbox.Accessplanit.DefaultCompanyID}); err != nil {
		t.Fatalf("CreateUserInUI() error = %v", err)
	}
	s.waitExecution(t, "held", email, func(e apmc.Execution) bool { return e.Status == apmc.StatusHeld })

	if out := s.must(t, "resume", id); !strings.Contains(out, "1 held change(s) released") {
		t.Errorf("resume = %q, want 1 held change released", out)
	}
	done := s.waitExecution(t, "succeeded", email, func(e apmc.Execution) bool { return e.Status == apmc.StatusSucceeded })

	tests := []struct {
		name string
		args []string
		want int // executions listed
	}{
		{"contact and flow", []string{"--contact", email, "--flow", toMC}, 2},
		{"succeeded", []string{"--contact", email, "--status", "succeeded", "--flow", toMC}, 1},
		{"failed", []string{"--status", "failed"}, 0},
		{"changed only", []string{"--contact", email, "--flow", toMC, "--changed-only"}, 1},
		{"from the future", []string{"--from", "2999-01-01T00:00:00Z"}, 0},
		{"page of one", []string{"--contact", email, "--flow", toMC, "--limit", "1"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := s.must(t, append([]string{"executions", "list", id, "--json"}, tt.args...)...)
			var p page
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				t.Fatalf("executions list --json does not decode: %v\n%s", err, out)
			}
			if len(p.Executions) != tt.want {
				t.Errorf("executions list %v = %d executions, want %d", tt.args, len(p.Executions), tt.want)
			}
			table := s.must(t, append([]string{"executions", "list", id}, tt.args...)...)
			if got := strings.Count(table, email); got != tt.want {
				t.Errorf("executions list %v table shows %s %d times, want %d:\n%s", tt.args, email, got, tt.want, table)
			}
		})
	}
	if out := s.must(t, "executions", "list", id, "--contact", email, "--limit", "1"); !strings.Contains(out, "--cursor") {
		t.Errorf("a first page of one = %q, want a cursor to the next", out)
	}
	if _, _, err := s.apmc(t, "executions", "list", id, "--status", "lost"); err == nil || !strings.Contains(err.Error(), "status must be") {
		t.Errorf("executions list --status lost error = %v, want the filter refused", err)
	}

	out := s.must(t, "executions", "show", id, done.ID)
	for _, want := range []string{done.ID, "load_instance", "succeeded", email} {
		if !strings.Contains(out, want) {
			t.Errorf("executions show = %q, want it to contain %q", out, want)
		}
	}
	var d ops.Detail
	if err := json.Unmarshal([]byte(s.must(t, "executions", "show", id, done.ID, "--json", "--errors-only")), &d); err != nil {
		t.Fatalf("executions show --json does not decode: %v", err)
	}
	if d.ID != done.ID || len(d.Logs) != 0 {
		t.Errorf("executions show --errors-only = id %s with %d log lines, want %s with no error lines", d.ID, len(d.Logs), done.ID)
	}

	var replayed []ops.Replayed
	if err := json.Unmarshal([]byte(s.must(t, "replay", id, done.ID, "--json")), &replayed); err != nil || len(replayed) != 1 {
		t.Fatalf("replay --json = %v, %v; want one replay", replayed, err)
	}
	s.waitExecution(t, "replay", email, func(e apmc.Execution) bool {
		return e.ID == replayed[0].ExecutionID && e.Origin == apmc.OriginReplay && e.OriginalID == done.ID
	})
	var all, originals page
	if err := json.Unmarshal([]byte(s.must(t, "executions", "list", id, "--json", "--contact", email, "--flow", toMC)), &all); err != nil {
		t.Fatalf("executions list --json: %v", err)
	}
	if err := json.Unmarshal([]byte(s.must(t, "executions", "list", id, "--json", "--contact", email, "--flow", toMC, "--original-only")), &originals); err != nil {
		t.Fatalf("executions list --json --original-only: %v", err)
	}
	if len(all.Executions) != 3 || len(originals.Executions) != 2 {
		t.Errorf("executions after a replay = %d, original only %d; want 3 and 2", len(all.Executions), len(originals.Executions))
	}
	if out := s.must(t, "replay", id, "--failed"); !strings.Contains(out, "0 replay(s) queued") {
		t.Errorf("replay --failed with nothing failed = %q, want 0 queued", out)
	}
	if out := s.must(t, "timeline", id, strings.ToUpper(email)); !strings.Contains(out, done.ID) || !strings.Contains(out, replayed[0].ExecutionID) {
		t.Errorf("timeline = %q, want the execution and its replay", out)
	}

	if out := s.must(t, "dlq", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("dlq list --json = %q, want []", out)
	}
	if out := s.must(t, "dlq", "redrive", "--max", "5"); !strings.Contains(out, "0 change(s) moved") {
		t.Errorf("dlq redrive = %q, want 0 moved", out)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	s := startStack(t)
	for _, args := range [][]string{
		{"instance", "show", "nosuch"},
		{"executions", "show", s.Info.InstanceID},
		{"replay", s.Info.InstanceID},
		{"frobnicate"},
		{"instance", "create"},
		{"instance", "list", "--stack", "prod"},
	} {
		_, _, err := s.apmc(t, args...)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("apmc %s error = %q, want one line", strings.Join(args, " "), errString(err))
		}
	}
}
