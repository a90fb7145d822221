// Package app builds the deployable functions. Each deployable has one
// constructor, in a package of its own below this one, that turns the
// function's typed configuration and the process's AWS clients into a ready
// handler:
//
//   - ingestapp: the two webhook functions (ingest-accessplanit,
//     ingest-mailchimp);
//   - syncapp: the sync function, fed by the changes queue;
//   - executionsapp: the operators' API and console (the executions
//     function), and the operations over a deployment's stores that the CLI
//     shares.
//
// A function's main, the local stack and the tests all call that one
// constructor, so the dependency graph of each function is written once.
// A package per deployable keeps each Lambda binary free of the others'
// code: the ingest functions carry neither the console nor the API clients.
//
// This package holds what they share: the AWS clients a process builds
// once, the dependencies a function is handed rather than reads from its
// environment, and the reading of settings from the environment.
package app

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Clients are the AWS clients a process builds once (per cold start, or per
// local stack) and hands to every function it runs.
type Clients struct {
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	KMS      *kms.Client
}

// NewClients builds the clients from cfg. endpoint, when set, replaces
// AWS's endpoint for all three: a compatible server such as kumo.
func NewClients(cfg aws.Config, endpoint string) Clients {
	var at *string
	if endpoint != "" {
		at = aws.String(endpoint)
	}
	return Clients{
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			if at != nil {
				o.BaseEndpoint = at
			}
		}),
		SQS: sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			if at != nil {
				o.BaseEndpoint = at
			}
		}),
		KMS: kms.NewFromConfig(cfg, func(o *kms.Options) {
			if at != nil {
				o.BaseEndpoint = at
			}
		}),
	}
}

// Deps are what a function is handed rather than reads from its
// environment.
type Deps struct {
	AWS Clients
	// Logger receives the function's logs; nil discards them.
	Logger *slog.Logger
	// Instances, when set, is the instance cache the function reads
	// instances through instead of building its own from its configuration.
	// The local stack runs every function in one process and gives the sync
	// and executions functions one cache, so forgetting an instance there
	// reaches both. (The ingest functions read only webhook credentials,
	// through a cache of their own.)
	Instances *apmc.CachedInstances
}

// Log returns the logger, never nil.
func (d Deps) Log() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}
