#!/usr/bin/env bash
# test.sh — what `make test` runs: runs the lint (gofmt, go vet and
# golangci-lint, as `make lint`), starts DynamoDB Local on 127.0.0.1, runs
# every test with the servers required (a missing one fails instead of
# skipping), and stops DynamoDB Local whatever happens.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

start=$(date +%s)
# A lint finding fails the run before any test starts.
make --no-print-directory lint
trap 'infra/dynamodb-local.sh stop >/dev/null 2>&1 || true' EXIT
eval "$(infra/dynamodb-local.sh start)"

export APMC_REQUIRE_SERVERS=1
export APMC_RIE="$root/.tools/bin/aws-lambda-rie"
export AWS_EC2_METADATA_DISABLED=true
# The console's browser test drives Debian's chromium (installed here in CI, as root).
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
export APMC_CHROMIUM=$(command -v chromium)
# The load and throughput tests measure the machine: they run after the
# others, alone, so other packages' tests do not skew them.
go test -count=1 -timeout 20m $(go list ./... | grep -v /internal/loadtest)
# The Lambda build (-tags lambda.norpc) refuses plain http even to loopback,
# and notification URLs naming its own network by IP:
# its own tests, compiled as the deployed functions are.
go test -count=1 -tags lambda.norpc -run 'LoopbackHTTP|CheckBaseURL|CheckRedirect|NotificationURLRefusesInternalHosts' ./internal/apmc ./internal/connector
go test -count=1 -timeout 10m ./internal/loadtest
echo "make test: $(( $(date +%s) - start )) s"
