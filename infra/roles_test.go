package infra

import (
	"sort"
	"strings"
	"testing"
)

// lambdaTrust is the one trust statement of every function role: the
// Lambda service, acting for this account only.
const lambdaTrust = "[{Action: sts:AssumeRole, Condition: {StringEquals: {aws:SourceAccount: !Ref AWS::AccountId}}, " +
	"Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Sid: LambdaOfThisAccount}]"

func TestFunctionRoles(t *testing.T) {
	s := mustLoadStack(t)
	for _, id := range functionIDs {
		role, ok := functionRoles[id]
		if !ok {
			t.Errorf("function %s has no role in functionRoles", id)
			continue
		}
		// A role given to the function is the whole of its permissions: SAM
		// neither builds a role nor attaches managed policies to it.
		if got, want := render(s.functionProperty(id, "Role")), "!GetAtt "+role+".Arn"; got != want {
			t.Errorf("%s Role = %s, want %s", id, got, want)
		}
		for _, key := range []string{"Policies", "PermissionsBoundary"} {
			if got := s.functionProperty(id, key); got != nil {
				t.Errorf("%s %s = %s, want none (the role %s holds every permission)", id, key, render(got), role)
			}
		}
		if got := s.resourceType(role); got != "AWS::IAM::Role" {
			t.Errorf("type of %s = %q, want AWS::IAM::Role", role, got)
			continue
		}
		if _, err := s.typed.GetIAMRoleWithName(role); err != nil {
			t.Errorf("%s: %v", role, err)
		}
		props := s.properties(role)
		if got := render(node(props, "AssumeRolePolicyDocument", "Statement")); got != lambdaTrust {
			t.Errorf("%s trust policy = %s, want %s", role, got, lambdaTrust)
		}
		for _, key := range []string{"ManagedPolicyArns", "PermissionsBoundary", "RoleName"} {
			// RoleName would also need CAPABILITY_NAMED_IAM at deploy time.
			if got := node(props, key); got != nil {
				t.Errorf("%s %s = %s, want none", role, key, render(got))
			}
		}
	}
}

// TestOnlyFunctionRoles keeps IAM in the template to the four function
// roles: no other role, and no policy resource that could attach more to
// them from outside.
func TestOnlyFunctionRoles(t *testing.T) {
	s := mustLoadStack(t)
	want := make([]string, 0, len(functionRoles)+1)
	for _, role := range functionRoles {
		want = append(want, role)
	}
	// The schedule's role, which may only invoke the reconcile function
	// (TestReconcileSchedule).
	want = append(want, "ReconcileScheduleRole")
	sort.Strings(want)
	var roles []string
	for id := range node(s.raw, "Resources").(map[string]any) {
		typ := s.resourceType(id)
		switch {
		case typ == "AWS::IAM::Role":
			roles = append(roles, id)
		case strings.HasPrefix(typ, "AWS::IAM::"):
			t.Errorf("resource %s is %s, want no IAM resource besides the function roles", id, typ)
		}
	}
	sort.Strings(roles)
	if strings.Join(roles, ",") != strings.Join(want, ",") {
		t.Errorf("IAM roles = %v, want %v (one per function)", roles, want)
	}
}

// TestNoManagedPolicies looks through the whole template for AWS managed
// (or any other) policy ARNs and ManagedPolicyArns.
func TestNoManagedPolicies(t *testing.T) {
	s := mustLoadStack(t)
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "ManagedPolicyArns" {
					t.Errorf("%s/%s = %s, want no managed policies", path, k, render(e))
				}
				walk(e, path+"/"+k)
			}
		case []any:
			for _, e := range x {
				walk(e, path)
			}
		case string:
			if strings.Contains(x, ":policy/") {
				t.Errorf("%s = %q names a managed policy, want inline policies only", path, x)
			}
		}
	}
	walk(s.raw, "")
}

// TestLogsScopedToOwnLogGroup holds each function's log rights to its own
// log group, and that group to the name Lambda writes to: the function's
// explicit name, so the role can name the group without naming the
// function.
func TestLogsScopedToOwnLogGroup(t *testing.T) {
	s := mustLoadStack(t)
	for _, id := range functionIDs {
		group := functionLogGroups[id]
		var logs []string
		for _, g := range s.grants(t, id) {
			if strings.HasPrefix(g, "logs:") {
				logs = append(logs, g)
			}
		}
		want := []string{"logs:CreateLogStream on " + group, "logs:PutLogEvents on " + group}
		if strings.Join(logs, "; ") != strings.Join(want, "; ") {
			t.Errorf("%s log rights = %q, want %q", id, logs, want)
		}
		name := render(s.functionProperty(id, "FunctionName"))
		if !strings.HasPrefix(name, "!Sub ${AWS::StackName}-") {
			t.Errorf("%s FunctionName = %s, want !Sub ${AWS::StackName}-<name>", id, name)
			continue
		}
		if got, want := render(node(s.properties(group), "LogGroupName")), "!Sub /aws/lambda/"+strings.TrimPrefix(name, "!Sub "); got != want {
			t.Errorf("%s LogGroupName = %s, want %s (the group Lambda writes %s's logs to)", group, got, want, id)
		}
	}
}
