package infra

import (
	"fmt"
	"slices"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"

	"github.com/apmc-sync/apmc/internal/health"
)

func TestParameters(t *testing.T) {
	s := mustLoadStack(t)
	pf := func(v *float64) string {
		if v == nil {
			return "<nil>"
		}
		return fmt.Sprint(*v)
	}
	tests := []struct {
		name, typ, def, min, max string
		noEcho                   bool
	}{
		{"LogLevel", "String", "INFO", "<nil>", "<nil>", false},
		{"SyncTimeoutSeconds", "Number", "30", "5", "30", false},
		// Split in two event sources, each at least Lambda's smallest
		// ScalingConfig.MaximumConcurrency, 2 (TestSyncLanes).
		{"SyncMaximumConcurrency", "Number", "20", "4", "1000", false},
		// Mailchimp allows 10 connections per user (TestMailchimpConnectionBudget).
		{"MailchimpConnectionsPerFunction", "Number", "2", "1", "10", false},
		// Per webhook route, within API Gateway's default account quotas.
		{"WebhookThrottleRateLimit", "Number", "50", "1", "10000", false},
		{"WebhookThrottleBurstLimit", "Number", "100", "1", "5000", false},
		{"RetentionDays", "Number", "30", "<nil>", "<nil>", false},
		// No default: the operator must choose a token at deploy time.
		{"OperatorTokenHash", "String", "<nil>", "<nil>", "<nil>", true},
		{"AlarmEmail", "String", "", "<nil>", "<nil>", false},
		// A percentage of one instance's executions.
		{"InstanceFailureRateThreshold", "Number", "20", "1", "100", false},
	}
	for _, tt := range tests {
		p, ok := s.typed.Parameters[tt.name]
		if !ok {
			t.Errorf("parameter %s missing", tt.name)
			continue
		}
		def := "<nil>"
		if p.Default != nil {
			def = fmt.Sprint(p.Default)
		}
		got := fmt.Sprintf("%s default=%s min=%s max=%s noEcho=%t", p.Type, def, pf(p.MinValue), pf(p.MaxValue), p.NoEcho != nil && *p.NoEcho)
		want := fmt.Sprintf("%s default=%s min=%s max=%s noEcho=%t", tt.typ, tt.def, tt.min, tt.max, tt.noEcho)
		if got != want {
			t.Errorf("parameter %s = %s, want %s", tt.name, got, want)
		}
	}
}

func TestLogGroups(t *testing.T) {
	s := mustLoadStack(t)
	tests := []struct {
		id       string
		function string
		name     string // FunctionName after the stack name
	}{
		{"IngestAccessplanitLogGroup", "IngestAccessplanitFunction", "ingest-accessplanit"},
		{"IngestMailchimpLogGroup", "IngestMailchimpFunction", "ingest-mailchimp"},
		{"SyncLogGroup", "SyncFunction", "sync"},
		{"ExecutionsLogGroup", "ExecutionsFunction", "executions"},
	}
	for _, tt := range tests {
		// The functions are named after the stack, so the log group and the
		// role's log rights can name the group without naming the function
		// (whose role would otherwise depend on the function itself).
		if got, want := render(s.functionProperty(tt.function, "FunctionName")), "!Sub ${AWS::StackName}-"+tt.name; got != want {
			t.Errorf("%s FunctionName = %s, want %s", tt.function, got, want)
		}
		lg, err := s.typed.GetLogsLogGroupWithName(tt.id)
		if err != nil {
			t.Errorf("%s: %v", tt.id, err)
			continue
		}
		// Lambda writes to /aws/lambda/<function name>; naming the group so
		// makes this group (with its retention) the one that is used.
		if want := cloudformation.Sub("/aws/lambda/${AWS::StackName}-" + tt.name); lg.LogGroupName == nil || *lg.LogGroupName != want {
			t.Errorf("%s LogGroupName = %s, want !Sub /aws/lambda/${AWS::StackName}-%s", tt.id, render(node(s.properties(tt.id), "LogGroupName")), tt.name)
		}
		if got := render(node(s.properties(tt.id), "RetentionInDays")); got != "!Ref RetentionDays" {
			t.Errorf("%s RetentionInDays = %s, want !Ref RetentionDays", tt.id, got)
		}
	}
}

// TestAlertsTopic: the topic always exists (so every alarm has somewhere to
// notify and other subscribers can be added); the e-mail subscription
// exists only when AlarmEmail is given.
func TestAlertsTopic(t *testing.T) {
	s := mustLoadStack(t)
	if got := render(node(s.raw, "Conditions", "HasAlarmEmail")); got != "{Fn::Not: [{Fn::Equals: [!Ref AlarmEmail, ]}]}" {
		t.Errorf("condition HasAlarmEmail = %s, want AlarmEmail not empty", got)
	}
	if got := render(node(s.raw, "Resources", "AlertsTopic", "Condition")); got != "<nil>" {
		t.Errorf("AlertsTopic Condition = %s, want none", got)
	}
	if got := render(node(s.raw, "Resources", "AlertsEmailSubscription", "Condition")); got != "HasAlarmEmail" {
		t.Errorf("AlertsEmailSubscription Condition = %s, want HasAlarmEmail", got)
	}
	sub, err := s.typed.GetSNSSubscriptionWithName("AlertsEmailSubscription")
	if err != nil {
		t.Fatalf("AlertsEmailSubscription: %v", err)
	}
	p := s.properties("AlertsEmailSubscription")
	if got := fmt.Sprintf("%s %s %s", sub.Protocol, render(node(p, "Endpoint")), render(node(p, "TopicArn"))); got != "email !Ref AlarmEmail !Ref AlertsTopic" {
		t.Errorf("AlertsEmailSubscription = %s, want email !Ref AlarmEmail !Ref AlertsTopic", got)
	}
	if got := render(node(s.raw, "Outputs", "AlertsTopicArn", "Value")); got != "!Ref AlertsTopic" {
		t.Errorf("output AlertsTopicArn = %s, want !Ref AlertsTopic", got)
	}
	// Every alarm of the stack notifies the topic, on ALARM and on OK.
	for id := range node(s.raw, "Resources").(map[string]any) {
		if s.resourceType(id) != "AWS::CloudWatch::Alarm" {
			continue
		}
		for _, key := range []string{"AlarmActions", "OKActions"} {
			if got := render(node(s.properties(id), key)); got != "[!Ref AlertsTopic]" {
				t.Errorf("%s %s = %s, want [!Ref AlertsTopic]", id, key, got)
			}
		}
	}
}

func TestAlarms(t *testing.T) {
	s := mustLoadStack(t)
	tests := []struct {
		id        string
		namespace string
		metric    string
		dimension string
		statistic string
		period    int
	}{
		{"DeadLetterAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName=!GetAtt ChangesDeadLetterQueue.QueueName", "Maximum", 60},
		{"BackfillDeadLetterAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName=!GetAtt BackfillDeadLetterQueue.QueueName", "Maximum", 60},
		{"SyncErrorsAlarm", "AWS/Lambda", "Errors", "FunctionName=!Ref SyncFunction", "Sum", 300},
	}
	for _, tt := range tests {
		a, err := s.typed.GetCloudWatchAlarmWithName(tt.id)
		if err != nil {
			t.Errorf("%s: %v", tt.id, err)
			continue
		}
		p := s.properties(tt.id)
		var dims []string
		for _, d := range list(node(p, "Dimensions")) {
			dims = append(dims, render(node(d, "Name"))+"="+render(node(d, "Value")))
		}
		got := fmt.Sprintf("%s %s %v %s period=%s evaluations=%d %s %s missing=%s",
			render(node(p, "Namespace")), render(node(p, "MetricName")), dims, render(node(p, "Statistic")),
			render(node(p, "Period")), a.EvaluationPeriods, a.ComparisonOperator, render(node(p, "Threshold")), render(node(p, "TreatMissingData")))
		want := fmt.Sprintf("%s %s [%s] %s period=%d evaluations=1 GreaterThanThreshold 0 missing=notBreaching",
			tt.namespace, tt.metric, tt.dimension, tt.statistic, tt.period)
		if got != want {
			t.Errorf("%s = %s, want %s", tt.id, got, want)
		}
	}
}

// TestInstanceFailureRateAlarm holds the per-instance alarm's Metrics
// Insights query to the names the sync function emits (internal/health):
// renaming a metric there without changing the query would leave the
// alarm without data, and silent.
func TestInstanceFailureRateAlarm(t *testing.T) {
	s := mustLoadStack(t)
	const id = "InstanceFailureRateAlarm"
	a, err := s.typed.GetCloudWatchAlarmWithName(id)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if len(a.Metrics) != 1 {
		t.Fatalf("%s has %d metric queries, want 1", id, len(a.Metrics))
	}
	q := a.Metrics[0]
	want := fmt.Sprintf("SELECT AVG(%s) FROM SCHEMA(%q, %s) GROUP BY %s ORDER BY AVG() DESC",
		health.MetricFailedPercent, health.Namespace, health.DimensionInstance, health.DimensionInstance)
	if q.Expression == nil || *q.Expression != want {
		t.Errorf("%s Expression = %v, want %s", id, render(node(s.properties(id), "Metrics")), want)
	}
	if !slices.Contains(health.Metrics, health.MetricFailedPercent) {
		t.Errorf("health.Metrics = %v, want it to carry %s", health.Metrics, health.MetricFailedPercent)
	}
	if q.Period == nil || *q.Period != 300 || q.ReturnData == nil || !*q.ReturnData {
		t.Errorf("%s query period/return = %v/%v, want 300/true", id, q.Period, q.ReturnData)
	}
	p := s.properties(id)
	// Two of three periods: one bad period does not page.
	const wantRule = "!Ref InstanceFailureRateThreshold GreaterThanThreshold evaluations=3 datapoints=2 missing=notBreaching"
	if got := fmt.Sprintf("%s %s evaluations=%d datapoints=%s missing=%s", render(node(p, "Threshold")), a.ComparisonOperator, a.EvaluationPeriods,
		render(node(p, "DatapointsToAlarm")), render(node(p, "TreatMissingData"))); got != wantRule {
		t.Errorf("%s = %s, want %s", id, got, wantRule)
	}
	for _, key := range []string{"Namespace", "MetricName", "Statistic"} {
		if got := node(p, key); got != nil {
			t.Errorf("%s %s = %s, want none (the query names the metric)", id, key, render(got))
		}
	}
}

func TestOutputs(t *testing.T) {
	s := mustLoadStack(t)
	const api = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
	tests := []struct {
		name string
		want string
	}{
		{"ApiUrl", "!Sub " + api},
		{"AccessplanitWebhookBaseUrl", "!Sub " + api + "/webhooks/accessplanit/"},
		{"MailchimpWebhookBaseUrl", "!Sub " + api + "/webhooks/mailchimp/"},
		{"ConsoleUrl", "!Sub " + api + "/console"},
		{"ChangesQueueUrl", "!Ref ChangesQueue"},
		{"BulkQueueUrl", "!Ref BulkQueue"},
		{"DeadLetterQueueUrl", "!Ref ChangesDeadLetterQueue"},
		{"InstancesTableName", "!Ref InstancesTable"},
		{"ExecutionsTableName", "!Ref ExecutionsTable"},
		{"ContactsTableName", "!Ref ContactsTable"},
		{"SecretsKeyId", "!Ref SecretsKey"},
	}
	for _, tt := range tests {
		if got := render(node(s.raw, "Outputs", tt.name, "Value")); got != tt.want {
			t.Errorf("output %s = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestSyncLogLevelKeepsMetrics: Lambda reads the sync function's metric
// records (JSON lines without a level) as INFO, so its application log
// level is never above INFO, whatever LogLevel says; the other functions
// follow LogLevel.
func TestSyncLogLevelKeepsMetrics(t *testing.T) {
	s := mustLoadStack(t)
	if got, want := render(node(s.raw, "Conditions", "LogLevelAboveInfo")),
		"{Fn::Or: [{Fn::Equals: [!Ref LogLevel, WARN]}, {Fn::Equals: [!Ref LogLevel, ERROR]}, {Fn::Equals: [!Ref LogLevel, FATAL]}]}"; got != want {
		t.Errorf("condition LogLevelAboveInfo = %s, want %s", got, want)
	}
	// Every level above INFO that LogLevel allows is in the condition.
	var above []string
	for _, l := range list(node(s.raw, "Parameters", "LogLevel", "AllowedValues")) {
		switch render(l) {
		case "TRACE", "DEBUG", "INFO":
		default:
			above = append(above, render(l))
		}
	}
	if got := fmt.Sprint(above); got != "[WARN ERROR FATAL]" {
		t.Errorf("LogLevel levels above INFO = %s, want the condition to name each of them", got)
	}
	if got, want := render(node(s.properties("SyncFunction"), "LoggingConfig")), "{ApplicationLogLevel: !If [LogLevelAboveInfo, INFO, !Ref LogLevel], LogFormat: JSON, SystemLogLevel: WARN}"; got != want {
		t.Errorf("SyncFunction LoggingConfig = %s, want %s", got, want)
	}
	if got := render(node(s.raw, "Globals", "Function", "LoggingConfig", "ApplicationLogLevel")); got != "!Ref LogLevel" {
		t.Errorf("Globals ApplicationLogLevel = %s, want !Ref LogLevel", got)
	}
}
