package main

import (
	"context"
	"fmt"
	"io"
)

// runPause pauses an instance: its changes are held until resume.
func runPause(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("pause", stderr)
	t, pos, err := c.open(ctx, args, "ID")
	if err != nil {
		return err
	}
	in, err := t.Ops.Pause(ctx, pos[0])
	if err != nil {
		return err
	}
	if *c.jsonOut {
		return printJSON(stdout, in)
	}
	what := "held, and applied in order on resume"
	if in.DiscardWhilePaused {
		what = "discarded (the instance is set to discard while paused)"
	}
	fmt.Fprintf(stdout, "instance %s paused (config version %d); incoming changes are %s\n", in.ID, in.ConfigVersion, what)
	return nil
}

// runResume enables an instance and releases its held changes.
func runResume(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("resume", stderr)
	t, pos, err := c.open(ctx, args, "ID")
	if err != nil {
		return err
	}
	res, err := t.Ops.Resume(ctx, pos[0])
	if err != nil {
		if res.Released > 0 {
			fmt.Fprintf(stderr, "released %d held change(s) before the failure\n", res.Released)
		}
		return err
	}
	if *c.jsonOut {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "instance %s resumed (config version %d); %d held change(s) released, oldest first\n", res.Instance.ID, res.Instance.ConfigVersion, res.Released)
	return nil
}
