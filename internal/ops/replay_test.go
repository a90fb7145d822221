package ops_test

import (
	"context"
	"errors"
	"strings"
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
	got := s.replayed(t, e)
	if len(got) != 1 || got[0].PriorAttempts != 0 || got[0].Origin != apmc.OriginReplay {
		t.Fatalf("queued %+v, want one replay with no prior attempts", got)
	}
}

// Replaying a held change applies it though the instance is paused: the
// held execution is then released by the replay, so health no longer
// counts it as held and a resume does not apply it a second time.
func TestReplayOfAHeldChangeReleasesIt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		replay func(ctx context.Context, svc *ops.Service, e apmc.Execution) error
	}{
		{name: "one execution", replay: func(ctx context.Context, svc *ops.Service, e apmc.Execution) error {
			_, err := svc.Replay(ctx, "inst", e.ID)
			return err
		}},
		{name: "every held execution", replay: func(ctx context.Context, svc *ops.Service, _ apmc.Execution) error {
			_, err := svc.ReplayMatching(ctx, "inst", apmc.ExecutionQuery{Status: apmc.StatusHeld})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStack(t)
			held := s.hold(t, "held@example.com", time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond), true)
			svc := &ops.Service{Instances: s.instances, Executions: s.executions, Queue: s.producer}
			if err := tc.replay(ctx, svc, held); err != nil {
				t.Fatalf("replay of held execution %s error = %v", held.ID, err)
			}
			replayed := s.drain(t)
			if len(replayed) != 1 || replayed[0].OriginalExecutionID != held.ID {
				t.Fatalf("replay queued %+v, want the held change once", replayed)
			}
			e, err := s.executions.Execution(ctx, "inst", held.ID)
			if err != nil || e.Status != apmc.StatusSkipped || !strings.Contains(e.Reason, apmc.FirstExecutionID(replayed[0])) {
				t.Errorf("held execution after its replay = %s %q (%v), want skipped, naming the replay's execution", e.Status, e.Reason, err)
			}
			h, err := svc.Health(ctx, "inst")
			if err != nil || h.Held != 0 {
				t.Errorf("Health() after the replay = %d held (%v), want 0", h.Held, err)
			}
			res, err := svc.Resume(ctx, "inst")
			if err != nil || res.Released != 0 {
				t.Errorf("Resume() after the replay = released %d, %v; want 0", res.Released, err)
			}
			if again := s.drain(t); len(again) != 0 {
				t.Errorf("Resume() after the replay queued %+v, want nothing: the change was applied by its replay", again)
			}
		})
	}
}

// A replay of a failed change keeps when the change was first received, as
// its attempts may have written already, their answers lost (the engine
// tells those writes from others' by it), and so does a replay of that
// replay; a change that ended otherwise recorded what it wrote, so its
// replay does not.
func TestReplayKeepsTheFirstReceipt(t *testing.T) {
	original := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Millisecond)
	for _, tc := range []struct {
		name    string
		status  apmc.Status
		attempt int // of the execution replayed; 1 when 0
		// first is the FirstReceivedAt of the change replayed (itself a
		// replay when set).
		first     time.Time
		wantFirst bool
	}{
		{name: "a failed change", status: apmc.StatusFailed, wantFirst: true},
		{name: "a failed replay of a failed change", status: apmc.StatusFailed, first: original, wantFirst: true},
		{name: "a held change", status: apmc.StatusHeld},
		{name: "a held retry (its first attempt may have written)", status: apmc.StatusHeld, attempt: 2, wantFirst: true},
		{name: "a succeeded change", status: apmc.StatusSucceeded},
		{name: "a succeeded replay of a failed change", status: apmc.StatusSucceeded, first: original},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
			e := s.hold(t, "first@example.com", at, true)
			e.Status = tc.status
			e.Attempt = max(tc.attempt, 1)
			e.Change.FirstReceivedAt = tc.first
			got := s.replayed(t, e)
			if len(got) != 1 {
				t.Fatalf("queued %d changes, want 1", len(got))
			}
			want := time.Time{}
			switch {
			case tc.wantFirst && !tc.first.IsZero():
				want = tc.first
			case tc.wantFirst:
				want = e.Change.ReceivedAt
			}
			if !got[0].FirstReceivedAt.Equal(want) || !got[0].ReceivedAt.After(e.Change.ReceivedAt) {
				t.Errorf("replay received %v, first received %v; want received now, first received %v", got[0].ReceivedAt, got[0].FirstReceivedAt, want)
			}
		})
	}
}

// replayed saves the execution e as it is, replays it and returns what the
// replay queued.
func (s *stack) replayed(t *testing.T, e apmc.Execution) []apmc.Change {
	t.Helper()
	if err := s.executions.SaveExecution(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	svc := &ops.Service{Instances: s.instances, Executions: s.executions, Queue: s.producer}
	if _, err := svc.Replay(context.Background(), "inst", e.ID); err != nil {
		t.Fatalf("Replay(%s) error = %v", e.ID, err)
	}
	return s.drain(t)
}
