package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/apmc-sync/apmc/internal/api"
	"github.com/apmc-sync/apmc/internal/apmc"
)

// runExecutions dispatches `apmc executions …`.
func runExecutions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "executions", map[string]subcommand{
		"list": executionsList,
		"show": executionsShow,
	}, args, stdout, stderr)
}

// filterFlags are the execution filters, read by the API's own parser so
// the CLI and the API accept exactly the same values.
type filterFlags struct {
	status, flow, from, to, contact, cursor string
	originalOnly, changedOnly               bool
	limit                                   int
}

func addFilterFlags(fs *flag.FlagSet) *filterFlags {
	f := &filterFlags{}
	fs.StringVar(&f.status, "status", "", "succeeded, failed, suppressed, skipped or held")
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

func (f *filterFlags) query() (apmc.ExecutionQuery, error) {
	v := url.Values{}
	for k, s := range map[string]string{"status": f.status, "flow": f.flow, "from": f.from, "to": f.to, "contact": f.contact, "cursor": f.cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if f.originalOnly {
		v.Set("original_only", "true")
	}
	if f.changedOnly {
		v.Set("changed_only", "true")
	}
	if f.limit != 0 {
		v.Set("limit", strconv.Itoa(f.limit))
	}
	q, err := api.ParseQuery(v)
	if err != nil {
		return q, fmt.Errorf("filters: %w", err)
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
	if _, err := t.Instances.Display(ctx, pos[0]); err != nil {
		return fmt.Errorf("read instance %s: %w", pos[0], err)
	}
	list, next, err := t.Executions.Executions(ctx, pos[0], q)
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
	e, err := t.Executions.Execution(ctx, pos[0], pos[1])
	if err != nil {
		return fmt.Errorf("read execution %s: %w", pos[1], err)
	}
	related, err := t.Ops.Related(ctx, e)
	if err != nil {
		return err
	}
	d := api.Detail{Execution: api.FilterLogs(e, *errorsOnly), Related: []api.Link{}}
	for _, x := range related {
		d.Related = append(d.Related, api.Link{ID: x.ID, Origin: x.Origin, Status: x.Status})
	}
	if *c.jsonOut {
		return printJSON(stdout, d)
	}
	return printExecution(stdout, d)
}

func printExecution(w io.Writer, d api.Detail) error {
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
	if len(d.Related) > 0 {
		fmt.Fprintln(w)
		rt := newTable(w, "RELATED", "ORIGIN", "STATUS")
		for _, r := range d.Related {
			rt.row(r.ID, string(r.Origin), string(r.Status))
		}
		return rt.flush()
	}
	return nil
}
