// Command apmc is the operator's tool: it creates and configures instances,
// registers and checks their webhooks, pauses and resumes them, browses and
// replays executions, drains the dead-letter queue and runs first syncs
// (backfill), on the local stack or a stack deployed on AWS. `apmc local`
// runs the whole system on this machine (see internal/local). Secrets are
// never printed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	wizard = terminalWizard(os.Stdin, os.Stderr)
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "apmc:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return fmt.Errorf("no command given")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "local":
		return runLocal(ctx, args[1:], stdout, stderr)
	case "instance":
		return runInstance(ctx, args[1:], stdout, stderr)
	case "webhooks":
		return runWebhooks(ctx, args[1:], stdout, stderr)
	case "pause":
		return runPause(ctx, args[1:], stdout, stderr)
	case "resume":
		return runResume(ctx, args[1:], stdout, stderr)
	case "executions":
		return runExecutions(ctx, args[1:], stdout, stderr)
	case "replay":
		return runReplay(ctx, args[1:], stdout, stderr)
	case "timeline":
		return runTimeline(ctx, args[1:], stdout, stderr)
	case "dlq":
		return runDLQ(ctx, args[1:], stdout, stderr)
	case "health":
		return runHealth(ctx, args[1:], stdout, stderr)
	case "reconcile":
		return runReconcile(ctx, args[1:], stdout, stderr)
	case "backfill":
		return runBackfill(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: apmc <command> [flags]

commands:
  local                                run the whole system on this machine (make run)
  instance create --name N [flags]     connect an accessplanit platform to a Mailchimp audience
  instance configure ID [flags]        change an instance's settings or mappings (--notification-url URL, '' clears)
  instance show ID | instance list     an instance at a glance; every instance
  webhooks register ID                 register the Mailchimp webhook; print the accessplanit URL
  webhooks check ID                    verify both webhooks reach the instance
  webhooks rotate ID [--grace 24h]     new webhook tokens; the old ones work for --grace; re-registers Mailchimp's, prints accessplanit's URL
  pause ID | resume ID                 hold changes; apply the held ones in order
  executions list ID [filters]         the instance's executions, newest first
  executions show ID EXECUTION_ID      one execution: steps, logs, related executions
  replay ID EXECUTION_ID               apply an execution's change again
  replay ID --failed [filters]         replay every failed execution matching the filters
  timeline ID EMAIL                    everything that happened to one contact
  dlq list | dlq redrive [--max N]     the dead-letter queue
  health [ID]                          each instance's health: failing, failed/held/dead-lettered counts, last success
  reconcile ID [--full]                enqueue what changed on either side without reaching the service
  backfill plan ID [--out FILE.csv]    first sync: read both sides, classify every contact, write nothing
  backfill show ID PLAN_ID             a stored plan (kept a day); --out FILE.csv lists every contact
  backfill apply ID --plan PLAN_ID     apply a plan in this terminal, deciding each contact afresh; progress bar
  backfill start ID --plan PLAN_ID     apply a plan as the deployment's job (survives this terminal)
  backfill status ID | cancel ID       the instance's first sync: progress and result; stop it cleanly

Every command but local works on the local stack (.apmc/local.json, or
--local-file) or, with --stack NAME, on AWS (--instances-table,
--executions-table, --contacts-table, --queue-url, --dlq-url, --kms-key-id,
--webhook-base-url or APMC_* variables). Add --json for JSON; "apmc <command> -h" lists flags.
`)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
