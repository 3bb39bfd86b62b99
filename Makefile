# Every command a newcomer needs. The README's commands are these targets, and
# .ci/run calls them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Node 20 is what the build machines have; jsii and the CDK CLI print a large
# end-of-life banner for it on every run. Users should run Node 22 or 24.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true

CDK := node_modules/.bin/cdk
GO_FILES = $(shell git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')

.PHONY: all synth test lint fmt vet clean bench nag

all: test synth

# npm ci runs only when package-lock.json changed since the last install.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## synth: install the pinned CDK CLI when needed and synthesize every stack into cdk.out
synth: node_modules/.package-lock.json
	$(CDK) synth --quiet

## test: check formatting and vet, then run every test
test: lint node_modules/.package-lock.json
	go test ./...

## lint: gofmt must have nothing to change, and go vet must be clean
lint:
	@unformatted=$$(gofmt -l $(GO_FILES)); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...

## fmt: format every Go file
fmt:
	gofmt -w $(GO_FILES)

clean:
	rm -rf cdk.out .cdk.staging

## bench: measure synth, tests, Lambda size, handler and client; prints one table (PREVIOUS=file compares handler benchmarks with benchstat)
bench: node_modules/.package-lock.json
	go run ./bench $(if $(PREVIOUS),-previous $(PREVIOUS))

## nag: synthesize with the cdk-nag AwsSolutions and Serverless packs on; an unsuppressed finding fails
nag: node_modules/.package-lock.json
	$(CDK) synth --quiet -c scopegate:nag=true
