# apmc — accessplanit ⇄ Mailchimp sync.
#   make run     the whole system locally (simulated Mailchimp and accessplanit)
#   make test    the lint, then every test, with the servers they need started and stopped
#   make lint    gofmt, go vet and golangci-lint (.golangci.yml): must report nothing
SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools/bin
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
GOLANGCI_LINT_VERSION := v2.15.0
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w'
FUZZTIME ?= 30s

.PHONY: run test test-unit bench fuzz lint build deploy tools clean

run:
	$(GO) run ./cmd/apmc local

# test starts DynamoDB Local (for the conformance tests) and makes the Lambda
# runtime interface emulator available, runs every test, and stops what it started.
test: tools
	@bash infra/test.sh

# test-unit runs what needs no server but kumo (in-process).
test-unit:
	$(GO) test ./...

# bench runs every benchmark once as configured; the load tests of one
# package together take longer than go test's default 10 minutes.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

# fuzz runs every fuzz target of every package for FUZZTIME each, and fails
# if there is none to run.
fuzz:
	@n=0; for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' "$$pkg" | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
			n=$$((n + 1)); \
		done; \
	done; \
	test $$n -gt 0 || { echo "no fuzz target found"; exit 1; }; echo "$$n fuzz targets run"

# lint checks formatting, runs go vet, then golangci-lint with .golangci.yml;
# any finding fails it (and so fails make test).
lint: $(TOOLS)/golangci-lint
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(TOOLS)/golangci-lint run ./...

tools: $(TOOLS)/aws-lambda-rie $(TOOLS)/golangci-lint

$(TOOLS)/aws-lambda-rie:
	GOBIN=$(TOOLS) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

# Installed once; delete .tools/bin/golangci-lint after changing the version.
$(TOOLS)/golangci-lint:
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# SAM runs build-<LogicalId> for functions with BuildMethod: makefile.
ARTIFACTS_DIR ?= $(CURDIR)/bin/$@
build: build-IngestAccessplanitFunction build-IngestMailchimpFunction build-SyncFunction build-ExecutionsFunction build-ReconcileFunction build-BackfillFunction

build-IngestAccessplanitFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/ingest-accessplanit
build-IngestMailchimpFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/ingest-mailchimp
build-SyncFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sync
build-BackfillFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/backfill
build-ExecutionsFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/executions
build-ReconcileFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/reconcile

deploy:
	sam build
	sam deploy --guided --config-file infra/samconfig.toml

clean:
	rm -rf bin .aws-sam
