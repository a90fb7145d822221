package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apmc-sync/apmc/internal/ops"
)

// runHealth prints one instance's health, or every instance's.
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("health", stderr)
	pos, err := parseArgs(c.fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("health: want at most one argument, ID; got %d", len(pos))
	}
	t, err := c.target.open(ctx)
	if err != nil {
		return err
	}
	var list []ops.Health
	if len(pos) == 1 {
		h, err := t.Ops.Health(ctx, pos[0])
		if err != nil {
			return err
		}
		if *c.jsonOut {
			return printJSON(stdout, h)
		}
		list = []ops.Health{h}
	} else {
		if list, err = t.Ops.Healths(ctx); err != nil {
			return err
		}
		if *c.jsonOut {
			if list == nil {
				list = []ops.Health{}
			}
			return printJSON(stdout, list)
		}
	}
	tb := newTable(stdout, "ID", "STATE", "HEALTH", "FAILED 24H", "STILL HELD", "DEAD-LETTERED (ALL TIME)", "BLOCKED 24H", "LAST SUCCESS", "NOTIFICATION URL", "LAST NOTIFICATION")
	for _, h := range list {
		tb.row(h.InstanceID, string(h.State), healthWord(h), ops.CountText(h.Failed, h.CountCap), ops.CountText(h.Held, h.CountCap), deadLettered(h), ops.CountText(h.Blocked, h.CountCap),
			lastSuccess(h), map[bool]string{true: "set", false: "none"}[h.NotificationURLSet], lastNotification(h))
	}
	return tb.flush()
}

// healthWord says whether the instance is failing, and since when.
func healthWord(h ops.Health) string {
	if !h.Failing {
		return "healthy"
	}
	if h.FailingSince != nil {
		return "failing since " + when(*h.FailingSince)
	}
	return "failing"
}

// deadLettered shows the instance's dead-letter count and when the last
// one was.
func deadLettered(h ops.Health) string {
	if h.LastDeadLetterAt == nil {
		return fmt.Sprint(h.DeadLettered)
	}
	return fmt.Sprintf("%d (last %s)", h.DeadLettered, when(*h.LastDeadLetterAt))
}

func lastSuccess(h ops.Health) string {
	if h.LastSuccessAt == nil {
		return "never"
	}
	return when(*h.LastSuccessAt)
}

func lastNotification(h ops.Health) string {
	n := h.LastNotification
	if n == nil {
		return "-"
	}
	var events []string
	for _, e := range n.Events {
		events = append(events, string(e))
	}
	return fmt.Sprintf("%s %s: %s", when(n.At), strings.Join(events, "+"), n.Outcome)
}
