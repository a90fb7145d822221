package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// templatePath is the SAM template, relative to this package's directory
// (go test runs in it).
const templatePath = "../template.yaml"

// functionIDs are the logical ids of the four Lambda functions.
var functionIDs = []string{
	"IngestAccessplanitFunction",
	"IngestMailchimpFunction",
	"SyncFunction",
	"ExecutionsFunction",
	"ReconcileFunction",
	"BackfillFunction",
}

// stack is the template seen two ways.
//
// raw is the whole document with every intrinsic function left in long form
// ({"Ref": "X"}, {"Fn::GetAtt": "X.Arn"}, {"Fn::Sub": "..."}), so a test can
// tell which resource or parameter a value comes from. It is the only view of
// the SAM resources and Globals: goformation's SAM model predates
// LoggingConfig, ScalingConfig and HttpApi's EnableIamAuthorizer, and its
// strict decoder rejects them.
//
// typed holds every plain CloudFormation resource decoded by goformation,
// whose decoders reject unknown properties (so a misspelt property fails the
// test). In it, Ref to a parameter resolves to the parameter's default, and
// other intrinsics are goformation's encoded strings (cloudformation.Ref,
// cloudformation.GetAtt, ...), which tests compare against.
type stack struct {
	raw   map[string]any
	typed *cloudformation.Template
}

// loadStack parses the template once per test binary; goformation's YAML tag
// registry is global and not safe for concurrent first use.
var loadStack = sync.OnceValues(func() (*stack, error) {
	data, err := os.ReadFile(templatePath)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	rawJSON, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("parse template YAML: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(rawJSON, &raw); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	typed, err := parseCloudFormation(data)
	if err != nil {
		return nil, err
	}
	return &stack{raw: raw, typed: typed}, nil
})

// mustLoadStack returns the parsed template or stops the test.
func mustLoadStack(t *testing.T) *stack {
	t.Helper()
	s, err := loadStack()
	if err != nil {
		t.Fatalf("load %s: %v", templatePath, err)
	}
	return s
}

// parseCloudFormation decodes the plain CloudFormation part of the template
// (everything but Globals and AWS::Serverless::* resources) with goformation.
func parseCloudFormation(data []byte) (*cloudformation.Template, error) {
	processed, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: inspectableIntrinsics(),
	})
	if err != nil {
		return nil, fmt.Errorf("process intrinsics: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(processed, &doc); err != nil {
		return nil, fmt.Errorf("decode processed template: %w", err)
	}
	delete(doc, "Globals")
	resources, ok := doc["Resources"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template has no Resources map")
	}
	for id, r := range resources {
		if typ, _ := node(r, "Type").(string); strings.HasPrefix(typ, "AWS::Serverless::") {
			delete(resources, id)
		}
	}
	plain, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode CloudFormation part: %w", err)
	}
	tpl, err := goformation.ParseJSONWithOptions(plain, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("goformation: %w", err)
	}
	return tpl, nil
}

// inspectableIntrinsics resolves Ref to a parameter to its default (keeping
// numbers numeric for goformation's typed fields) and turns every other
// intrinsic into goformation's encoded form, which stays comparable.
func inspectableIntrinsics() map[string]intrinsics.IntrinsicHandler {
	handlers := make(map[string]intrinsics.IntrinsicHandler, len(cloudformation.EncoderIntrinsics))
	for name, h := range cloudformation.EncoderIntrinsics {
		handlers[name] = h
	}
	handlers["Ref"] = func(name string, input any, template any) any {
		if v := intrinsics.Ref(name, input, template); v != nil {
			return v
		}
		return cloudformation.Ref(input)
	}
	return handlers
}

// node walks a decoded JSON document along keys; nil when a key is missing.
func node(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// resource returns the raw Properties of a logical resource.
func (s *stack) properties(id string) any {
	return node(s.raw, "Resources", id, "Properties")
}

// resourceType returns the Type of a logical resource, or "".
func (s *stack) resourceType(id string) string {
	typ, _ := node(s.raw, "Resources", id, "Type").(string)
	return typ
}

// functionProperty returns a function's effective property: its own value,
// or the one from Globals.Function (what the SAM transform does).
func (s *stack) functionProperty(id, key string) any {
	if v := node(s.properties(id), key); v != nil {
		return v
	}
	return node(s.raw, "Globals", "Function", key)
}

// render writes a raw value with its intrinsics in short form ("!Ref X",
// "!GetAtt X.Arn", "!Sub ...") so expectations read like the template.
func render(v any) string {
	switch x := v.(type) {
	case nil:
		return "<nil>"
	case string:
		return x
	case float64, bool:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		if len(x) == 1 {
			for k, e := range x {
				switch k {
				case "Ref":
					return "!Ref " + render(e)
				case "Fn::GetAtt":
					if parts, ok := e.([]any); ok && len(parts) == 2 {
						return "!GetAtt " + render(parts[0]) + "." + render(parts[1])
					}
					return "!GetAtt " + render(e)
				case "Fn::Sub":
					return "!Sub " + render(e)
				case "Fn::If":
					return "!If " + render(e)
				}
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + render(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	default:
		return fmt.Sprintf("%v", x)
	}
}

func TestTemplateParses(t *testing.T) {
	s := mustLoadStack(t)
	if got := render(s.raw["Transform"]); got != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %q, want AWS::Serverless-2016-10-31", got)
	}
	// Every plain resource must have been decoded by goformation; a resource
	// type goformation does not know would silently become nil.
	for id, r := range s.typed.Resources {
		if r == nil {
			t.Errorf("goformation decoded resource %s as nil", id)
		}
	}
}

func TestResourceTypes(t *testing.T) {
	s := mustLoadStack(t)
	tests := []struct {
		id   string
		want string
	}{
		{"HttpApi", "AWS::Serverless::HttpApi"},
		{"IngestAccessplanitFunction", "AWS::Serverless::Function"},
		{"IngestMailchimpFunction", "AWS::Serverless::Function"},
		{"SyncFunction", "AWS::Serverless::Function"},
		{"ExecutionsFunction", "AWS::Serverless::Function"},
		{"ReconcileFunction", "AWS::Serverless::Function"},
		{"ReconcileSchedule", "AWS::Scheduler::Schedule"},
		{"ReconcileScheduleRole", "AWS::IAM::Role"},
		{"ReconcileRole", "AWS::IAM::Role"},
		{"ReconcileLogGroup", "AWS::Logs::LogGroup"},
		{"ChangesQueue", "AWS::SQS::Queue"},
		{"BulkQueue", "AWS::SQS::Queue"},
		{"ChangesDeadLetterQueue", "AWS::SQS::Queue"},
		{"InstancesTable", "AWS::DynamoDB::Table"},
		{"ExecutionsTable", "AWS::DynamoDB::Table"},
		{"ContactsTable", "AWS::DynamoDB::Table"},
		{"SecretsKey", "AWS::KMS::Key"},
		{"SecretsKeyAlias", "AWS::KMS::Alias"},
		{"ConsoleSessionKey", "AWS::KMS::Key"},
		{"IngestAccessplanitRole", "AWS::IAM::Role"},
		{"IngestMailchimpRole", "AWS::IAM::Role"},
		{"SyncRole", "AWS::IAM::Role"},
		{"ExecutionsRole", "AWS::IAM::Role"},
		{"IngestAccessplanitLogGroup", "AWS::Logs::LogGroup"},
		{"IngestMailchimpLogGroup", "AWS::Logs::LogGroup"},
		{"SyncLogGroup", "AWS::Logs::LogGroup"},
		{"ExecutionsLogGroup", "AWS::Logs::LogGroup"},
		{"DeadLetterAlarm", "AWS::CloudWatch::Alarm"},
		{"BackfillDeadLetterAlarm", "AWS::CloudWatch::Alarm"},
		{"SyncErrorsAlarm", "AWS::CloudWatch::Alarm"},
		{"InstanceFailureRateAlarm", "AWS::CloudWatch::Alarm"},
		{"AlertsTopic", "AWS::SNS::Topic"},
		{"AlertsEmailSubscription", "AWS::SNS::Subscription"},
	}
	for _, tt := range tests {
		if got := s.resourceType(tt.id); got != tt.want {
			t.Errorf("type of %s = %q, want %q", tt.id, got, tt.want)
		}
	}
	var functions []string
	for id := range node(s.raw, "Resources").(map[string]any) {
		if s.resourceType(id) == "AWS::Serverless::Function" || s.resourceType(id) == "AWS::Lambda::Function" {
			functions = append(functions, id)
		}
	}
	sort.Strings(functions)
	want := append([]string(nil), functionIDs...)
	sort.Strings(want)
	if strings.Join(functions, ",") != strings.Join(want, ",") {
		t.Errorf("functions = %v, want %v", functions, want)
	}
}
