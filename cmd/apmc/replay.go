package main

import (
	"context"
	"fmt"
	"io"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ops"
)

// runReplay queues one execution's change again, or (with --failed) every
// failed execution matching the filters.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("replay", stderr)
	ff := addFilterFlags(c.fs)
	failed := c.fs.Bool("failed", false, "replay every failed execution matching the filters, oldest first")
	pos, err := parseArgs(c.fs, args)
	if err != nil {
		return err
	}
	var replayed []ops.Replayed
	if *failed {
		if err := wantArgs(pos, "ID"); err != nil {
			return fmt.Errorf("replay --failed: %w", err)
		}
		if ff.status != "" && ff.status != string(apmc.StatusFailed) {
			return fmt.Errorf("replay --failed replays failed executions; drop -status %s", ff.status)
		}
		ff.status = string(apmc.StatusFailed)
		q, err := ff.query()
		if err != nil {
			return err
		}
		t, err := c.target.open(ctx)
		if err != nil {
			return err
		}
		if replayed, err = t.Ops.ReplayMatching(ctx, pos[0], q); err != nil {
			if len(replayed) > 0 {
				fmt.Fprintf(stderr, "queued %d replay(s) before the failure\n", len(replayed))
			}
			return err
		}
	} else {
		if err := wantArgs(pos, "ID", "EXECUTION_ID"); err != nil {
			return fmt.Errorf("replay: %w (or ID --failed)", err)
		}
		t, err := c.target.open(ctx)
		if err != nil {
			return err
		}
		r, err := t.Ops.Replay(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		replayed = []ops.Replayed{r}
	}
	if *c.jsonOut {
		return printJSON(stdout, replayed)
	}
	tb := newTable(stdout, "ORIGINAL", "REPLAY EXECUTION")
	for _, r := range replayed {
		tb.row(r.OriginalID, r.ExecutionID)
	}
	if err := tb.flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d replay(s) queued; each is applied with the current configuration and recorded as a new execution\n", len(replayed))
	return nil
}

// runTimeline prints everything that happened to one contact, oldest first.
func runTimeline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("timeline", stderr)
	t, pos, err := c.open(ctx, args, "ID", "EMAIL")
	if err != nil {
		return err
	}
	tl, err := t.Ops.Timeline(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	if tl.Truncated {
		fmt.Fprintf(stderr, "only the newest %d executions are shown; older ones were left out\n", len(tl.Executions))
	}
	if *c.jsonOut {
		return printJSON(stdout, tl.Executions)
	}
	return executionTable(stdout, tl.Executions)
}
