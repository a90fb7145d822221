package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ops"
)

// runExecutions dispatches `apmc executions …`.
func runExecutions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "executions", map[string]subcommand{
		"list": executionsList,
		"show": executionsShow,
	}, args, stdout, stderr)
}

// filterFlags are the execution filters, read into the typed query, which
// validates itself as it does for the API and the console.
type filterFlags struct {
	status, flow, from, to, contact, cursor string
	originalOnly, changedOnly               bool
	limit                                   int
}

func addFilterFlags(fs *flag.FlagSet) *filterFlags {
	f := &filterFlags{}
	fs.StringVar(&f.status, "status", "", "succeeded, failed, blocked, suppressed, skipped or held")
	fs.StringVar(&f.flow, "flow", "", "accessplanit_to_mailchimp or mailchimp_to_accessplanit")
	fs.StringVar(&f.from, "from", "", "started at or after (RFC 3339)")
	fs.StringVar(&f.to, "to", "", "started before (RFC 3339)")
	fs.StringVar(&f.contact, "contact", "", "contact email")
	fs.StringVar(&f.cursor, "cursor", "", "next page, from a previous list")
	fs.BoolVar(&f.originalOnly, "original-only", false, "hide retries and replays")
	fs.BoolVar(&f.changedOnly, "changed-only", false, "hide executions without trigger-detected changes")
	fs.IntVar(&f.limit, "limit", 0, "page size, 1-200 (default 50)")
	return f
}

// query returns the filters as an execution query, or an error naming
// every flag that is wrong.
func (f *filterFlags) query() (apmc.ExecutionQuery, error) {
	q := apmc.ExecutionQuery{
		Status: apmc.Status(f.status), Flow: apmc.Flow(f.flow), Contact: apmc.NormaliseEmail(f.contact), Cursor: f.cursor,
		OriginalOnly: f.originalOnly, ChangedOnly: f.changedOnly, Limit: f.limit,
	}
	var problems []string
	for _, p := range []struct {
		name, value string
		dst         *time.Time
	}{{"from", f.from, &q.From}, {"to", f.to, &q.To}} {
		if p.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.value)
		if err != nil {
			problems = append(problems, p.name+" must be an RFC 3339 time, such as 2026-11-26T09:00:00Z")
		}
		*p.dst = t
	}
	if err := q.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return apmc.ExecutionQuery{}, fmt.Errorf("filters: %s", strings.Join(problems, "; "))
	}
	return q, nil
}

// page is a list of executions and the cursor to the next page.
type page struct {
	Executions []apmc.Execution `json:"executions"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func executionsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("executions list", stderr)
	ff := addFilterFlags(c.fs)
	pos, err := c.parse(args, "ID")
	if err != nil {
		return err
	}
	q, err := ff.query()
	if err != nil {
		return err
	}
	t, err := c.target.open(ctx)
	if err != nil {
		return err
	}
	list, next, err := t.Ops.ListExecutions(ctx, pos[0], q)
	if err != nil {
		return err
	}
	if list == nil {
		list = []apmc.Execution{}
	}
	if *c.jsonOut {
		return printJSON(stdout, page{Executions: list, NextCursor: next})
	}
	if err := executionTable(stdout, list); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(stdout, "\nmore: --cursor %s\n", next)
	}
	return nil
}

// executionTable prints executions one per line.
func executionTable(w io.Writer, list []apmc.Execution) error {
	tb := newTable(w, "ID", "STARTED", "FLOW", "EVENT", "ORIGIN", "STATUS", "CHANGED", "CONTACT", "REASON")
	for _, e := range list {
		reason := e.Reason
		if e.Error != "" {
			reason = e.Error
		}
		if reason == "" {
			reason = ops.ChangeSummary(e)
		}
		tb.row(e.ID, when(e.StartedAt), string(e.Flow), string(e.Event), string(e.Origin), string(e.Status), yesNo(e.Changed), e.Contact, shorten(reason, 80))
	}
	return tb.flush()
}

func executionsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("executions show", stderr)
	errorsOnly := c.fs.Bool("errors-only", false, "show only error log lines")
	t, pos, err := c.open(ctx, args, "ID", "EXECUTION_ID")
	if err != nil {
		return err
	}
	d, err := t.Ops.Detail(ctx, pos[0], pos[1], *errorsOnly)
	if err != nil {
		return err
	}
	if *c.jsonOut {
		return printJSON(stdout, d)
	}
	return printExecution(stdout, d)
}

func printExecution(w io.Writer, d ops.Detail) error {
	e := d.Execution
	tb := newTable(w)
	tb.row("id", e.ID)
	tb.row("status", string(e.Status))
	tb.row("flow", string(e.Flow))
	tb.row("event", string(e.Event))
	tb.row("origin", fmt.Sprintf("%s (attempt %d)", e.Origin, e.Attempt))
	if e.OriginalID != "" {
		tb.row("original", e.OriginalID)
	}
	tb.row("contact", e.Contact)
	tb.row("changed", yesNo(e.Changed))
	if e.Reason != "" {
		tb.row("reason", e.Reason)
	}
	if e.Error != "" {
		tb.row("error", e.Error)
		tb.row("retryable", yesNo(e.Retryable))
	}
	tb.row("config version", fmt.Sprint(e.ConfigVersion))
	tb.row("started", when(e.StartedAt))
	tb.row("finished", when(e.FinishedAt))
	tb.row("change", e.ChangeID)
	if err := tb.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	st := newTable(w, "STEP", "STATUS", "MS", "OUTPUT / ERROR")
	for _, s := range e.Steps {
		detail := s.Error
		if detail == "" && len(s.Output) > 0 {
			if b, err := json.Marshal(s.Output); err == nil {
				detail = string(b)
			}
		}
		st.row(s.Name, s.Status, fmt.Sprint(s.DurationMS), shorten(detail, 120))
	}
	if err := st.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	lt := newTable(w, "TIME", "LEVEL", "MESSAGE")
	for _, l := range e.Logs {
		lt.row(l.Time.UTC().Format("15:04:05.000"), l.Level, l.Message)
	}
	if err := lt.flush(); err != nil {
		return err
	}
	if d.RelatedTruncated {
		fmt.Fprintln(w, "\nThe search for related executions stopped at its limit; later retries and replays may be missing.")
	}
	if len(d.Related) > 0 {
		fmt.Fprintln(w)
		rt := newTable(w, "RELATED", "ORIGIN", "STATUS", "STARTED")
		for _, r := range d.Related {
			rt.row(r.ID, string(r.Origin), string(r.Status), when(r.StartedAt))
		}
		return rt.flush()
	}
	return nil
}
