// Package local runs the whole system in one process: DynamoDB, SQS and KMS
// (embedded kumo, or servers at a configured endpoint), both webhook
// endpoints, the sync consumer polling the queue as Lambda's event source
// mapping does, the executions API, and simulators of Mailchimp and
// accessplanit (unless real ones are configured), with a demo instance. Each
// function is built by the constructor its Lambda function uses (internal/app).
package local
