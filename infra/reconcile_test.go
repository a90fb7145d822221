package infra

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReconcileSchedule holds the schedule to what the reconcile function
// expects: the interval parameter, the scheduled time in the event (from
// which each run's id, and so the change ids a retry repeats, derive), and
// a role that may invoke that function and nothing else.
func TestReconcileSchedule(t *testing.T) {
	s := mustLoadStack(t)
	p := node(s.raw, "Parameters", "ReconcileInterval")
	if got := render(node(p, "Default")); got != "rate(1 hour)" {
		t.Errorf("ReconcileInterval Default = %s, want rate(1 hour)", got)
	}
	props := s.properties("ReconcileSchedule")
	tests := []struct {
		path []string
		want string
	}{
		{[]string{"ScheduleExpression"}, "!Ref ReconcileInterval"},
		{[]string{"Target", "Arn"}, "!GetAtt ReconcileFunction.Arn"},
		{[]string{"Target", "RoleArn"}, "!GetAtt ReconcileScheduleRole.Arn"},
		{[]string{"Target", "Input"}, `{"scheduled_time": "<aws.scheduler.scheduled-time>"}`},
	}
	for _, tt := range tests {
		if got := render(node(props, tt.path...)); got != tt.want {
			t.Errorf("ReconcileSchedule %v = %s, want %s", tt.path, got, tt.want)
		}
	}

	role := s.properties("ReconcileScheduleRole")
	trust, _ := node(role, "AssumeRolePolicyDocument", "Statement").([]any)
	if len(trust) != 1 || render(node(trust[0], "Principal", "Service")) != "scheduler.amazonaws.com" {
		t.Errorf("ReconcileScheduleRole trust = %s, want the scheduler service only", render(trust))
	}
	var grants []string
	policies, _ := node(role, "Policies").([]any)
	for _, pol := range policies {
		statements, _ := node(pol, "PolicyDocument", "Statement").([]any)
		for _, st := range statements {
			grants = append(grants, render(node(st, "Effect"))+" "+render(node(st, "Action"))+" on "+render(node(st, "Resource")))
		}
	}
	want := []string{"Allow [lambda:InvokeFunction] on !GetAtt ReconcileFunction.Arn"}
	if diff := cmp.Diff(want, grants); diff != "" {
		t.Errorf("ReconcileScheduleRole grants mismatch (-want +got):\n%s", diff)
	}
}
