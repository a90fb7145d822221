package ops_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ops"
)

func TestReplayOfAnExecutionWithoutAChange(t *testing.T) {
	s := newStack(t)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	e := s.hold(t, "nochange@example.com", at, false)
	svc := &ops.Service{Instances: s.instances, Executions: s.executions, Queue: s.producer}
	_, err := svc.Replay(context.Background(), "inst", e.ID)
	if !errors.Is(err, ops.ErrNotReplayable) || !apmc.IsInvalid(err) {
		t.Fatalf("Replay(%s) = %v, want ErrNotReplayable blaming the input", e.ID, err)
	}
	if got := s.drain(t); len(got) != 0 {
		t.Errorf("a refused replay queued %d changes", len(got))
	}
}

// A replay is a new change: attempts a change moved from the bulk queue had
// there (Change.PriorAttempts) do not carry over to it.
func TestReplayStartsItsAttemptsAgain(t *testing.T) {
	s := newStack(t)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	e := s.hold(t, "moved@example.com", at, true)
	e.Change.PriorAttempts = 3
	if err := s.executions.SaveExecution(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	svc := &ops.Service{Instances: s.instances, Executions: s.executions, Queue: s.producer}
	if _, err := svc.Replay(context.Background(), "inst", e.ID); err != nil {
		t.Fatalf("Replay(%s) error = %v", e.ID, err)
	}
	got := s.drain(t)
	if len(got) != 1 || got[0].PriorAttempts != 0 || got[0].Origin != apmc.OriginReplay {
		t.Fatalf("queued %+v, want one replay with no prior attempts", got)
	}
}
