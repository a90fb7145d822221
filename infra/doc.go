// Package infra holds the checks on the deployment description: its tests
// hold template.yaml (the AWS SAM template at the repository root) to the
// product's architecture — four Go functions on provided.al2023/arm64, a
// FIFO change queue with a dead-letter queue, three DynamoDB tables, a KMS
// key for secrets, alarms — and to per-function least privilege, so that
// every new permission is a deliberate edit of both the template and a test.
//
// The package has no code of its own; infra/samconfig.toml holds the
// defaults for `sam deploy --guided --config-file infra/samconfig.toml`.
package infra
