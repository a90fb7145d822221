package main

import (
	"context"
	"fmt"
	"io"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// runDLQ dispatches `apmc dlq …`.
func runDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "dlq", map[string]subcommand{
		"list":    dlqList,
		"redrive": dlqRedrive,
	}, args, stdout, stderr)
}

func dlqList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, t, max, err := openWithMax(ctx, "dlq list", 100, "list at most this many changes", args, stderr)
	if err != nil {
		return err
	}
	list, err := t.Ops.DeadLetterList(ctx, max)
	if err != nil {
		return fmt.Errorf("list the dead-letter queue: %w", err)
	}
	if list == nil {
		list = []apmc.Change{}
	}
	if *c.jsonOut {
		return printJSON(stdout, list)
	}
	tb := newTable(stdout, "CHANGE", "INSTANCE", "SOURCE", "EVENT", "RECEIVED", "CONTACT", "FIRST EXECUTION")
	for _, c := range list {
		tb.row(shorten(c.ID, 40), c.InstanceID, string(c.Source), string(c.Event), when(c.ReceivedAt), c.ContactEmail(), apmc.FirstExecutionID(c))
	}
	if err := tb.flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d change(s) in the dead-letter queue\n", len(list))
	return nil
}

func dlqRedrive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, t, max, err := openWithMax(ctx, "dlq redrive", 10, "move at most this many changes", args, stderr)
	if err != nil {
		return err
	}
	n, err := t.Ops.DeadLetterRedrive(ctx, max)
	if err != nil {
		if n > 0 {
			fmt.Fprintf(stderr, "moved %d change(s) before the failure\n", n)
		}
		return fmt.Errorf("redrive the dead-letter queue: %w", err)
	}
	if *c.jsonOut {
		return printJSON(stdout, map[string]int{"redriven": n})
	}
	fmt.Fprintf(stdout, "%d change(s) moved back to the changes queue, as replays\n", n)
	return nil
}

// openWithMax parses a dead-letter command's flags (its -max among them)
// and opens the target.
func openWithMax(ctx context.Context, name string, def int, help string, args []string, stderr io.Writer) (*command, *target, int, error) {
	c := newCommand(name, stderr)
	max := c.fs.Int("max", def, help)
	if _, err := c.parse(args); err != nil {
		return nil, nil, 0, err
	}
	if *max < 1 {
		return nil, nil, 0, fmt.Errorf("-max must be at least 1, not %d", *max)
	}
	t, err := c.target.open(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	return c, t, *max, nil
}
