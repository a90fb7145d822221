package ingest

import (
	"math"
	"testing"
	"time"
)

// TestRateObserve drives the sliding-window counter through sequences of
// deliveries (offsets from a start) and checks the estimate after the last.
func TestRateObserve(t *testing.T) {
	const window = 10 * time.Second
	ms := func(xs ...int) []time.Duration {
		var out []time.Duration
		for _, x := range xs {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	many := func(n int, every time.Duration) []time.Duration {
		var out []time.Duration
		for i := range n {
			out = append(out, time.Duration(i)*every)
		}
		return out
	}
	tests := []struct {
		name string
		at   []time.Duration
		want float64
	}{
		{"first delivery", ms(0), 1},
		{"three in the first window", ms(0, 100, 200), 3},
		{"a window later, half of the previous one still counts", append(many(10, 100*time.Millisecond), 15*time.Second), 10*0.5 + 1},
		{"just into the next window, nearly all of the previous one counts", append(many(10, 100*time.Millisecond), 10*time.Second), 10 + 1},
		{"two windows of silence forget everything", append(many(50, 10*time.Millisecond), 20*time.Second), 1},
		{"a clock set back starts again", ms(5000, 5100, 1000), 1},
		{"a steady 10 a second settles at 100 a window", many(300, 100*time.Millisecond), 100},
	}
	start := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r rate
			var got float64
			for _, d := range tt.at {
				r, got = r.observe(start.Add(d), window)
			}
			if math.Abs(got-tt.want) > 1 {
				t.Errorf("estimate after %d deliveries = %.2f, want %.2f (±1)", len(tt.at), got, tt.want)
			}
		})
	}
}
