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

.PHONY: all synth test lint fmt vet clean bench bench-scale nag FORCE

# The app binary make synth and make nag hand to the CLI. cdk.json's
# "go run ." stays for people who call cdk directly, but it re-checks the
# build on every synth (~0.35 s); this one is rebuilt only when a source it is
# built from changes: the module's Go files that main imports (go list -deps,
# so a test file, the Lambda's main or bench/ do not count; the Lambda is
# bundled by synth itself), go.mod and go.sum. GOFLAGS=-trimpath works: the
# stacks find the repository from the working directory, not from their source
# files' paths. APP_SRCS runs go list at most once per make, and only when a
# target needs it (the eval caches it).
APP_LIST = go list -e -deps -f '{{with .Module}}{{if .Main}}{{range $$.GoFiles}}{{$$.Dir}}/{{.}} {{end}}{{range $$.CgoFiles}}{{$$.Dir}}/{{.}} {{end}}{{range $$.EmbedFiles}}{{$$.Dir}}/{{.}} {{end}}{{end}}{{end}}' .
APP_SRCS = $(eval APP_SRCS := $$(shell $$(APP_LIST)))$(APP_SRCS)

all: test synth

# npm ci runs only when package-lock.json changed since the last install.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# bin/scopegate.srcs lists those files and is rewritten only when the list
# changes, so a file added to or removed from an imported package rebuilds the
# binary too, which file dates alone would miss.
bin/scopegate.srcs: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' $(APP_SRCS) go.mod go.sum > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

# go build leaves an up-to-date binary alone, so touch it: otherwise a source
# saved without changes would make every later synth run go build again.
.SECONDEXPANSION:
bin/scopegate: bin/scopegate.srcs $$(APP_SRCS) go.mod go.sum
	go build -o $@ .
	@touch $@

# The commands under cmd/ (bin/verify, the post-deploy verifier; bin/clients,
# the client report and emergency suspend/resume; bin/local, make local's
# emulator) are built the same way, each from the files ./cmd/<name>
# imports. Users run the binaries, not go run ./cmd/<name>: go run reports
# any non-zero exit status of the program as 1, and the commands' 2 ("cannot
# tell") must stay distinct from their 1 ("mismatch", "flagged").
CMD_SRCS = $(shell go list -e -deps -f '{{with .Module}}{{if .Main}}{{range $$.GoFiles}}{{$$.Dir}}/{{.}} {{end}}{{range $$.CgoFiles}}{{$$.Dir}}/{{.}} {{end}}{{range $$.EmbedFiles}}{{$$.Dir}}/{{.}} {{end}}{{end}}{{end}}' ./cmd/$(1))

# Kept between runs: make would delete them as intermediate files.
.PRECIOUS: bin/%.srcs
bin/%.srcs: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' $(call CMD_SRCS,$*) go.mod go.sum > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

bin/%: bin/%.srcs $$(call CMD_SRCS,$$*) go.mod go.sum
	go build -o $@ ./cmd/$*
	@touch $@

.PHONY: local
## local: synthesize when a source changed, build bin/local, and run every stack of cdk.out on 127.0.0.1 (token endpoints, APIs, functions, dynalite; see docs/local.md); PORT_BASE=n moves the ports, DATA=dir keeps the tables
local: synth bin/local
	bin/local -assembly cdk.out $(if $(PORT_BASE),-port-base $(PORT_BASE)) $(if $(DATA),-data $(DATA))

.PHONY: verify
## verify: build bin/verify when a source changed and check the deployed stack STACK (default WeatherEvents); make exits 2 on any failure, so scripts that need 0/1/2 run bin/verify itself
verify: bin/verify
	bin/verify -stack $(or $(STACK),WeatherEvents)

## synth: install the pinned CDK CLI when needed, build bin/scopegate when a source changed, and synthesize every stack into cdk.out
synth: node_modules/.package-lock.json bin/scopegate
	$(CDK) synth --quiet --app bin/scopegate

## test: check formatting and vet, then run every test, the consumer example module's included
test: lint node_modules/.package-lock.json
	go test ./...
	cd examples/consumer && go vet ./... && go test ./...

## lint: gofmt must have nothing to change, and go vet must be clean
lint:
	@unformatted=$$(gofmt -l $(GO_FILES)); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...

## fmt: format every Go file
fmt:
	gofmt -w $(GO_FILES)

clean:
	rm -rf cdk.out .cdk.staging bin

## bench: measure synth, tests, Lambda size, handler and client, synth at scale, the function and make local (one section alone: make bench-scale, bench-function, bench-local); prints one table (PREVIOUS=file compares handler benchmarks with benchstat)
bench: node_modules/.package-lock.json
	go run ./bench $(if $(PREVIOUS),-previous $(PREVIOUS))

## nag: synthesize with the cdk-nag AwsSolutions and Serverless packs on; an unsuppressed finding fails
nag: node_modules/.package-lock.json bin/scopegate
	$(CDK) synth --quiet --app bin/scopegate -c scopegate:nag=true

## bench-scale: only the bench's scale section: synth time and template sizes for many clients and routes (SCALE_RUNS=n, default 3)
bench-scale: node_modules/.package-lock.json
	go run ./bench -only scale $(if $(SCALE_RUNS),-scale-runs $(SCALE_RUNS))

.PHONY: bench-jsii
## bench-jsii: only the jsii call counts of the scale section: calls per client and per route, and the groups they come from (JSII_DEBUG=1)
bench-jsii: node_modules/.package-lock.json
	go run ./bench -only jsii $(if $(SCALE_MAX),-scale-max $(SCALE_MAX))

.PHONY: bench-local
## bench-local: only the bench's local section: make local's ready-to-serve time on a synthesized assembly (warm) and p50/p99 of GET / and POST / through the local token check, authorizer, function and dynalite
bench-local: node_modules/.package-lock.json
	go run ./bench -only local

.PHONY: bench-mirror
## bench-mirror: only the bench's mirror section: the default app and bench/scaleapp against the same apps in plain JavaScript (bench/jsmirror, npm ci when needed): every template compared, then synth times alternated Go, JS for the default app and the scale app at 1 client/10 routes, 1,000/10 and 1,000/300 (MIRROR_RUNS=n, default 3, 0 compares only; SCALE_MAX=10 keeps the smallest scale size; MIRROR_CREATION_STACKS=false: the JavaScript apps without creation stack traces, as the Go apps; MIRROR_JS_NODE_FLAGS="--single-threaded-gc --liftoff-only": the JavaScript apps' node with the flags the Go apps' jsii kernel has)
bench-mirror: node_modules/.package-lock.json
	go run ./bench -only mirror $(if $(MIRROR_RUNS),-mirror-runs $(MIRROR_RUNS)) $(if $(SCALE_MAX),-scale-max $(SCALE_MAX)) $(if $(MIRROR_CREATION_STACKS),-mirror-creation-stacks=$(MIRROR_CREATION_STACKS)) $(if $(MIRROR_JS_NODE_FLAGS),-mirror-js-node-flags="$(MIRROR_JS_NODE_FLAGS)")

.PHONY: bench-function
## bench-function: only the bench's function section: the built weather-events bootstrap behind a local Lambda Runtime API against dynalite (latency, 503s when storage hangs or is down, cold start) and its arm64 size
bench-function: node_modules/.package-lock.json
	go run ./bench -only function
