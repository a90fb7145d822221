package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apmc-sync/apmc/internal/sync"
)

// runDLQ dispatches `apmc dlq …`.
func runDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("dlq: want list or redrive")
	}
	switch args[0] {
	case "list":
		return dlqList(ctx, args[1:], stdout, stderr)
	case "redrive":
		return dlqRedrive(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("dlq: unknown command %q; want list or redrive", args[0])
}

func dlqList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq list", stderr)
	tf := addTargetFlags(fs)
	max := fs.Int("max", 100, "list at most this many changes")
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos); err != nil {
		return err
	}
	if *max < 1 {
		return fmt.Errorf("-max must be at least 1, not %d", *max)
	}
	t, err := tf.open(ctx)
	if err != nil {
		return err
	}
	list, err := t.Ops.DeadLetterList(ctx, *max)
	if err != nil {
		return fmt.Errorf("list the dead-letter queue: %w", err)
	}
	if list == nil {
		list = []sync.Change{}
	}
	if *jsonOut {
		return printJSON(stdout, list)
	}
	tb := newTable(stdout, "CHANGE", "INSTANCE", "SOURCE", "EVENT", "RECEIVED", "CONTACT", "FIRST EXECUTION")
	for _, c := range list {
		tb.row(shorten(c.ID, 40), c.InstanceID, string(c.Source), string(c.Event), when(c.ReceivedAt), c.ContactEmail(), sync.FirstExecutionID(c))
	}
	if err := tb.flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d change(s) in the dead-letter queue\n", len(list))
	return nil
}

func dlqRedrive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq redrive", stderr)
	tf := addTargetFlags(fs)
	max := fs.Int("max", 10, "move at most this many changes")
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos); err != nil {
		return err
	}
	if *max < 1 {
		return fmt.Errorf("-max must be at least 1, not %d", *max)
	}
	t, err := tf.open(ctx)
	if err != nil {
		return err
	}
	n, err := t.Ops.DeadLetterRedrive(ctx, *max)
	if err != nil {
		if n > 0 {
			fmt.Fprintf(stderr, "moved %d change(s) before the failure\n", n)
		}
		return fmt.Errorf("redrive the dead-letter queue: %w", err)
	}
	if *jsonOut {
		return printJSON(stdout, map[string]int{"redriven": n})
	}
	fmt.Fprintf(stdout, "%d change(s) moved back to the changes queue, as replays\n", n)
	return nil
}
