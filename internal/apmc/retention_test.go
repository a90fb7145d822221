package apmc

import (
	"testing"
	"time"
)

func TestExecutionsExpireAfterTheInstanceRetention(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name      string
		retention int
		paused    bool
		want      time.Duration
	}{
		{"seven days", 7, false, 7 * day},
		{"default", 0, false, DefaultRetentionDays * day},
		{"negative means default", -3, false, DefaultRetentionDays * day},
		{"a year", 365, false, 365 * day},
		{"held while paused", 7, true, 7 * day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(in *Instance) {
				in.RetentionDays = tc.retention
				if tc.paused {
					in.State = StatePaused
				}
			})
			start := t0.Add(3 * time.Hour)
			f.engine.Now = func() time.Time { return start }
			exec := f.apply(t, apChange("c1", apUser("1", "Ada", "Lovelace", "ada@example.com", t0)))
			if !exec.StartedAt.Equal(start) {
				t.Fatalf("StartedAt = %v, want %v", exec.StartedAt, start)
			}
			if got := exec.ExpiresAt.Sub(exec.StartedAt); got != tc.want {
				t.Errorf("ExpiresAt - StartedAt = %v, want %v", got, tc.want)
			}
			if len(f.ex.list) != 1 || !f.ex.list[0].ExpiresAt.Equal(exec.ExpiresAt) {
				t.Errorf("recorded executions = %d, want 1 expiring at %v", len(f.ex.list), exec.ExpiresAt)
			}
		})
	}
	if DefaultRetentionDays != 30 {
		t.Errorf("DefaultRetentionDays = %d, want 30", DefaultRetentionDays)
	}
}
