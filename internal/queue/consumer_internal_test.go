package queue

import (
	"testing"
	"time"
)

func TestVisibilitySeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int32
	}{
		{0, 0}, {-time.Second, 0}, {time.Nanosecond, 1}, {200 * time.Millisecond, 1},
		{time.Second, 1}, {1500 * time.Millisecond, 2}, {15 * time.Second, 15},
	}
	for _, tt := range tests {
		if got := visibilitySeconds(tt.d); got != tt.want {
			t.Errorf("visibilitySeconds(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestBackoffGrows(t *testing.T) {
	c := &Consumer{RetryBase: 15 * time.Second}
	want := []time.Duration{15 * time.Second, 30 * time.Second, 60 * time.Second, 120 * time.Second}
	for i, w := range want {
		if got := c.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := c.backoff(40); got != 12*time.Hour {
		t.Errorf("backoff(40) = %v, want the 12 h cap", got)
	}
}
