package apmc

import (
	"context"
	"testing"
	"time"
)

func TestBudgetWait(t *testing.T) {
	tests := []struct {
		name   string
		waits  []time.Duration
		wantMS any // nil: nothing recorded
	}{
		{"no wait", nil, nil},
		{"zero waits", []time.Duration{0, 0}, nil},
		{"waits add up", []time.Duration{120 * time.Millisecond, 35 * time.Millisecond}, int64(155)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, w := WithBudgetWait(context.Background())
			for _, d := range tt.waits {
				AddBudgetWait(ctx, d)
			}
			AddBudgetWait(context.Background(), time.Second) // no BudgetWait: ignored
			out := map[string]any{}
			w.record(out)
			if got := out["mailchimp_budget_wait_ms"]; got != tt.wantMS {
				t.Errorf("step output mailchimp_budget_wait_ms = %v, want %v", got, tt.wantMS)
			}
		})
	}
}
