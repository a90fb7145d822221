package ops

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Health is an instance's health at a glance: what its summary counts over
// the last 24 hours, the changes still held, its last successful sync and what the sync function
// keeps of its health. It never holds a secret: of the notification URL,
// only whether one is set.
type Health struct {
	InstanceID string     `json:"instance_id"`
	Name       string     `json:"name"`
	State      apmc.State `json:"state"`
	// Failing is set when a change failed with no retry left, and cleared
	// when a change succeeds after a quiet period.
	Failing      bool       `json:"failing"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// Failed and Blocked count the executions of the last 24 hours with
	// those statuses; Held counts the changes still held, of any age (a
	// resume marks those it releases). Each stops at CountCap: a count
	// equal to it means at least that many.
	Failed   int `json:"failed"`
	Held     int `json:"held"`
	Blocked  int `json:"blocked"`
	CountCap int `json:"count_cap"`
	// DeadLettered counts every change of the instance that moved to the
	// dead-letter queue since it was created (never reset; a redrive does
	// not lower it): not the queue's depth, which is shared by every
	// instance.
	DeadLettered int `json:"dead_lettered"`
	// LastDeadLetterAt is when a change of the instance last moved to the
	// dead-letter queue.
	LastDeadLetterAt *time.Time `json:"last_dead_letter_at,omitempty"`
	// LastSuccessAt is when the newest succeeded execution started: to
	// the second, and up to a minute early (the sync function records a
	// success once a minute) when more failures than CountCap followed it.
	LastSuccessAt      *time.Time `json:"last_success_at,omitempty"`
	NotificationURLSet bool       `json:"notification_url_set"`
	// LastNotification is the last change of health announced, and how
	// the notification URL answered.
	LastNotification *apmc.Notification `json:"last_notification,omitempty"`
}

// Health returns the instance's health: its summary and one read of its
// newest succeeded execution.
func (s *Service) Health(ctx context.Context, id string) (Health, error) {
	sum, err := s.Summary(ctx, id)
	if err != nil {
		return Health{}, err
	}
	return s.HealthOf(ctx, sum)
}

// Healths returns every instance's health, ordered by id.
func (s *Service) Healths(ctx context.Context) ([]Health, error) {
	sums, err := s.Summaries(ctx)
	if err != nil {
		return nil, err
	}
	return s.HealthsOf(ctx, sums)
}

// HealthsOf returns the health of each instance sums summarise, in order,
// a few instances at a time (Bounds.Parallel).
func (s *Service) HealthsOf(ctx context.Context, sums []Summary) ([]Health, error) {
	return eachInstance(ctx, s.Bounds.parallel(), sums, s.HealthOf)
}

// HealthOf returns the health of the instance sum summarises: the pages
// that show the summary already read it once. It costs a few requests
// more: the capped count of the changes still held and, when the summary's
// executions hold no success, the recorded last success (and for an
// instance that recorded none, the newest executions of any age).
func (s *Service) HealthOf(ctx context.Context, sum Summary) (Health, error) {
	in := sum.Instance
	h := Health{
		InstanceID: in.ID, Name: in.Name, State: in.State,
		Failing:      in.Health.Failing,
		Failed:       sum.Last24h[apmc.StatusFailed],
		Blocked:      sum.Last24h[apmc.StatusBlocked],
		CountCap:     s.Bounds.maxCount(),
		DeadLettered: in.Health.DeadLettered,
		// The configuration says whether a URL is set; its value is
		// sealed and never read here.
		NotificationURLSet: in.NotificationURLSet,
		LastNotification:   in.Health.LastNotification,
	}
	if in.Health.Failing && !in.Health.FailingSince.IsZero() {
		t := in.Health.FailingSince
		h.FailingSince = &t
	}
	if !in.Health.LastDeadLetterAt.IsZero() {
		t := in.Health.LastDeadLetterAt
		h.LastDeadLetterAt = &t
	}
	held, err := s.Executions.CountExecutions(ctx, in.ID, apmc.ExecutionQuery{Status: apmc.StatusHeld, Limit: h.CountCap})
	if err != nil {
		return Health{}, fmt.Errorf("count the held changes of instance %s: %w", in.ID, err)
	}
	h.Held = held
	if tally, ok := s.Executions.(StatusTally); ok && sum.tallied {
		// The summary read the newest executions of the last 24 hours: the
		// newest success among them is the last one. With none there, it
		// is the one the sync function recorded (more failures than those
		// read may have followed it), else, for an instance that recorded
		// none, the newest among the newest CountCap executions of any age.
		h.LastSuccessAt = sum.lastSuccess
		if h.LastSuccessAt == nil {
			at, err := s.recordedSuccess(ctx, in.ID)
			if err != nil {
				return Health{}, err
			}
			h.LastSuccessAt = at
		}
		if h.LastSuccessAt == nil {
			t, err := tally.TallyStatuses(ctx, in.ID, time.Time{}, h.CountCap)
			if err != nil {
				return Health{}, fmt.Errorf("read the last successful execution of instance %s: %w", in.ID, err)
			}
			if at, ok := t.Newest[apmc.StatusSucceeded]; ok {
				h.LastSuccessAt = &at
			}
		}
		return h, nil
	}
	ok, _, err := s.Executions.Executions(ctx, in.ID, apmc.ExecutionQuery{Status: apmc.StatusSucceeded, Limit: 1})
	if err != nil {
		return Health{}, fmt.Errorf("read the last successful execution of instance %s: %w", in.ID, err)
	}
	if len(ok) > 0 {
		t := ok[0].StartedAt
		h.LastSuccessAt = &t
	}
	return h, nil
}

// SuccessRecords is an instance store that keeps each instance's last
// successful sync, as the sync function records it; *dynamo.InstanceStore
// is one.
type SuccessRecords interface {
	// LastSuccess returns when the instance's last successful sync
	// started, to the second; zero when none is recorded.
	LastSuccess(ctx context.Context, id string) (time.Time, error)
}

// recordedSuccess returns the instance's recorded last success; nil when
// none is recorded or the store keeps none.
func (s *Service) recordedSuccess(ctx context.Context, id string) (*time.Time, error) {
	records, ok := s.Instances.(SuccessRecords)
	if !ok {
		return nil, nil
	}
	at, err := records.LastSuccess(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read the last success of instance %s: %w", id, err)
	}
	if at.IsZero() {
		return nil, nil
	}
	return &at, nil
}

// Count shows the summary's count of a status over the last 24 hours:
// "N+" when it is a lower bound (it reached CountCap, or it was counted
// among the newest executions only).
func (s Summary) Count(st apmc.Status) string {
	if slices.Contains(s.AtLeast, st) {
		return fmt.Sprintf("%d+", s.Last24h[st])
	}
	return CountText(s.Last24h[st], s.CountCap)
}

// CountText shows a count that stops at limit: "1000+" when it reached it.
func CountText(n, limit int) string {
	if limit > 0 && n >= limit {
		return strconv.Itoa(limit) + "+"
	}
	return strconv.Itoa(n)
}
