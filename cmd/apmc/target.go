package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/app/backfillapp"
	"github.com/apmc-sync/apmc/internal/app/executionsapp"
	"github.com/apmc-sync/apmc/internal/app/reconcileapp"
	"github.com/apmc-sync/apmc/internal/awsconfig"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/connector"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/local"
	"github.com/apmc-sync/apmc/internal/ops"
)

// defaultLocalFile is where `apmc local` writes the local stack's facts.
const defaultLocalFile = ".apmc/local.json"

// targetFlags select the deployment a command works on: the local stack
// (its state file) or a stack deployed on AWS (named resources).
type targetFlags struct {
	local           bool
	localFile       string
	stack           string
	awsEndpoint     string
	instancesTable  string
	executionsTable string
	contactsTable   string
	backfillQueue   string
	queueURL        string
	dlqURL          string
	kmsKeyID        string
	webhookBaseURL  string
}

// addTargetFlags registers the target selection flags on fs.
func addTargetFlags(fs *flag.FlagSet) *targetFlags {
	f := &targetFlags{}
	fs.BoolVar(&f.local, "local", false, "work on the local stack (the default when its state file exists and no -stack is given)")
	fs.StringVar(&f.localFile, "local-file", envOr("APMC_LOCAL_FILE", defaultLocalFile), "the local stack's state file")
	fs.StringVar(&f.stack, "stack", envOr("APMC_STACK", ""), "work on the stack deployed on AWS under this name; its outputs (CloudFormation DescribeStacks) give the resources no flag names")
	fs.StringVar(&f.awsEndpoint, "aws-endpoint", envOr("APMC_AWS_ENDPOINT", ""), "DynamoDB/SQS/KMS endpoint override (AWS mode)")
	fs.StringVar(&f.instancesTable, "instances-table", envOr("APMC_INSTANCES_TABLE", ""), "instances table (stack output InstancesTableName)")
	fs.StringVar(&f.executionsTable, "executions-table", envOr("APMC_EXECUTIONS_TABLE", ""), "executions table (stack output ExecutionsTableName)")
	fs.StringVar(&f.contactsTable, "contacts-table", envOr("APMC_CONTACTS_TABLE", ""), "contacts table, also holding first-sync plans and jobs (stack output ContactsTableName)")
	fs.StringVar(&f.backfillQueue, "backfill-queue-url", envOr("APMC_BACKFILL_QUEUE_URL", ""), "first-sync job queue URL (stack output BackfillQueueUrl); backfill start needs it")
	fs.StringVar(&f.queueURL, "queue-url", envOr("APMC_QUEUE_URL", ""), "changes queue URL (stack output ChangesQueueUrl)")
	fs.StringVar(&f.dlqURL, "dlq-url", envOr("APMC_DLQ_URL", ""), "dead-letter queue URL (stack output DeadLetterQueueUrl)")
	fs.StringVar(&f.kmsKeyID, "kms-key-id", envOr("APMC_KMS_KEY_ID", ""), "KMS key sealing secrets (stack output SecretsKeyId; default alias/<stack>-secrets)")
	fs.StringVar(&f.webhookBaseURL, "webhook-base-url", envOr("APMC_WEBHOOK_BASE_URL", ""), "base URL the webhooks are served under (stack output ApiUrl)")
	return f
}

// target is an opened deployment: its stores, queues and operations.
type target struct {
	// Name says which deployment it is, for messages.
	Name       string
	Instances  *dynamo.InstanceStore
	Executions *dynamo.ExecutionStore
	Ops        *ops.Service
	// Reconcile reconciles instances; nil when the deployment's contacts
	// table is unknown.
	Reconcile *reconcileapp.Function
	// Backfill plans and applies first syncs; nil when the contacts table
	// is unknown.
	Backfill *backfill.Service
	// WebhookBaseURL is where /webhooks/… is served; empty when unknown.
	WebhookBaseURL string
	// HTTP calls Mailchimp, accessplanit and the webhook endpoints.
	HTTP *http.Client
}

// useLocal reports whether the flags select the local stack.
func (f *targetFlags) useLocal() bool {
	if f.local {
		return true
	}
	if f.stack != "" {
		return false
	}
	_, err := os.Stat(f.localFile)
	return err == nil
}

// open builds the clients for the selected deployment.
func (f *targetFlags) open(ctx context.Context) (*target, error) {
	if f.local && f.stack != "" {
		return nil, errors.New("give either -local or -stack, not both")
	}
	if f.useLocal() {
		return f.openLocal(ctx)
	}
	if f.stack == "" {
		return nil, fmt.Errorf("no target: start the local stack (make run) so %s exists, or pass -stack NAME (its outputs name the resources)", f.localFile)
	}
	return f.openAWS(ctx)
}

func (f *targetFlags) openLocal(ctx context.Context) (*target, error) {
	info, err := local.ReadInfo(f.localFile)
	if err != nil {
		return nil, err
	}
	a := info.AWS
	if a.Endpoint == "" || a.InstancesTable == "" {
		return nil, fmt.Errorf("%s names no AWS endpoint or instances table", f.localFile)
	}
	cfg := awsconfig.Local()
	if !loopback(a.Endpoint) {
		// `apmc local -aws-endpoint` on a shared server used the default
		// credential chain; so does the CLI.
		if cfg, err = awsconfig.Load(ctx); err != nil {
			return nil, err
		}
	}
	if a.Region != "" {
		cfg.Region = a.Region
	}
	base := strings.TrimSuffix(strings.TrimRight(info.APIURL, "/"), "/api")
	return build(cfg, a.Endpoint, resources{
		name: "local stack (" + f.localFile + ")", instancesTable: a.InstancesTable, executionsTable: a.ExecutionsTable, contactsTable: a.ContactsTable,
		backfillQueueURL: a.BackfillQueueURL,
		queueURL:         a.QueueURL, dlqURL: a.DeadLetterURL, kmsKeyID: a.KMSKeyID, webhookBaseURL: base,
	})
}

func (f *targetFlags) openAWS(ctx context.Context) (*target, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	if f.needOutputs() {
		// CloudFormation is always AWS's (or AWS_ENDPOINT_URL_CLOUDFORMATION):
		// -aws-endpoint names a DynamoDB/SQS/KMS server only.
		outputs, err := stackOutputs(ctx, cloudformation.NewFromConfig(cfg), f.stack)
		if err != nil {
			return nil, fmt.Errorf("%w (or give -instances-table, -executions-table and -queue-url)", err)
		}
		f.fillFromOutputs(outputs)
	}
	var missing []string
	for _, r := range []struct{ v, flag, env string }{
		{f.instancesTable, "-instances-table", "APMC_INSTANCES_TABLE"},
		{f.executionsTable, "-executions-table", "APMC_EXECUTIONS_TABLE"},
		{f.queueURL, "-queue-url", "APMC_QUEUE_URL"},
	} {
		if r.v == "" {
			missing = append(missing, r.flag+" (or "+r.env+")")
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("stack %s: its outputs name no %s; give them", f.stack, strings.Join(missing, ", "))
	}
	key := f.kmsKeyID
	if key == "" {
		key = "alias/" + f.stack + "-secrets"
	}
	return build(cfg, f.awsEndpoint, resources{
		name: "stack " + f.stack, instancesTable: f.instancesTable, executionsTable: f.executionsTable, contactsTable: f.contactsTable,
		backfillQueueURL: f.backfillQueue,
		queueURL:         f.queueURL, dlqURL: f.dlqURL, kmsKeyID: key, webhookBaseURL: strings.TrimRight(f.webhookBaseURL, "/"),
	})
}

// resources name a deployment's tables, queues and key.
type resources struct {
	name, instancesTable, executionsTable, contactsTable, queueURL, dlqURL, kmsKeyID, webhookBaseURL string
	// backfillQueueURL is the first-sync job queue; empty, a first sync can
	// only run in the CLI's own process.
	backfillQueueURL string
}

// build opens the deployment's stores and operations, as the executions
// function builds them but with the secrets key; endpoint, when set,
// replaces AWS's.
func build(cfg aws.Config, endpoint string, r resources) (*target, error) {
	clients := app.NewClients(cfg, endpoint)
	operations, err := executionsapp.NewOps(executionsapp.OpsConfig{
		InstancesTable: r.instancesTable, ExecutionsTable: r.executionsTable, ContactsTable: r.contactsTable,
		QueueURL: r.queueURL, DeadLetterURL: r.dlqURL, KMSKeyID: r.kmsKeyID,
	}, clients)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	var reconciler *reconcileapp.Function
	if r.contactsTable != "" {
		reconciler, err = reconcileapp.New(reconcileapp.Config{
			InstancesTable: r.instancesTable, ContactsTable: r.contactsTable, QueueURL: r.queueURL, KMSKeyID: r.kmsKeyID,
		}, app.Deps{AWS: clients})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
	}
	var first *backfill.Service
	if r.contactsTable != "" {
		// Built as the backfill function builds it: first sync calls both
		// systems with the instance's own keys, opened with the KMS key.
		first, err = backfillapp.NewService(backfillapp.Config{
			InstancesTable: r.instancesTable, ExecutionsTable: r.executionsTable, ContactsTable: r.contactsTable,
			BackfillQueueURL: r.backfillQueueURL, KMSKeyID: r.kmsKeyID,
		}, app.Deps{AWS: clients})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
	}
	return &target{
		Reconcile:      reconciler,
		Backfill:       first,
		Name:           r.name,
		Instances:      operations.Instances,
		Executions:     operations.Executions,
		Ops:            operations.Service,
		WebhookBaseURL: r.webhookBaseURL,
		// The same bound as the sync function's calls to the same APIs.
		HTTP: &http.Client{Timeout: connector.DefaultTimeout},
	}, nil
}

// loopback reports whether an endpoint URL names this machine.
func loopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
}
