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
