package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
)

// runBackfill dispatches `apmc backfill …`: first sync.
func runBackfill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "backfill", map[string]subcommand{
		"plan":   backfillPlan,
		"show":   backfillShow,
		"apply":  backfillApply,
		"start":  backfillStart,
		"status": backfillStatus,
		"cancel": backfillCancel,
	}, args, stdout, stderr)
}

// openFirstSync parses args like command.open and returns the target's
// first-sync service, or says how to name the contacts table it needs.
func openFirstSync(ctx context.Context, c *command, args []string, names ...string) (*backfill.Service, []string, error) {
	t, pos, err := c.open(ctx, args, names...)
	if err != nil {
		return nil, nil, err
	}
	if t.Backfill == nil {
		return nil, nil, errors.New("the contacts table is unknown: pass -contacts-table (stack output ContactsTableName) or set APMC_CONTACTS_TABLE")
	}
	return t.Backfill, pos, nil
}

// firstSyncRate is the instance's accessplanit write budget for first sync.
func firstSyncRate(in apmc.Instance) int {
	if in.AccessplanitRequestsPerHour > 0 {
		return in.AccessplanitRequestsPerHour
	}
	return backfill.DefaultAccessplanitRequestsPerHour
}

// planJSON is what `backfill plan --json` prints: the plan's id and its
// counts, every action present.
type planJSON struct {
	PlanID string         `json:"plan_id"`
	Counts map[string]int `json:"counts"`
}

func allCounts(counts map[apmc.PairAction]int) map[string]int {
	out := make(map[string]int, len(apmc.PairActions))
	for _, a := range apmc.PairActions {
		out[string(a)] = counts[a]
	}
	return out
}

func backfillPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("backfill plan", stderr)
	out := c.fs.String("out", "", "also write every contact with its action and reason to this CSV file")
	svc, pos, err := openFirstSync(ctx, c, args, "ID")
	if err != nil {
		return err
	}
	var progress backfill.Progress
	if !*c.jsonOut {
		bar := newProgress(stderr, -1, "reading")
		defer bar.finish()
		progress = bar.report
	}
	p, err := svc.Plan(ctx, pos[0], progress)
	if err != nil {
		return fmt.Errorf("plan the first sync of instance %s: %w", pos[0], err)
	}
	return printPlan(stdout, p, *c.jsonOut, *out)
}

func backfillShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("backfill show", stderr)
	out := c.fs.String("out", "", "also write every contact with its action and reason to this CSV file")
	svc, pos, err := openFirstSync(ctx, c, args, "ID", "PLAN_ID")
	if err != nil {
		return err
	}
	p, err := svc.Store.Plan(ctx, pos[0], pos[1])
	if errors.Is(err, apmc.ErrNotFound) {
		return fmt.Errorf("plan %s of instance %s does not exist or has expired (plans are kept %s)", pos[1], pos[0], backfill.PlanTTL)
	}
	if err != nil {
		return fmt.Errorf("read plan %s: %w", pos[1], err)
	}
	return printPlan(stdout, p, *c.jsonOut, *out)
}

// printPlan prints a plan's summary (or its JSON) and writes its contacts
// to csvPath when given.
func printPlan(stdout io.Writer, p backfill.Plan, jsonOut bool, csvPath string) error {
	if csvPath != "" {
		if err := writePlanCSV(csvPath, p.Contacts); err != nil {
			return err
		}
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(planJSON{PlanID: p.ID, Counts: allCounts(p.Counts)}); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
		return nil
	}
	fmt.Fprintf(stdout, "first sync plan %s for instance %s (nothing written)\n", p.ID, p.InstanceID)
	fmt.Fprintf(stdout, "made %s, expires %s\n\n", when(p.CreatedAt), when(p.ExpiresAt))
	tb := newTable(stdout, "ACTION", "CONTACTS")
	total := 0
	for _, a := range apmc.PairActions {
		tb.row(string(a), fmt.Sprint(p.Counts[a]))
		total += p.Counts[a]
	}
	tb.row("total", fmt.Sprint(total))
	tb.row("shared emails", fmt.Sprint(p.Shared))
	if err := tb.flush(); err != nil {
		return err
	}
	if csvPath != "" {
		fmt.Fprintf(stdout, "\nevery contact written to %s\n", csvPath)
	}
	fmt.Fprintf(stdout, "\napply it with: apmc backfill apply %s --plan %s\n", p.InstanceID, p.ID)
	return nil
}

// writePlanCSV writes one row per contact. A cell that a spreadsheet would
// take for a formula is prefixed with a quote, so opening the file runs
// nothing.
func writePlanCSV(path string, contacts []apmc.PairPlan) (err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600) // it holds contacts' emails
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("write %s: %w", path, cerr)
		}
	}()
	w := csv.NewWriter(f)
	if err := w.Write([]string{"email", "user_id", "action", "winner", "reason", "shared_with"}); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	for _, c := range contacts {
		row := []string{c.Email, c.UserID, string(c.Action), string(c.Winner), c.Reason, strings.Join(c.SharedWith, " ")}
		for i := range row {
			row[i] = inertCell(row[i])
		}
		if err := w.Write(row); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// inertCell keeps a spreadsheet from reading a cell as a formula.
func inertCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// applyResult is the end of `backfill apply --json`.
type applyResult struct {
	PlanID string `json:"plan_id"`
	Status string `json:"status"`
	backfill.Result
}

// applyProgress is one JSON line of `backfill apply --json`.
type applyProgress struct {
	Stage string `json:"stage"`
	Done  int    `json:"done"`
	Total int    `json:"total,omitempty"`
}

func backfillApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("backfill apply", stderr)
	planID := c.fs.String("plan", "", "the plan to apply (required: `apmc backfill plan ID` makes one)")
	svc, pos, err := openFirstSync(ctx, c, args, "ID")
	if err != nil {
		return err
	}
	if *planID == "" {
		return fmt.Errorf("backfill apply: -plan PLAN_ID is required: make a plan with `apmc backfill plan %s`, read it, then apply it by its id", pos[0])
	}
	plan, err := svc.Store.Plan(ctx, pos[0], *planID)
	if errors.Is(err, apmc.ErrNotFound) {
		return fmt.Errorf("plan %s of instance %s does not exist or has expired: make a new plan", *planID, pos[0])
	}
	if err != nil {
		return fmt.Errorf("read plan %s: %w", *planID, err)
	}
	total := 0
	for _, p := range plan.Contacts {
		if _, writes := p.Writes(); writes {
			total++
		}
	}
	var progress backfill.Progress
	if *c.jsonOut {
		progress = jsonProgress(stdout, total)
	} else {
		bar := newProgress(stderr, total, "applying")
		defer bar.finish()
		progress = bar.report
	}
	res, err := svc.Apply(ctx, pos[0], *planID, progress)
	if err != nil {
		return fmt.Errorf("apply plan %s to instance %s: %w", *planID, pos[0], err)
	}
	status := backfill.JobDone
	if res.Cancelled {
		status = backfill.JobCancelled
	}
	if *c.jsonOut {
		if err := json.NewEncoder(stdout).Encode(applyResult{PlanID: *planID, Status: status, Result: res}); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
		return nil
	}
	return printResult(stdout, pos[0], *planID, status, res)
}

// printResult prints an apply's result as a table.
func printResult(stdout io.Writer, instanceID, planID, status string, res backfill.Result) error {
	fmt.Fprintf(stdout, "first sync of instance %s with plan %s: %s\n\n", instanceID, planID, status)
	tb := newTable(stdout, "ACTION", "CONTACTS")
	for _, a := range apmc.PairActions {
		tb.row(string(a), fmt.Sprint(res.Counts[a]))
	}
	tb.row("written", fmt.Sprint(res.Written))
	tb.row("failed", fmt.Sprint(res.Failed))
	tb.row("blocked on write", fmt.Sprint(res.Blocked))
	tb.row("changed since plan", fmt.Sprint(res.ChangedSincePlan))
	tb.row("left to the live sync", fmt.Sprint(res.ChangedLive))
	tb.row("Mailchimp requests", fmt.Sprint(res.MailchimpRequests))
	if err := tb.flush(); err != nil {
		return err
	}
	if res.Failed > 0 {
		fmt.Fprintf(stdout, "\nthe failures: apmc executions list %s --status failed\n", instanceID)
	}
	if res.Blocked > 0 {
		fmt.Fprintf(stdout, "\nthe contacts Mailchimp will not take: apmc executions list %s --status blocked\n", instanceID)
	}
	return nil
}

func backfillStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("backfill status", stderr)
	svc, pos, err := openFirstSync(ctx, c, args, "ID")
	if err != nil {
		return err
	}
	job, err := svc.Status(ctx, pos[0])
	if errors.Is(err, apmc.ErrNotFound) {
		return fmt.Errorf("no first sync has run for instance %s: start one with `apmc backfill plan %s`", pos[0], pos[0])
	}
	if err != nil {
		return fmt.Errorf("read the first sync of instance %s: %w", pos[0], err)
	}
	if *c.jsonOut {
		return printJSON(stdout, job)
	}
	tb := newTable(stdout)
	tb.row("instance", job.InstanceID)
	tb.row("plan", job.PlanID)
	tb.row("status", job.Status)
	tb.row("progress", fmt.Sprintf("%d of %d contacts", job.Done, job.Total))
	tb.row("started", when(job.StartedAt))
	tb.row("updated", when(job.UpdatedAt))
	if job.CancelRequested {
		tb.row("cancel requested", "yes")
	}
	if job.Error != "" {
		tb.row("error", job.Error)
	}
	if err := tb.flush(); err != nil {
		return err
	}
	if job.Result != nil {
		fmt.Fprintln(stdout)
		return printResult(stdout, job.InstanceID, job.PlanID, job.Status, *job.Result)
	}
	return nil
}

func backfillCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("backfill cancel", stderr)
	svc, pos, err := openFirstSync(ctx, c, args, "ID")
	if err != nil {
		return err
	}
	if err := svc.Cancel(ctx, pos[0]); err != nil {
		return fmt.Errorf("cancel the first sync of instance %s: %w", pos[0], err)
	}
	if *c.jsonOut {
		return printJSON(stdout, map[string]any{"instance_id": pos[0], "cancel_requested": true})
	}
	fmt.Fprintf(stdout, "cancel requested: the first sync of instance %s stops after its current batch (apmc backfill status %s)\n", pos[0], pos[0])
	return nil
}

// backfillStart starts a plan's apply as the deployment's job: the backfill
// function runs it batch by batch, checkpointed, whether or not this
// terminal stays open; status follows it.
func backfillStart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("backfill start", stderr)
	planID := c.fs.String("plan", "", "the plan to apply (from apmc backfill plan); required")
	svc, pos, err := openFirstSync(ctx, c, args, "ID")
	if err != nil {
		return err
	}
	if *planID == "" {
		return errors.New("-plan is required: nobody applies what they have not seen (apmc backfill plan " + pos[0] + ")")
	}
	if svc.Queue == nil {
		return errors.New("the first-sync job queue is unknown: pass -backfill-queue-url (stack output BackfillQueueUrl) or set APMC_BACKFILL_QUEUE_URL, or apply in this terminal with apmc backfill apply")
	}
	if _, err := svc.Start(ctx, pos[0], *planID); err != nil {
		return fmt.Errorf("start the first sync of instance %s: %w", pos[0], err)
	}
	if *c.jsonOut {
		return printJSON(stdout, map[string]any{"instance_id": pos[0], "plan_id": *planID, "started": true})
	}
	fmt.Fprintf(stdout, "first sync of instance %s started as a job with plan %s; follow it with: apmc backfill status %s\n", pos[0], *planID, pos[0])
	return nil
}

// jsonProgress prints apply progress as JSON lines, at most about five a
// second, the end of each stage always.
func jsonProgress(w io.Writer, total int) backfill.Progress {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	var last time.Time
	return func(stage string, done int) {
		mu.Lock()
		defer mu.Unlock()
		final := stage == "apply" && done >= total
		if !final && time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		p := applyProgress{Stage: stage, Done: done}
		if stage == "apply" {
			p.Total = total
		}
		_ = enc.Encode(p) // progress only; the result is checked
	}
}

// progress draws a progress bar on a terminal; elsewhere it draws nothing.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	stage string
}

// newProgress returns a bar of max steps (-1: unknown) on w when w is a
// terminal.
func newProgress(w io.Writer, max int, what string) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("contacts"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// report is a backfill.Progress: reading stages show their count, the apply
// moves the bar.
func (p *progress) report(stage string, done int) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if stage != p.stage {
		p.stage = stage
		p.bar.Describe(stageNames[stage])
		p.bar.Reset()
	}
	// A bar of unknown length counts what is read; a bar of contacts to
	// write moves only as they are written.
	switch max := p.bar.GetMax(); {
	case max < 0:
		_ = p.bar.Set(done)
	case stage == "apply":
		if done > max {
			p.bar.ChangeMax(done)
		}
		_ = p.bar.Set(done)
	}
}

// stageNames describe backfill.Progress stages.
var stageNames = map[string]string{
	"users": "reading accessplanit Users", "members": "reading Mailchimp members",
	"contacts": "reading contact states", "apply": "applying",
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
