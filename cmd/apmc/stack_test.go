package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// deployed is a stack's resources created on kumo, as `sam deploy` would
// have created them on AWS, holding one instance.
type deployed struct {
	env     *awstest.Env
	outputs map[string]string
}

func deployOnKumo(t *testing.T) *deployed {
	t.Helper()
	env := awstest.Kumo(t)
	tables := env.Tables(t, "stack")
	queues := env.Queues(t, "stack", 30)
	key := env.Key(t)
	store := dynamo.NewInstanceStore(env.DynamoDB, tables.Instances, secrets.NewKMS(env.KMS, key))
	in := apmc.Instance{
		ID: "deployed-shop", Name: "Deployed Shop", State: apmc.StateEnabled, Direction: apmc.DirectionToMailchimp,
		StatusIfNew: "subscribed", MailchimpListID: "list1", AccessplanitBaseURL: "https://ap.example.com/x/api/v2/",
		Mappings: apmc.DefaultMappings(),
		Secrets:  apmc.Secrets{MailchimpAPIKey: "k-us21", AccessplanitAPIKey: "k2", AccessplanitToken: "t1", MailchimpToken: "t2"},
	}
	if err := store.Create(context.Background(), in); err != nil {
		t.Fatalf("Create(instance) error = %v", err)
	}
	return &deployed{env: env, outputs: map[string]string{
		"ApiUrl":              "https://abc123.execute-api.eu-west-2.amazonaws.com",
		"InstancesTableName":  tables.Instances,
		"ExecutionsTableName": tables.Executions,
		"ContactsTableName":   tables.Contacts,
		"BackfillQueueUrl":    env.Queues(t, "shop-backfill", 30).ChangesURL,
		"ChangesQueueUrl":     queues.ChangesURL,
		"DeadLetterQueueUrl":  queues.DeadLetterURL,
		"SecretsKeyId":        key,
		"SecretsKeyAlias":     "alias/shop-secrets",
	}}
}

// awsEnv isolates the AWS SDK's default configuration: static
// credentials, a region, no shared files, CloudFormation at cfnURL.
func awsEnv(t *testing.T, cfnURL string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_CLOUDFORMATION": cfnURL, "AWS_EC2_METADATA_DISABLED": "true",
		"APMC_INSTANCES_TABLE": "", "APMC_EXECUTIONS_TABLE": "", "APMC_QUEUE_URL": "", "APMC_DLQ_URL": "",
		"APMC_KMS_KEY_ID": "", "APMC_WEBHOOK_BASE_URL": "", "APMC_STACK": "", "APMC_AWS_ENDPOINT": "",
	} {
		t.Setenv(k, v)
	}
}

// describeStacks answers CloudFormation's DescribeStacks in the query
// protocol (form-encoded request, XML response) with the shape AWS
// documents, for one stack. It is a minimal recorded-shape stand-in for a
// single read-only call: kumo's CloudFormation returns no Outputs. It
// counts the calls.
func describeStacks(t *testing.T, stack string, outputs map[string]string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "DescribeStacks" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		if name := r.Form.Get("StackName"); name != stack {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id %s does not exist</Message></Error><RequestId>r2</RequestId></ErrorResponse>`, html.EscapeString(name))
			return
		}
		var members strings.Builder
		for k, v := range outputs {
			members.WriteString("<member><OutputKey>")
			_ = xml.EscapeText(&members, []byte(k))
			members.WriteString("</OutputKey><OutputValue>")
			_ = xml.EscapeText(&members, []byte(v))
			members.WriteString("</OutputValue></member>")
		}
		fmt.Fprintf(w, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>%s</StackName><StackId>arn:aws:cloudformation:eu-west-2:123456789012:stack/%s/1</StackId><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2025-01-02T03:04:05Z</CreationTime><Outputs>%s</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
			stack, stack, members.String())
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func apmcRun(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(args, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestStackReadsOutputs(t *testing.T) {
	d := deployOnKumo(t)
	cfn, calls := describeStacks(t, "shop", d.outputs)
	awsEnv(t, cfn.URL)
	other := d.env.Tables(t, "other")

	tests := []struct {
		name      string
		args      []string
		wantOut   []string
		wantErr   string
		wantCalls int32
	}{
		{
			name:    "outputs name every resource",
			args:    []string{"instance", "show", "deployed-shop", "--stack", "shop"},
			wantOut: []string{"Deployed Shop", "dead letters (all instances)  0"}, wantCalls: 1,
		},
		{
			name:    "an explicit flag wins over the output",
			args:    []string{"instance", "show", "deployed-shop", "--stack", "shop", "--instances-table", other.Instances},
			wantErr: "deployed-shop", wantCalls: 1,
		},
		{
			name:    "unknown stack",
			args:    []string{"instance", "list", "--stack", "nope"},
			wantErr: "read the outputs of stack nope", wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			out, err := apmcRun(append(tt.args, "--aws-endpoint", d.env.URL)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("apmc %s error = %v, want it to contain %q\n%s", strings.Join(tt.args, " "), err, tt.wantErr, out)
				}
			} else if err != nil {
				t.Fatalf("apmc %s error = %v\n%s", strings.Join(tt.args, " "), err, out)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("apmc %s printed %q, want it to contain %q", strings.Join(tt.args, " "), out, want)
				}
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("apmc %s made %d DescribeStacks calls, want %d", strings.Join(tt.args, " "), got, tt.wantCalls)
			}
		})
	}
}

func TestStackWithExplicitFlagsOnKumo(t *testing.T) {
	d := deployOnKumo(t)
	cfn, calls := describeStacks(t, "shop", nil)
	awsEnv(t, cfn.URL)
	o := d.outputs
	flags := []string{"--stack", "shop", "--aws-endpoint", d.env.URL,
		"--instances-table", o["InstancesTableName"], "--executions-table", o["ExecutionsTableName"],
		"--contacts-table", o["ContactsTableName"], "--backfill-queue-url", o["BackfillQueueUrl"],
		"--queue-url", o["ChangesQueueUrl"], "--dlq-url", o["DeadLetterQueueUrl"],
		"--kms-key-id", o["SecretsKeyId"], "--webhook-base-url", "https://hooks.example.com"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"instance", "list"}, "deployed-shop"},
		{[]string{"instance", "show", "deployed-shop"}, "Deployed Shop"},
		{[]string{"pause", "deployed-shop"}, "paused"},
		{[]string{"instance", "show", "deployed-shop"}, "paused"},
		{[]string{"executions", "list", "deployed-shop", "--json"}, "[]"},
		{[]string{"dlq", "list"}, ""},
		{[]string{"backfill", "show", "deployed-shop", "no-plan"}, "does not exist"},
	} {
		out, err := apmcRun(append(tt.args, flags...)...)
		if err != nil && tt.args[0] == "backfill" {
			out = err.Error() // a plan that does not exist, read from the stack's contacts table
		} else if err != nil {
			t.Fatalf("apmc %s error = %v\n%s", strings.Join(tt.args, " "), err, out)
		}
		if !strings.Contains(out, tt.want) {
			t.Errorf("apmc %s printed %q, want it to contain %q", strings.Join(tt.args, " "), out, tt.want)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("with every resource given by flag, apmc called DescribeStacks %d times, want 0", n)
	}
}

func TestFillFromOutputs(t *testing.T) {
	outputs := map[string]string{
		"ApiUrl": "https://api.example.com", "InstancesTableName": "s-instances", "ExecutionsTableName": "s-executions",
		"ContactsTableName": "s-contacts", "ChangesQueueUrl": "https://sqs/q.fifo", "DeadLetterQueueUrl": "https://sqs/dlq.fifo",
		"SecretsKeyId": "key-1", "SecretsKeyAlias": "alias/s-secrets",
	}
	tests := []struct {
		name    string
		flags   []string
		outputs map[string]string
		want    resources
	}{
		{
			name: "every resource from the outputs", outputs: outputs,
			want: resources{instancesTable: "s-instances", executionsTable: "s-executions", contactsTable: "s-contacts", queueURL: "https://sqs/q.fifo",
				dlqURL: "https://sqs/dlq.fifo", kmsKeyID: "key-1", webhookBaseURL: "https://api.example.com"},
		},
		{
			name: "flags win", outputs: outputs, flags: []string{"-instances-table", "mine", "-kms-key-id", "alias/mine", "-webhook-base-url", "https://custom.example.com"},
			want: resources{instancesTable: "mine", executionsTable: "s-executions", contactsTable: "s-contacts", queueURL: "https://sqs/q.fifo",
				dlqURL: "https://sqs/dlq.fifo", kmsKeyID: "alias/mine", webhookBaseURL: "https://custom.example.com"},
		},
		{
			name: "the key alias when no key id is output", outputs: map[string]string{"SecretsKeyAlias": "alias/s-secrets"},
			want: resources{kmsKeyID: "alias/s-secrets"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("APMC_KMS_KEY_ID", "")
			t.Setenv("APMC_WEBHOOK_BASE_URL", "")
			t.Setenv("APMC_INSTANCES_TABLE", "")
			t.Setenv("APMC_CONTACTS_TABLE", "")
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			f := addTargetFlags(fs)
			if err := fs.Parse(tt.flags); err != nil {
				t.Fatal(err)
			}
			f.fillFromOutputs(tt.outputs)
			got := resources{instancesTable: f.instancesTable, executionsTable: f.executionsTable, contactsTable: f.contactsTable, queueURL: f.queueURL,
				dlqURL: f.dlqURL, kmsKeyID: f.kmsKeyID, webhookBaseURL: f.webhookBaseURL}
			if got != tt.want {
				t.Errorf("fillFromOutputs(%v) with flags %v = %+v, want %+v", tt.outputs, tt.flags, got, tt.want)
			}
		})
	}
}
