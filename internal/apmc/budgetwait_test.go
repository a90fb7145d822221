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

// TestMemberReadRecordsBudgetWait: a step that reads a member from Mailchimp
// says how long the read waited for the account's request budget, as the
// write steps do.
func TestMemberReadRecordsBudgetWait(t *testing.T) {
	tests := []struct {
		name     string
		instance func(*Instance)
		setup    func(f *fixture)
		change   Change
	}{
		{
			name: "a Mailchimp profile change reads the member",
			setup: func(f *fixture) {
				f.mc.members["ada@example.com"] = Member{Email: "ada@example.com", Status: "subscribed", MergeFields: Values{"FNAME": "Ada", "LNAME": "Lovelace"}}
			},
			change: Change{ID: "m1", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com"},
		},
		{
			name:     "a User not opted in is added only if the member exists",
			instance: func(in *Instance) { in.Consent = &Consent{NotOptedIn: NotOptedInSkip} },
			change:   apChange("c1", consentUser("false")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.instance)
			if tt.setup != nil {
				tt.setup(f)
			}
			f.mc.readWait = 180 * time.Millisecond
			exec := f.apply(t, tt.change)
			out := stepOutput(exec, "read_member")
			if out == nil {
				t.Fatalf("execution %s (%s %s) has no read_member step; steps %+v", exec.Status, exec.Reason, exec.Error, exec.Steps)
			}
			if got := out["mailchimp_budget_wait_ms"]; got != int64(180) {
				t.Errorf("read_member output mailchimp_budget_wait_ms = %v, want 180", got)
			}
		})
	}
}
