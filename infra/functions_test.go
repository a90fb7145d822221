package infra

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFunctionsRuntime(t *testing.T) {
	s := mustLoadStack(t)
	for _, id := range functionIDs {
		logging := "{ApplicationLogLevel: !Ref LogLevel, LogFormat: JSON, SystemLogLevel: WARN}"
		if id == "SyncFunction" { // never above INFO (TestSyncLogLevelKeepsMetrics)
			logging = "{ApplicationLogLevel: !If [LogLevelAboveInfo, INFO, !Ref LogLevel], LogFormat: JSON, SystemLogLevel: WARN}"
		}
		tests := []struct {
			key  string
			want string
		}{
			{"Runtime", "provided.al2023"},
			{"Architectures", "[arm64]"},
			{"Handler", "bootstrap"},
			{"CodeUri", "."},
			{"LoggingConfig", logging},
		}
		for _, tt := range tests {
			if got := render(s.functionProperty(id, tt.key)); got != tt.want {
				t.Errorf("%s %s = %s, want %s", id, tt.key, got, tt.want)
			}
		}
		if got := render(node(s.raw, "Resources", id, "Metadata", "BuildMethod")); got != "makefile" {
			t.Errorf("%s Metadata.BuildMethod = %s, want makefile", id, got)
		}
	}
}

func TestFunctionsSizing(t *testing.T) {
	s := mustLoadStack(t)
	tests := []struct {
		id      string
		timeout string
		memory  string
	}{
		// Ingest must answer well inside Mailchimp's 10 s webhook limit.
		{"IngestAccessplanitFunction", "10", "128"},
		{"IngestMailchimpFunction", "10", "128"},
		{"SyncFunction", "!Ref SyncTimeoutSeconds", "256"},
		// HTTP API integrations time out at 30 s anyway.
		{"ExecutionsFunction", "30", "256"},
		// A first-sync run takes what Lambda allows; the job carries on in
		// the next run (its queue's visibility timeout is longer).
		{"BackfillFunction", "900", "512"},
	}
	for _, tt := range tests {
		if got := render(s.functionProperty(tt.id, "Timeout")); got != tt.timeout {
			t.Errorf("%s Timeout = %s, want %s", tt.id, got, tt.timeout)
		}
		if got := render(s.functionProperty(tt.id, "MemorySize")); got != tt.memory {
			t.Errorf("%s MemorySize = %s, want %s", tt.id, got, tt.memory)
		}
	}
}

func TestFunctionsEnvironment(t *testing.T) {
	s := mustLoadStack(t)
	if got := node(s.raw, "Globals", "Function", "Environment"); got != nil {
		t.Errorf("Globals.Function.Environment = %s, want none (each function gets only what it needs)", render(got))
	}
	tests := []struct {
		id   string
		want map[string]string
	}{
		{"IngestAccessplanitFunction", map[string]string{
			"INSTANCES_TABLE": "!Ref InstancesTable",
			"QUEUE_URL":       "!Ref ChangesQueue",
			// A bursting instance's changes go there.
			"BULK_QUEUE_URL": "!Ref BulkQueue",
			// The shared burst windows (its lane# partitions only).
			"CONTACTS_TABLE": "!Ref ContactsTable",
		}},
		{"IngestMailchimpFunction", map[string]string{
			"INSTANCES_TABLE": "!Ref InstancesTable",
			"QUEUE_URL":       "!Ref ChangesQueue",
			// A bursting instance's changes (not its email changes) go there.
			"BULK_QUEUE_URL": "!Ref BulkQueue",
			// The shared burst windows (its lane# partitions only).
			"CONTACTS_TABLE": "!Ref ContactsTable",
		}},
		{"SyncFunction", map[string]string{
			"INSTANCES_TABLE":  "!Ref InstancesTable",
			"EXECUTIONS_TABLE": "!Ref ExecutionsTable",
			"CONTACTS_TABLE":   "!Ref ContactsTable",
			"QUEUE_URL":        "!Ref ChangesQueue",
			// Its retries are delayed on the queue they came from.
			"BULK_QUEUE_URL": "!Ref BulkQueue",
			"KMS_KEY_ID":     "!Ref SecretsKey",
			// The per-function Mailchimp connection cap (TestMailchimpConnectionBudget).
			"MAILCHIMP_MAX_CONNECTIONS": "!Ref MailchimpConnectionsPerFunction",
		}},
		{"ExecutionsFunction", map[string]string{
			"INSTANCES_TABLE":       "!Ref InstancesTable",
			"EXECUTIONS_TABLE":      "!Ref ExecutionsTable",
			"CONTACTS_TABLE":        "!Ref ContactsTable",
			"QUEUE_URL":             "!Ref ChangesQueue",
			"DEAD_LETTER_QUEUE_URL": "!Ref ChangesDeadLetterQueue",
			"BACKFILL_QUEUE_URL":    "!Ref BackfillQueue",
			"OPERATOR_TOKEN_HASH":   "!Ref OperatorTokenHash",
			// Names the KMS HMAC key the console's session key is derived from.
			"CONSOLE_SESSION_KEY_ID": "!Ref ConsoleSessionKey",
		}},
		{"BackfillFunction", map[string]string{
			"INSTANCES_TABLE":    "!Ref InstancesTable",
			"EXECUTIONS_TABLE":   "!Ref ExecutionsTable",
			"CONTACTS_TABLE":     "!Ref ContactsTable",
			"BACKFILL_QUEUE_URL": "!Ref BackfillQueue",
			"KMS_KEY_ID":         "!Ref SecretsKey",
			// Its share of Mailchimp's connections, which also caps its
			// batch calls in flight.
			"MAILCHIMP_MAX_CONNECTIONS": "!Ref BackfillMailchimpConnections",
		}},
	}
	for _, tt := range tests {
		vars, _ := node(s.functionProperty(tt.id, "Environment"), "Variables").(map[string]any)
		got := make(map[string]string, len(vars))
		for k, v := range vars {
			got[k] = render(v)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s environment mismatch (-want +got):\n%s", tt.id, diff)
		}
	}
}

func TestHttpAPIRoutes(t *testing.T) {
	s := mustLoadStack(t)
	if got := render(node(s.properties("HttpApi"), "Auth")); got != "{EnableIamAuthorizer: true}" {
		// A DefaultAuthorizer would put IAM in front of the webhooks too.
		t.Errorf("HttpApi Auth = %s, want {EnableIamAuthorizer: true}", got)
	}
	const public = "public"
	tests := []struct {
		id   string
		want []string // "METHOD path authorizer"
	}{
		{"IngestAccessplanitFunction", []string{
			"DELETE /webhooks/accessplanit/{instanceID}/{token} " + public,
			"PATCH /webhooks/accessplanit/{instanceID}/{token} " + public,
			"POST /webhooks/accessplanit/{instanceID}/{token} " + public,
			"PUT /webhooks/accessplanit/{instanceID}/{token} " + public,
		}},
		{"IngestMailchimpFunction", []string{
			"GET /webhooks/mailchimp/{instanceID}/{token} " + public,
			"POST /webhooks/mailchimp/{instanceID}/{token} " + public,
		}},
		{"SyncFunction", nil},
		{"BackfillFunction", nil},
		{"ExecutionsFunction", []string{
			"ANY /api/{proxy+} AWS_IAM",
			// The console authenticates itself (operator token → session cookie).
			"ANY /console/{proxy+} " + public,
			// The API's OpenAPI document only; every other /api route needs IAM.
			"GET /api/openapi.json " + public,
			"GET /console " + public,
		}},
	}
	for _, tt := range tests {
		events, _ := s.functionProperty(tt.id, "Events").(map[string]any)
		var got []string
		for name, e := range events {
			if render(node(e, "Type")) != "HttpApi" {
				continue
			}
			p := node(e, "Properties")
			if api := render(node(p, "ApiId")); api != "!Ref HttpApi" {
				t.Errorf("%s event %s ApiId = %s, want !Ref HttpApi", tt.id, name, api)
			}
			if v := render(node(p, "PayloadFormatVersion")); v != "2.0" {
				t.Errorf("%s event %s PayloadFormatVersion = %s, want 2.0", tt.id, name, v)
			}
			auth := public
			if a := node(p, "Auth", "Authorizer"); a != nil {
				auth = render(a)
			}
			got = append(got, render(node(p, "Method"))+" "+render(node(p, "Path"))+" "+auth)
		}
		sort.Strings(got)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s routes mismatch (-want +got):\n%s", tt.id, diff)
		}
	}
}
