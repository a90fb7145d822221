// Package functions holds no code of its own: it is the home of the test that
// packages the four Lambda functions below it (ingest-accessplanit,
// ingest-mailchimp, sync and executions) as the deployment builds them —
// static "bootstrap" binaries for the provided.al2023 runtime — checks their
// size, and runs each under the AWS Lambda runtime interface emulator with
// the sample events in <function>/testdata, against a kumo server (DynamoDB,
// SQS, KMS) and the Mailchimp and accessplanit simulators.
//
// The emulator's path comes from APMC_RIE; without it the emulator test is
// skipped, or fails when APMC_REQUIRE_SERVERS=1. Install it with:
//
//	GOBIN=$PWD/.tools/bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
//	APMC_RIE=$PWD/.tools/bin/aws-lambda-rie go test ./functions/
//
// The sample events are the payloads API Gateway (HTTP API, payload format
// 2.0) and SQS hand to the functions. The test replaces only placeholders in
// them: {{instance_id}} and {{token}} (the seeded instance and its webhook
// path token) and, in the SQS event, {{group_id}} and {{dedup_id}} (the FIFO
// message group and deduplication ids the producer would have set).
package functions
