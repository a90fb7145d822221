package infra

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/dynamo"
)

// Least privilege, as far as the template decides it.
//
// Each function runs with a role of this template (an AWS::IAM::Role with
// inline policies only), so everything the function may do is written here:
// a function with a Role gets no AWS managed policy from the SAM transform
// (no AWSLambdaBasicExecutionRole, logs on every log group; no
// AWSLambdaSQSQueueExecutionRole, SQS polling on every queue).

// functionRoles names each function's role.
var functionRoles = map[string]string{
	"IngestAccessplanitFunction": "IngestAccessplanitRole",
	"IngestMailchimpFunction":    "IngestMailchimpRole",
	"SyncFunction":               "SyncRole",
	"ExecutionsFunction":         "ExecutionsRole",
	"ReconcileFunction":          "ReconcileRole",
	"BackfillFunction":           "BackfillRole",
}

// functionLogGroups names each function's log group.
var functionLogGroups = map[string]string{
	"IngestAccessplanitFunction": "IngestAccessplanitLogGroup",
	"IngestMailchimpFunction":    "IngestMailchimpLogGroup",
	"SyncFunction":               "SyncLogGroup",
	"ExecutionsFunction":         "ExecutionsLogGroup",
	"ReconcileFunction":          "ReconcileLogGroup",
	"BackfillFunction":           "BackfillLogGroup",
}

// grants returns a function's permissions, read from its role's inline
// policies, as "action on resource" lines (followed by "if" and the
// statement's condition when it has one), sorted, failing the test on any
// statement that is not a plain Allow of listed actions on this stack's own
// resources.
func (s *stack) grants(t *testing.T, id string) []string {
	t.Helper()
	role, ok := functionRoles[id]
	if !ok {
		t.Errorf("function %s has no role in functionRoles", id)
		return nil
	}
	policies, ok := node(s.properties(role), "Policies").([]any)
	if !ok {
		t.Errorf("%s Policies = %s, want a list of inline policies", role, render(node(s.properties(role), "Policies")))
		return nil
	}
	var lines []string
	for i, p := range policies {
		if name := render(node(p, "PolicyName")); name == "<nil>" || name == "" {
			t.Errorf("%s Policies[%d].PolicyName = %s, want a name", role, i, name)
		}
		statements, ok := node(p, "PolicyDocument", "Statement").([]any)
		if !ok {
			t.Errorf("%s Policies[%d] = %s, want a PolicyDocument with a Statement list", role, i, render(p))
			continue
		}
		for j, st := range statements {
			where := fmt.Sprintf("%s Policies[%d].Statement[%d]", role, i, j)
			if effect := render(node(st, "Effect")); effect != "Allow" {
				t.Errorf("%s Effect = %s, want Allow", where, effect)
			}
			m, _ := st.(map[string]any)
			for _, k := range []string{"NotAction", "NotResource", "Principal", "NotPrincipal"} {
				if _, ok := m[k]; ok {
					t.Errorf("%s has %s, want only Action and Resource", where, k)
				}
			}
			// A condition narrows the grant: it is part of the line.
			var cond string
			if c, ok := m["Condition"]; ok {
				cond = " if " + render(c)
			}
			for _, action := range list(node(st, "Action")) {
				for _, r := range list(node(st, "Resource")) {
					resource, err := s.ownResource(r)
					if err != nil {
						t.Errorf("%s: %v", where, err)
						continue
					}
					lines = append(lines, render(action)+" on "+resource+cond)
				}
			}
		}
	}
	sort.Strings(lines)
	return lines
}

// list returns v as a list: a single value becomes a list of one.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// ownResource names the stack resource a policy Resource points at: the
// ARN of a resource of this template (!GetAtt X.Arn), or its indexes
// (!Sub "${X.Arn}/index/*"). Anything else — "*", a literal ARN, another
// stack's resource — is an error.
func (s *stack) ownResource(r any) (string, error) {
	switch v := render(r); {
	case strings.HasPrefix(v, "!GetAtt ") && strings.HasSuffix(v, ".Arn"):
		id := strings.TrimSuffix(strings.TrimPrefix(v, "!GetAtt "), ".Arn")
		if s.resourceType(id) == "" {
			return "", fmt.Errorf("resource %s is not in this template", v)
		}
		return id, nil
	case strings.HasPrefix(v, "!Sub ${") && strings.HasSuffix(v, ".Arn}/index/*"):
		id := strings.TrimSuffix(strings.TrimPrefix(v, "!Sub ${"), ".Arn}/index/*")
		if s.resourceType(id) != "AWS::DynamoDB::Table" {
			return "", fmt.Errorf("resource %s is not the indexes of a table in this template", v)
		}
		return id + "/index/*", nil
	default:
		return "", fmt.Errorf("resource %s is not one of this stack's own resources", v)
	}
}

func TestFunctionPermissions(t *testing.T) {
	s := mustLoadStack(t)
	tests := []struct {
		id   string
		want []string
	}{
		{"IngestAccessplanitFunction", []string{
			// The burst windows every ingest function shares: their own
			// partitions and times only (dynamo.BurstWindowAttributes).
			"dynamodb:GetItem on ContactsTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, email, since_ms, until_ms]}, ForAllValues:StringLike: {dynamodb:LeadingKeys: [lane#*]}, StringEqualsIfExists: {dynamodb:ReturnValues: [NONE, UPDATED_NEW], dynamodb:Select: [SPECIFIC_ATTRIBUTES]}}",
			// Its own token digests only (a projection): not the Mailchimp
			// signing secret, and no KMS right at all.
			"dynamodb:GetItem on InstancesTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, expires_at, accessplanit_token_digests]}, " +
				"StringEqualsIfExists: {dynamodb:Select: [SPECIFIC_ATTRIBUTES]}}",
			"dynamodb:UpdateItem on ContactsTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, email, since_ms, until_ms]}, ForAllValues:StringLike: {dynamodb:LeadingKeys: [lane#*]}, StringEqualsIfExists: {dynamodb:ReturnValues: [NONE, UPDATED_NEW], dynamodb:Select: [SPECIFIC_ATTRIBUTES]}}",
			// Its own log group only (Lambda creates the streams).
			"logs:CreateLogStream on IngestAccessplanitLogGroup",
			"logs:PutLogEvents on IngestAccessplanitLogGroup",
			// The bulk lane: a bursting instance's changes.
			"sqs:SendMessage on BulkQueue",
			"sqs:SendMessage on ChangesQueue",
		}},
		{"IngestMailchimpFunction", []string{
			// The burst windows every ingest function shares: their own
			// partitions and times only (dynamo.BurstWindowAttributes).
			"dynamodb:GetItem on ContactsTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, email, since_ms, until_ms]}, ForAllValues:StringLike: {dynamodb:LeadingKeys: [lane#*]}, StringEqualsIfExists: {dynamodb:ReturnValues: [NONE, UPDATED_NEW], dynamodb:Select: [SPECIFIC_ATTRIBUTES]}}",
			// Its own token digests and the signing secret (a projection).
			"dynamodb:GetItem on InstancesTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, expires_at, mailchimp_token_digests, webhook_signing_secret, require_signature]}, " +
				"StringEqualsIfExists: {dynamodb:Select: [SPECIFIC_ATTRIBUTES]}}",
			"dynamodb:UpdateItem on ContactsTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, email, since_ms, until_ms]}, ForAllValues:StringLike: {dynamodb:LeadingKeys: [lane#*]}, StringEqualsIfExists: {dynamodb:ReturnValues: [NONE, UPDATED_NEW], dynamodb:Select: [SPECIFIC_ATTRIBUTES]}}",
			"logs:CreateLogStream on IngestMailchimpLogGroup",
			"logs:PutLogEvents on IngestMailchimpLogGroup",
			// The bulk lane: a bursting instance's changes.
			"sqs:SendMessage on BulkQueue",
			"sqs:SendMessage on ChangesQueue",
		}},
		{"SyncFunction", []string{
			// A batch's contact states read, and its executions written,
			// together.
			"dynamodb:BatchGetItem on ContactsTable",
			"dynamodb:BatchWriteItem on ExecutionsTable",
			"dynamodb:DeleteItem on ContactsTable",
			"dynamodb:GetItem on ContactsTable",
			"dynamodb:GetItem on InstancesTable",
			"dynamodb:PutItem on ContactsTable",
			"dynamodb:PutItem on ExecutionsTable",
			// The account's Mailchimp request budget, its partitions only.
			"dynamodb:Query on ContactsTable if {ForAllValues:StringLike: {dynamodb:LeadingKeys: [budget#*]}}",
			"dynamodb:Query on ContactsTable/index/*",
			// Announced writes: the keys and the announcement attributes
			// only (dynamo.AnnounceAttributes).
			"dynamodb:UpdateItem on ContactsTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, email, in_flight_mailchimp, in_flight_accessplanit]}, StringEqualsIfExists: {dynamodb:ReturnValues: [NONE]}}",
			"dynamodb:UpdateItem on ContactsTable if {ForAllValues:StringLike: {dynamodb:LeadingKeys: [budget#*]}}",
			// Each instance's health, those attributes only
			// (TestHealthUpdateMatchesCode).
			"dynamodb:UpdateItem on InstancesTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, health, health_version, health_notification, health_dead_lettered, health_dead_letter_at, health_last_success_at, mailchimp_account_id]}, StringEqualsIfExists: {dynamodb:ReturnValues: [NONE]}}",
			"kms:Decrypt on SecretsKey",
			"logs:CreateLogStream on SyncLogGroup",
			"logs:PutLogEvents on SyncLogGroup",
			// The SQS event source mappings poll with the function's role,
			// on the changes and bulk queues only.
			"sqs:ChangeMessageVisibility on BulkQueue",
			"sqs:ChangeMessageVisibility on ChangesQueue",
			"sqs:DeleteMessage on BulkQueue",
			"sqs:DeleteMessage on ChangesQueue",
			"sqs:GetQueueAttributes on BulkQueue",
			"sqs:GetQueueAttributes on ChangesQueue",
			"sqs:ReceiveMessage on BulkQueue",
			"sqs:ReceiveMessage on ChangesQueue",
			// A bulk-queue change that would create a User moves to the
			// changes queue.
			"sqs:SendMessage on ChangesQueue",
		}},
		{"BackfillFunction", []string{
			"dynamodb:DeleteItem on ContactsTable",
			"dynamodb:GetItem on ContactsTable",
			"dynamodb:GetItem on InstancesTable",
			// Contact states and the job record, its checkpoint.
			"dynamodb:PutItem on ContactsTable",
			"dynamodb:PutItem on ExecutionsTable",
			// The instance's contact states and a plan's parts.
			"dynamodb:Query on ContactsTable",
			"dynamodb:Query on ContactsTable if {ForAllValues:StringLike: {dynamodb:LeadingKeys: [budget#*]}}",
			"dynamodb:UpdateItem on ContactsTable if {ForAllValues:StringLike: {dynamodb:LeadingKeys: [budget#*]}}",
			"kms:Decrypt on SecretsKey",
			"logs:CreateLogStream on BackfillLogGroup",
			"logs:PutLogEvents on BackfillLogGroup",
			// The event source mapping polls its own queue; a run puts its
			// continuation back on it.
			"sqs:DeleteMessage on BackfillQueue",
			"sqs:GetQueueAttributes on BackfillQueue",
			"sqs:ReceiveMessage on BackfillQueue",
			"sqs:SendMessage on BackfillQueue",
		}},
		{"ExecutionsFunction", []string{
			// A page of executions read through an index, read whole.
			"dynamodb:BatchGetItem on ExecutionsTable",
			// First syncs: the job record, the plans and the last
			// reconciliation, their attributes only (no contact state), and
			// a cancel request (TestFirstSyncFollowMatchesCode).
			"dynamodb:GetItem on ContactsTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, email, cancel_requested, plan_id, run_id, status, done, total, started_at, updated_at, result, error, created_at, counts, shared_emails, parts, contacts, expires_at, run, started_ns]}, " +
				"StringEqualsIfExists: {dynamodb:Select: [SPECIFIC_ATTRIBUTES]}}",
			"dynamodb:GetItem on ExecutionsTable",
			"dynamodb:GetItem on InstancesTable",
			// Resume marks the held executions it released.
			"dynamodb:PutItem on ExecutionsTable",
			"dynamodb:Query on ContactsTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, email, cancel_requested, plan_id, run_id, status, done, total, started_at, updated_at, result, error, created_at, counts, shared_emails, parts, contacts, expires_at, run, started_ns]}, " +
				"StringEqualsIfExists: {dynamodb:Select: [SPECIFIC_ATTRIBUTES]}}",
			"dynamodb:Query on ExecutionsTable",
			"dynamodb:Query on ExecutionsTable/index/*",
			"dynamodb:Scan on InstancesTable",
			"dynamodb:UpdateItem on ContactsTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, email, status, cancel_requested]}, " +
				"StringEqualsIfExists: {dynamodb:ReturnValues: [NONE]}}",
			// Pause and resume update the instance's state and nothing else
			// (no PutItem, no DeleteItem): the connection settings and
			// secrets stay the operator's.
			"dynamodb:UpdateItem on InstancesTable if {ForAllValues:StringEquals: {dynamodb:Attributes: [instance_id, state, config_version, updated_at]}, " +
				"StringEqualsIfExists: {dynamodb:ReturnValues: [NONE]}}",
			// The console's session key, derived once per cold start; no
			// right on SecretsKey.
			"kms:GenerateMac on ConsoleSessionKey",
			"logs:CreateLogStream on ExecutionsLogGroup",
			"logs:PutLogEvents on ExecutionsLogGroup",
			// Dead-letter depth, listing and redrive.
			"sqs:ChangeMessageVisibility on ChangesDeadLetterQueue",
			"sqs:DeleteMessage on ChangesDeadLetterQueue",
			"sqs:GetQueueAttributes on ChangesDeadLetterQueue",
			"sqs:ReceiveMessage on ChangesDeadLetterQueue",
			// Start a first sync.
			"sqs:SendMessage on BackfillQueue",
			// Replay.
			"sqs:SendMessage on ChangesQueue",
		}},
		{"ReconcileFunction", []string{
			"dynamodb:GetItem on ContactsTable",
			"dynamodb:GetItem on InstancesTable",
			// Runs only, in their own partitions (dynamo.RunsPartitionPrefix):
			// the sync alone writes contact states.
			"dynamodb:PutItem on ContactsTable if {ForAllValues:StringLike: {dynamodb:LeadingKeys: [" + dynamo.RunsPartitionPrefix + "*]}}",
			"dynamodb:Query on ContactsTable",
			"dynamodb:Query on ContactsTable if {ForAllValues:StringLike: {dynamodb:LeadingKeys: [budget#*]}}",
			"dynamodb:Query on ContactsTable/index/*",
			"dynamodb:Scan on InstancesTable",
			"dynamodb:UpdateItem on ContactsTable if {ForAllValues:StringLike: {dynamodb:LeadingKeys: [budget#*]}}",
			"kms:Decrypt on SecretsKey",
			"logs:CreateLogStream on ReconcileLogGroup",
			"logs:PutLogEvents on ReconcileLogGroup",
			"sqs:SendMessage on ChangesQueue",
		}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, s.grants(t, tt.id)); diff != "" {
			t.Errorf("%s permissions mismatch (-want +got):\n%s", tt.id, diff)
		}
	}
	for _, key := range []string{"Policies", "Role", "PermissionsBoundary"} {
		if got := node(s.raw, "Globals", "Function", key); got != nil {
			t.Errorf("Globals.Function.%s = %s, want none (permissions are per function)", key, render(got))
		}
	}
}

// TestAnnounceUpdateMatchesCode holds the sync function's announcements
// (dynamo.ContactStore.AnnounceWrites) to the attributes its code names.
func TestAnnounceUpdateMatchesCode(t *testing.T) {
	s := mustLoadStack(t)
	var found bool
	for _, p := range list(node(s.properties("SyncRole"), "Policies")) {
		for _, st := range list(node(p, "PolicyDocument", "Statement")) {
			attrs := list(node(st, "Condition", "ForAllValues:StringEquals", "dynamodb:Attributes"))
			if !slices.Contains(list(node(st, "Action")), any("dynamodb:UpdateItem")) || render(node(st, "Resource")) != "!GetAtt ContactsTable.Arn" || len(attrs) == 0 {
				continue
			}
			found = true
			if diff := attributesDiff(st, dynamo.AnnounceAttributes()); diff != "" {
				t.Errorf("SyncRole announcement UpdateItem dynamodb:Attributes mismatch with dynamo.AnnounceAttributes (-code +template):\n%s", diff)
			}
		}
	}
	if !found {
		t.Error("SyncRole has no dynamodb:UpdateItem statement on ContactsTable limited to attributes, want the one dynamo.AnnounceAttributes names")
	}
}

// TestFirstSyncFollowMatchesCode holds the executions function's access to
// the contacts table to the attributes its code names: its reads of the
// job, the plans and the reconciliations (dynamo.FirstSyncReadAttributes)
// and its cancel request (dynamo.CancelJobAttributes). A new attribute
// there must be granted here, or following a first sync fails in AWS only.
func TestFirstSyncFollowMatchesCode(t *testing.T) {
	s := mustLoadStack(t)
	for _, tt := range []struct {
		action, code string
		want         []string
	}{
		{"dynamodb:GetItem", "dynamo.FirstSyncReadAttributes", dynamo.FirstSyncReadAttributes()},
		{"dynamodb:Query", "dynamo.FirstSyncReadAttributes", dynamo.FirstSyncReadAttributes()},
		{"dynamodb:UpdateItem", "dynamo.CancelJobAttributes", dynamo.CancelJobAttributes()},
	} {
		var found int
		for _, p := range list(node(s.properties("ExecutionsRole"), "Policies")) {
			for _, st := range list(node(p, "PolicyDocument", "Statement")) {
				if !slices.Contains(list(node(st, "Action")), any(tt.action)) || render(node(st, "Resource")) != "!GetAtt ContactsTable.Arn" {
					continue
				}
				found++
				if diff := attributesDiff(st, tt.want); diff != "" {
					t.Errorf("ExecutionsRole %s on ContactsTable dynamodb:Attributes mismatch with %s (-code +template):\n%s", tt.action, tt.code, diff)
				}
			}
		}
		if found != 1 {
			t.Errorf("ExecutionsRole has %d %s statements on ContactsTable, want the one %s names", found, tt.action, tt.code)
		}
	}
}

// TestInstanceUpdatesMatchCode holds each function's one write to the
// instances table to the attributes its code names: the executions
// function's SetState (pause and resume) and the sync function's
// SaveHealth, RecordNotification and RecordMailchimpAccount. A new
// attribute there must be granted here, or the write fails in AWS only.
func TestInstanceUpdatesMatchCode(t *testing.T) {
	s := mustLoadStack(t)
	for _, tt := range []struct {
		role, code string
		want       []string
	}{
		{"ExecutionsRole", "dynamo.StateAttributes", dynamo.StateAttributes()},
		{"SyncRole", "dynamo.HealthAttributes and dynamo.MailchimpAccountAttributes", slices.Compact(slices.Sorted(slices.Values(append(dynamo.HealthAttributes(), dynamo.MailchimpAccountAttributes()...))))},
	} {
		var found bool
		for _, p := range list(node(s.properties(tt.role), "Policies")) {
			for _, st := range list(node(p, "PolicyDocument", "Statement")) {
				if !slices.Contains(list(node(st, "Action")), any("dynamodb:UpdateItem")) || render(node(st, "Resource")) != "!GetAtt InstancesTable.Arn" {
					continue
				}
				found = true
				if diff := attributesDiff(st, tt.want); diff != "" {
					t.Errorf("%s UpdateItem dynamodb:Attributes mismatch with %s (-code +template):\n%s", tt.role, tt.code, diff)
				}
			}
		}
		if !found {
			t.Errorf("%s has no dynamodb:UpdateItem statement on InstancesTable, want the one %s names", tt.role, tt.code)
		}
	}
}

// TestWebhookAuthReadMatchesCode holds each ingest function's one read of
// the instances table to the attributes WebhookAuth projects for its side:
// a new attribute there must be granted here, or webhooks fail in AWS only;
// an attribute granted here that the code does not read is a right too many.
func TestWebhookAuthReadMatchesCode(t *testing.T) {
	s := mustLoadStack(t)
	for _, tt := range []struct {
		role string
		side apmc.Side
	}{
		{"IngestAccessplanitRole", apmc.SideAccessplanit},
		{"IngestMailchimpRole", apmc.SideMailchimp},
	} {
		var found int
		for _, p := range list(node(s.properties(tt.role), "Policies")) {
			for _, st := range list(node(p, "PolicyDocument", "Statement")) {
				if render(node(st, "Resource")) != "!GetAtt InstancesTable.Arn" {
					continue
				}
				found++
				if actions := list(node(st, "Action")); len(actions) != 1 || actions[0] != any("dynamodb:GetItem") {
					t.Errorf("%s instances table actions = %s, want [dynamodb:GetItem]", tt.role, render(node(st, "Action")))
				}
				if diff := attributesDiff(st, dynamo.WebhookAuthAttributes(tt.side)); diff != "" {
					t.Errorf("%s GetItem dynamodb:Attributes mismatch with dynamo.WebhookAuthAttributes(%s) (-code +template):\n%s", tt.role, tt.side, diff)
				}
			}
		}
		if found != 1 {
			t.Errorf("%s has %d statements on the instances table, want the one GetItem of WebhookAuth", tt.role, found)
		}
	}
}

// wildcardExceptions are the policy documents allowed a "*" in Action or
// Resource, each with the reason AWS requires it.
var wildcardExceptions = map[string]string{
	// A key policy's Resource is always "*" (it means "this key"), and the
	// default statement granting the account kms:* is what keeps a key
	// manageable; who may use the key is then decided by IAM policies, which
	// the functions' roles scope to this key and to kms:Decrypt.
	"Resources/SecretsKey/Properties/KeyPolicy": "KMS key policy",
	// The same default policy; the executions function's role is scoped to
	// kms:GenerateMac on this key.
	"Resources/ConsoleSessionKey/Properties/KeyPolicy": "KMS key policy",
}

func TestNoWildcardPermissions(t *testing.T) {
	s := mustLoadStack(t)
	seen := map[string]bool{}
	walkPolicies(node(s.raw, "Resources"), "Resources", func(path string, statement any) {
		if _, ok := wildcardExceptions[path]; ok {
			seen[path] = true
			return
		}
		for _, a := range list(node(statement, "Action")) {
			if strings.Contains(render(a), "*") {
				t.Errorf("%s: Action %s contains *, want explicit actions", path, render(a))
			}
		}
		for _, r := range list(node(statement, "Resource")) {
			v := render(r)
			if !strings.Contains(v, "*") {
				continue
			}
			// The one "*" allowed outside the key policies: the indexes of
			// a table of this stack, which only Query can read.
			if own, err := s.ownResource(r); err == nil && strings.HasSuffix(own, "/index/*") {
				continue
			}
			t.Errorf("%s: Resource %s contains *, want this stack's resources", path, v)
		}
	})
	for path := range wildcardExceptions {
		if !seen[path] {
			t.Errorf("documented exception %s has no policy; remove it from wildcardExceptions", path)
		}
	}
}

// walkPolicies calls fn for every statement of every policy document (a map
// with a Statement list) under v, with the document's path.
func walkPolicies(v any, path string, fn func(path string, statement any)) {
	switch x := v.(type) {
	case map[string]any:
		if statements, ok := x["Statement"].([]any); ok {
			for _, st := range statements {
				fn(path, st)
			}
		}
		for k, e := range x {
			walkPolicies(e, path+"/"+k, fn)
		}
	case []any:
		for i, e := range x {
			walkPolicies(e, fmt.Sprintf("%s/%d", path, i), fn)
		}
	}
}

func TestSecretsKey(t *testing.T) {
	s := mustLoadStack(t)
	key, err := s.typed.GetKMSKeyWithName("SecretsKey")
	if err != nil {
		t.Fatalf("SecretsKey: %v", err)
	}
	if key.EnableKeyRotation == nil || !*key.EnableKeyRotation {
		t.Errorf("SecretsKey.EnableKeyRotation = %s, want true", render(node(s.properties("SecretsKey"), "EnableKeyRotation")))
	}
	if key.BypassPolicyLockoutSafetyCheck != nil && *key.BypassPolicyLockoutSafetyCheck {
		t.Errorf("SecretsKey.BypassPolicyLockoutSafetyCheck = true, want unset")
	}
	want := "[{Action: kms:*, Effect: Allow, Principal: {AWS: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root}, " +
		"Resource: *, Sid: AccountAdministersKeyIAMGrantsUse}]"
	if got := render(node(s.properties("SecretsKey"), "KeyPolicy", "Statement")); got != want {
		t.Errorf("SecretsKey key policy statements = %s, want %s (only the account; IAM grants use)", got, want)
	}
	alias, err := s.typed.GetKMSAliasWithName("SecretsKeyAlias")
	if err != nil {
		t.Fatalf("SecretsKeyAlias: %v", err)
	}
	if got := render(node(s.properties("SecretsKeyAlias"), "TargetKeyId")); got != "!Ref SecretsKey" {
		t.Errorf("SecretsKeyAlias.TargetKeyId = %s, want !Ref SecretsKey", got)
	}
	if !strings.HasPrefix(render(node(s.properties("SecretsKeyAlias"), "AliasName")), "!Sub alias/") || alias.AliasName == "" {
		t.Errorf("SecretsKeyAlias.AliasName = %s, want a stack-specific alias/...", render(node(s.properties("SecretsKeyAlias"), "AliasName")))
	}
}

func TestConsoleSessionKey(t *testing.T) {
	s := mustLoadStack(t)
	key, err := s.typed.GetKMSKeyWithName("ConsoleSessionKey")
	if err != nil {
		t.Fatalf("ConsoleSessionKey: %v", err)
	}
	props := s.properties("ConsoleSessionKey")
	for _, p := range []struct{ name, want string }{
		{"KeySpec", "HMAC_256"},
		{"KeyUsage", "GENERATE_VERIFY_MAC"},
	} {
		if got := render(node(props, p.name)); got != p.want {
			t.Errorf("ConsoleSessionKey.%s = %s, want %s", p.name, got, p.want)
		}
	}
	// KMS rotates only symmetric encryption keys; asking it to rotate an
	// HMAC key fails the deployment.
	if key.EnableKeyRotation != nil && *key.EnableKeyRotation {
		t.Errorf("ConsoleSessionKey.EnableKeyRotation = true, want unset (HMAC keys cannot be rotated)")
	}
	if key.BypassPolicyLockoutSafetyCheck != nil && *key.BypassPolicyLockoutSafetyCheck {
		t.Errorf("ConsoleSessionKey.BypassPolicyLockoutSafetyCheck = true, want unset")
	}
	want := "[{Action: kms:*, Effect: Allow, Principal: {AWS: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root}, " +
		"Resource: *, Sid: AccountAdministersKeyIAMGrantsUse}]"
	if got := render(node(props, "KeyPolicy", "Statement")); got != want {
		t.Errorf("ConsoleSessionKey key policy statements = %s, want %s (only the account; IAM grants use)", got, want)
	}
	// Only the executions function may use it, and only to compute a MAC.
	for _, id := range functionIDs {
		for _, g := range s.grants(t, id) {
			if strings.HasSuffix(g, " on ConsoleSessionKey") && (id != "ExecutionsFunction" || g != "kms:GenerateMac on ConsoleSessionKey") {
				t.Errorf("%s has %s, want only ExecutionsFunction with kms:GenerateMac", id, g)
			}
		}
	}
}

// TestBurstWindowAccessMatchesCode holds each ingest function's access to
// the burst windows to the attributes its code names
// (dynamo.BurstWindowAttributes) and to their partitions.
func TestBurstWindowAccessMatchesCode(t *testing.T) {
	s := mustLoadStack(t)
	for _, role := range []string{"IngestAccessplanitRole", "IngestMailchimpRole"} {
		var found bool
		for _, p := range list(node(s.properties(role), "Policies")) {
			for _, st := range list(node(p, "PolicyDocument", "Statement")) {
				if render(node(st, "Resource")) != "!GetAtt ContactsTable.Arn" {
					continue
				}
				found = true
				if diff := attributesDiff(st, dynamo.BurstWindowAttributes()); diff != "" {
					t.Errorf("%s burst window dynamodb:Attributes mismatch with dynamo.BurstWindowAttributes (-code +template):\n%s", role, diff)
				}
				if keys := render(node(st, "Condition", "ForAllValues:StringLike", "dynamodb:LeadingKeys")); keys != "["+dynamo.BurstWindowPartitionPrefix+"*]" {
					t.Errorf("%s burst window dynamodb:LeadingKeys = %s, want [%s*]", role, keys, dynamo.BurstWindowPartitionPrefix)
				}
			}
		}
		if !found {
			t.Errorf("%s has no statement on ContactsTable, want the burst windows'", role)
		}
	}
}

// attributesDiff compares the attributes a statement's dynamodb:Attributes
// condition lists with want (the code's), in any order: "" when they match,
// else a diff (-code +template).
func attributesDiff(st any, want []string) string {
	var got []string
	for _, a := range list(node(st, "Condition", "ForAllValues:StringEquals", "dynamodb:Attributes")) {
		got = append(got, render(a))
	}
	want = slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return cmp.Diff(want, got)
}
