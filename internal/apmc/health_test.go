package apmc

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		exec    Execution
		retried bool
		want    Outcome
	}{
		{Execution{Status: StatusSucceeded}, false, OutcomeOK},
		{Execution{Status: StatusSuppressed}, false, OutcomeOK},
		{Execution{Status: StatusSkipped}, false, OutcomeOK},
		{Execution{Status: StatusHeld}, false, OutcomeNeutral},
		{Execution{Status: StatusFailed, Retryable: true}, true, OutcomeNeutral},
		{Execution{Status: StatusFailed}, false, OutcomeFailed},
		{Execution{Status: StatusFailed}, true, OutcomeDeadLettered},
		{Execution{Status: "blocked"}, false, OutcomeNeutral},
	}
	for _, tt := range tests {
		if got := OutcomeOf(tt.exec, tt.retried); got != tt.want {
			t.Errorf("OutcomeOf(%s retryable=%t, %t) = %d, want %d", tt.exec.Status, tt.exec.Retryable, tt.retried, got, tt.want)
		}
	}
}

func TestNextHealth(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	p := HealthPolicy{Quiet: 5 * time.Minute, Stamp: time.Minute}
	failing := Health{Version: 3, Failing: true, FailingSince: t0, LastFailureAt: t0}
	tests := []struct {
		name      string
		prev      Health
		state     State
		outcome   Outcome
		at        time.Time
		want      []HealthEvent
		write     bool
		check     func(Health) bool
		checkText string
	}{
		{name: "steady success writes nothing", prev: Health{}, state: StateEnabled, outcome: OutcomeOK, at: t0},
		{name: "an unknown state is enabled", prev: Health{Version: 2}, state: "", outcome: OutcomeOK, at: t0},
		{name: "a retry to come says nothing", prev: Health{}, state: StateEnabled, outcome: OutcomeNeutral, at: t0},
		{name: "first failure starts failing", prev: Health{Version: 1}, state: StateEnabled, outcome: OutcomeFailed, at: t0,
			want: []HealthEvent{EventFailing}, write: true,
			check: func(h Health) bool {
				return h.Failing && h.FailingSince.Equal(t0) && h.LastFailureAt.Equal(t0) && h.Version == 2
			}, checkText: "failing since t0, version 2"},
		{name: "another failure soon after writes nothing", prev: failing, state: StateEnabled, outcome: OutcomeFailed, at: t0.Add(30 * time.Second)},
		{name: "a failure after the stamp interval advances the stamp silently", prev: failing, state: StateEnabled, outcome: OutcomeFailed, at: t0.Add(2 * time.Minute),
			write: true, check: func(h Health) bool { return h.LastFailureAt.Equal(t0.Add(2*time.Minute)) && h.FailingSince.Equal(t0) }, checkText: "stamp advanced, since kept"},
		{name: "a success within the quiet period is no recovery", prev: failing, state: StateEnabled, outcome: OutcomeOK, at: t0.Add(4 * time.Minute)},
		{name: "a success after the quiet period recovers", prev: Health{Version: 3, Failing: true, FailingSince: t0, LastFailureAt: t0, DeadLettersAnnounced: true, DeadLettered: 2}, state: StateEnabled, outcome: OutcomeOK, at: t0.Add(5 * time.Minute),
			want: []HealthEvent{EventRecovered}, write: true,
			check: func(h Health) bool {
				return !h.Failing && h.FailingSince.IsZero() && !h.DeadLettersAnnounced && h.DeadLettered == 2
			},
			checkText: "healthy, the next dead letter announced again, the count kept"},
		{name: "a dead letter of a healthy instance is failing and dead letters", prev: Health{}, state: StateEnabled, outcome: OutcomeDeadLettered, at: t0,
			want: []HealthEvent{EventFailing, EventDeadLettered}, write: true, check: func(h Health) bool { return h.DeadLettersAnnounced }, checkText: "dead letters announced"},
		{name: "a further dead letter is not announced", prev: Health{Version: 4, Failing: true, LastFailureAt: t0, DeadLettersAnnounced: true}, state: StateEnabled, outcome: OutcomeDeadLettered, at: t0.Add(time.Second)},
		{name: "the first dead letter of a failing instance is announced", prev: failing, state: StateEnabled, outcome: OutcomeDeadLettered, at: t0.Add(time.Second),
			want: []HealthEvent{EventDeadLettered}, write: true},
		{name: "pause", prev: Health{}, state: StatePaused, outcome: OutcomeNeutral, at: t0,
			want: []HealthEvent{EventPaused}, write: true, check: func(h Health) bool { return h.State == StatePaused }, checkText: "state paused"},
		{name: "still paused", prev: Health{State: StatePaused}, state: StatePaused, outcome: OutcomeNeutral, at: t0},
		{name: "resume, and the change succeeds", prev: Health{State: StatePaused}, state: StateEnabled, outcome: OutcomeOK, at: t0,
			want: []HealthEvent{EventResumed}, write: true, check: func(h Health) bool { return h.State == StateEnabled }, checkText: "state enabled"},
		{name: "resume, and the change fails", prev: Health{State: StatePaused}, state: StateEnabled, outcome: OutcomeFailed, at: t0,
			want: []HealthEvent{EventResumed, EventFailing}, write: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, events, write := NextHealth(tt.prev, tt.state, tt.outcome, tt.at, p)
			if !slices.Equal(events, tt.want) || write != tt.write {
				t.Errorf("NextHealth(...) events = %v, write = %t; want %v, %t", events, write, tt.want, tt.write)
			}
			if !write && next != tt.prev {
				t.Errorf("NextHealth(...) without a write = %+v, want prev %+v", next, tt.prev)
			}
			if write && next.Version != tt.prev.Version+1 {
				t.Errorf("NextHealth(...) version = %d, want %d", next.Version, tt.prev.Version+1)
			}
			if tt.check != nil && !tt.check(next) {
				t.Errorf("NextHealth(...) = %+v, want %s", next, tt.checkText)
			}
		})
	}
}

func TestNextHealthNotifiesOncePerEpisode(t *testing.T) {
	// Many failures, then successes: one failing, one recovered.
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	p := DefaultHealthPolicy
	var h Health
	var all []HealthEvent
	for i := range 200 {
		o := OutcomeFailed
		if i%3 == 0 {
			o = OutcomeOK // successes among failures: no recovery yet
		}
		next, ev, _ := NextHealth(h, StateEnabled, o, t0.Add(time.Duration(i)*time.Second), p)
		h, all = next, append(all, ev...)
	}
	for i := range 50 {
		next, ev, _ := NextHealth(h, StateEnabled, OutcomeOK, t0.Add(10*time.Minute+time.Duration(i)*time.Second), p)
		h, all = next, append(all, ev...)
	}
	if want := []HealthEvent{EventFailing, EventRecovered}; !slices.Equal(all, want) {
		t.Errorf("events = %v, want %v", all, want)
	}
}

func TestHealthMessage(t *testing.T) {
	in := Instance{ID: "acme", Name: "Acme Training"}
	got := HealthMessage(in, Health{DeadLettered: 1}, []HealthEvent{EventFailing, EventDeadLettered})
	for _, want := range []string{"Acme Training (acme)", "is failing", "dead letters"} {
		if !strings.Contains(got, want) {
			t.Errorf("HealthMessage(...) = %q, want it to name %q", got, want)
		}
	}
}
