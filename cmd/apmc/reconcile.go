package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apmc-sync/apmc/internal/reconcile"
)

// runReconcile runs one reconciliation of an instance now: what changed on
// either side since the last run (or, with --full, everything) that the
// contact states do not hold is enqueued as a change. Contacts the service
// has never synced are enqueued only when they changed since the last
// successful run; the others are counted and left to first sync.
func runReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("reconcile", stderr)
	full := c.fs.Bool("full", false, "compare every User and member, not only those changed since the last run")
	t, pos, err := c.open(ctx, args, "ID")
	if err != nil {
		return err
	}
	if t.Reconcile == nil {
		return errors.New("reconcile: the deployment's contacts table is unknown; give -contacts-table (stack output ContactsTableName)")
	}
	run, err := t.Reconcile.Service.Reconcile(ctx, pos[0], reconcile.Options{Full: *full})
	if err != nil {
		if run.Enqueued > 0 {
			fmt.Fprintf(stderr, "enqueued %d change(s) before the failure\n", run.Enqueued)
		}
		return err
	}
	if *c.jsonOut {
		return printJSON(stdout, struct {
			Checked  int `json:"checked"`
			Enqueued int `json:"enqueued"`
		}{run.Checked, run.Enqueued})
	}
	scope := "changed since " + when(run.Since)
	if run.Full {
		scope = "all"
	}
	fmt.Fprintf(stdout, "reconciled instance %s (%s): %d checked, %d enqueued\n", pos[0], scope, run.Checked, run.Enqueued)
	if run.SkippedUnknown > 0 {
		fmt.Fprintf(stdout, "%d contact(s) never synced left alone: first sync them with a plan (apmc backfill plan %s)\n", run.SkippedUnknown, pos[0])
	}
	return nil
}
