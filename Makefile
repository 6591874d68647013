# cloudcockpit-facade: `make help` lists the targets.
# Every tool is pinned: code generators in go.mod (tool directives, same versions
# as the runtime libraries), buf/grpcurl and friends in tools/go.mod.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
BIN := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)
GO ?= go
# Build tags for every go command make runs (exported through GOFLAGS, so the
# binaries that tests, benchmarks and load runs build for themselves get them too).
# grpcnotrace: grpc-go leaves out golang.org/x/net/trace, which the facade never
# enables (grpc.EnableTracing); without its html/template the linker can drop
# unused methods again: a binary 4.6 MB smaller, about 3 MiB less resident
# (docs/performance.md). The Dockerfile sets the same; `make docker-check` checks both.
# The GOFLAGS already in effect (environment or `go env -w`) are kept, after the tag.
GO_TAGS := grpcnotrace
export GOFLAGS := -tags=$(GO_TAGS) $(filter-out -tags=$(GO_TAGS),$(shell $(GO) env GOFLAGS))
GOOGLEAPIS_MOD := github.com/grpc-ecosystem/grpc-gateway@v1.16.0
# google/api/field_behavior.proto is not in v1.16.0's third_party/googleapis;
# v2.2.0's has it. buf/validate/validate.proto comes out of protovalidate's
# own module (the version the Go runtime buf.build/go/protovalidate v1.4.1 uses).
FIELD_BEHAVIOR_MOD := github.com/grpc-ecosystem/grpc-gateway/v2@v2.2.0
PROTOVALIDATE_MOD := github.com/bufbuild/protovalidate@v1.2.2
GEN_TOOLS := google.golang.org/protobuf/cmd/protoc-gen-go \
	google.golang.org/grpc/cmd/protoc-gen-go-grpc \
	github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
	github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2
EXT_TOOLS := github.com/bufbuild/buf/cmd/buf \
	github.com/fullstorydev/grpcurl/cmd/grpcurl

# NET runs a step that needs the network (module downloads, apt, npm) under
# `timeout`, printing its log when it fails: `$(NET) NAME SECONDS COMMAND...`.
NET := $(CURDIR)/.ci/netstep
NET_TIMEOUT ?= 600

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: tools
tools: ## Build the pinned tools into .bin/ (needs only the Go module proxy).
	@mkdir -p $(BIN)
	$(NET) go-mod-download $(NET_TIMEOUT) $(GO) mod download
	cd tools && $(NET) tools-mod-download $(NET_TIMEOUT) $(GO) mod download
	$(GO) build -o $(BIN)/ $(GEN_TOOLS)
	cd tools && $(GO) build -o $(BIN)/ $(EXT_TOOLS)

.PHONY: grpcurl
grpcurl: ## Build only grpcurl (the version pinned in tools/go.mod) into .bin/grpcurl, for the README's examples.
	@mkdir -p $(BIN)
	cd tools && $(NET) grpcurl $(NET_TIMEOUT) $(GO) build -o $(BIN)/ github.com/fullstorydev/grpcurl/cmd/grpcurl
	@echo "grpcurl: $(BIN)/grpcurl (or: export PATH=\"$(BIN):\$$PATH\")"

.PHONY: buf
buf: ## Build only buf (the version pinned in tools/go.mod) into .bin/buf, for the end-to-end tests' buf curl.
	@mkdir -p $(BIN)
	cd tools && $(NET) buf $(NET_TIMEOUT) $(GO) build -o $(BIN)/ github.com/bufbuild/buf/cmd/buf

.PHONY: googleapis
googleapis: ## Copy google/api/{annotations,http,field_behavior}.proto, google/rpc and buf/validate/validate.proto out of Go modules into build/ (not committed).
	@$(NET) googleapis-download $(NET_TIMEOUT) $(GO) mod download $(GOOGLEAPIS_MOD) $(FIELD_BEHAVIOR_MOD) $(PROTOVALIDATE_MOD)
	@moddir() { $(GO) mod download -json $$1 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'; }; \
	dir=$$(moddir $(GOOGLEAPIS_MOD)); fb=$$(moddir $(FIELD_BEHAVIOR_MOD)); pv=$$(moddir $(PROTOVALIDATE_MOD)); \
	test -n "$$dir" -a -n "$$fb" -a -n "$$pv" || { echo "cannot download $(GOOGLEAPIS_MOD) $(FIELD_BEHAVIOR_MOD) $(PROTOVALIDATE_MOD)"; exit 1; }; \
	mkdir -p build/googleapis/google/api build/googleapis/google/rpc build/protovalidate/buf/validate; \
	install -m 0644 $$dir/third_party/googleapis/google/api/annotations.proto $$dir/third_party/googleapis/google/api/http.proto build/googleapis/google/api/; \
	install -m 0644 $$fb/third_party/googleapis/google/api/field_behavior.proto build/googleapis/google/api/; \
	install -m 0644 $$dir/third_party/googleapis/google/rpc/status.proto $$dir/third_party/googleapis/google/rpc/error_details.proto build/googleapis/google/rpc/; \
	install -m 0644 $$pv/proto/protovalidate/buf/validate/validate.proto build/protovalidate/buf/validate/

# The client packages of clients/ (docs/clients.md), by clients/buf.gen.yaml:
# Debian's protoc (pinned: PROTOC_VERSION, Debian 12's, so that the Python code
# loads on Debian 12's python3-protobuf) and grpc_python_plugin, installed with
# apt when missing; protoc-gen-es and tsc from clients/ts/package-lock.json.
PROTOC_VERSION ?= 3.21.12
CLIENT_DEBS := protobuf-compiler protobuf-compiler-grpc
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: client-tools
client-tools: clients/ts/node_modules/.package-lock.json ## Install the client generators: Debian's protoc (PROTOC_VERSION) and grpc_python_plugin when missing; npm ci in clients/ts.
	@missing=$$(for p in $(CLIENT_DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then $(NET) client-apt-update $(NET_TIMEOUT) $(SUDO) apt-get update && \
	  $(NET) client-apt-install $(NET_TIMEOUT) $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; fi
	@protoc --version | grep -qx 'libprotoc $(PROTOC_VERSION)' || { echo "protoc is '$$(protoc --version)', not $(PROTOC_VERSION) (Debian 12's): Python code from another protoc may not load on python3-protobuf 3.21"; exit 1; }

clients/ts/node_modules/.package-lock.json: clients/ts/package-lock.json
	cd clients/ts && $(NET) clients-ts-npm-ci $(NET_TIMEOUT) npm ci --ignore-scripts --no-audit --no-fund

.PHONY: generate
generate: tools client-tools googleapis ## Regenerate gen/ (Go, gRPC, gateway, OpenAPI 2.0 and 3.0, descriptor set with comments) and the client packages of clients/ from proto/.
	buf format -w proto
	buf generate
	buf generate --template internal/gateway/openapi.buf.gen.yaml
	cd tools && $(GO) run ./openapiv3 ../internal/gateway/openapi.swagger.json ../internal/gateway/openapi.v3.json
	buf build proto --exclude-imports -o internal/descriptor/cloudcockpit.binpb
	rm -rf clients/ts/src/gen clients/ts/dist && find clients/python/src -name '*_pb2*.py*' -delete
	buf generate --template clients/buf.gen.yaml
	clients/ts/node_modules/.bin/tsc -p clients/ts

.PHONY: check-generate
check-generate: generate ## Fail when gen/ or formatting differs from what is committed.
	@git diff --exit-code -- gen proto internal/descriptor internal/gateway/openapi.swagger.json internal/gateway/openapi.v3.json clients || { echo "gen/ is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- gen proto internal/descriptor internal/gateway/openapi.swagger.json internal/gateway/openapi.v3.json clients)" || { git status --porcelain -- gen proto internal/descriptor internal/gateway/openapi.swagger.json internal/gateway/openapi.v3.json clients; echo "gen/ has untracked files: run 'make generate' and commit"; exit 1; }

.PHONY: lint-proto
lint-proto: tools googleapis ## buf lint.
	buf lint

.PHONY: vet
vet: ## go vet.
	$(GO) vet ./...

.PHONY: test
test: grpcurl buf ## Run every test: unit and in-process (with -race), then the built binary end to end.
	$(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory e2e test-deploy

.PHONY: e2e
e2e: grpcurl buf ## End-to-end tests: build cmd/server and drive it with grpcurl and HTTP; run the README's grpcurl and curl examples.
	$(GO) test -tags e2e -count=1 ./e2e/

.PHONY: test-deploy
test-deploy: ## Validate the Kubernetes manifests offline (strict decode into k8s.io/api types) and deploy/monitoring (rules, dashboard, metrics a live server exports).
	cd deploy && $(NET) deploy-mod-download $(NET_TIMEOUT) $(GO) mod download
	cd deploy && $(GO) test -count=1 ./...

# Monitoring: deploy/monitoring/ holds the Prometheus rules (plain
# file and PrometheusRule), their promtool unit tests, the ServiceMonitor and
# the Grafana dashboard; docs/operations.md the SLOs and runbooks. promtool
# comes out of Debian's prometheus package, pinned, unpacked into .bin/ with
# dpkg-deb: installing the package would start a Prometheus server on 9090,
# the facade's gRPC port.
# Pinned by upstream version: Debian's revision of it (2.42.0+ds-5+deb12u1, ...)
# changes with security updates, and only the newest one stays downloadable.
PROMTOOL_VERSION ?= 2.42.0

.PHONY: promtool
promtool: ## Unpack promtool from Debian's prometheus package (pinned: PROMTOOL_VERSION) into .bin/; installs and starts no server.
	@if $(BIN)/promtool --version 2>/dev/null | grep -q 'version $(PROMTOOL_VERSION)'; then exit 0; fi; \
	mkdir -p $(BIN) build/promtool; rm -f build/promtool/*.deb; log=$(CURDIR)/build/promtool/apt.log; : >$$log; \
	download() { (cd build/promtool && timeout 300 apt-get download prometheus) >>$$log 2>&1; }; \
	download || { timeout 300 apt-get update >>$$log 2>&1 && download; } || { cat $$log; echo "cannot download Debian's prometheus package"; exit 1; }; \
	case "$$(basename build/promtool/prometheus_*.deb)" in prometheus_$(PROMTOOL_VERSION)+*) ;; *) echo "Debian's prometheus package is $$(basename build/promtool/prometheus_*.deb), not promtool $(PROMTOOL_VERSION): update PROMTOOL_VERSION after checking the rules tests"; exit 1;; esac; \
	dpkg-deb --fsys-tarfile build/promtool/prometheus_*.deb | tar -xO ./usr/bin/promtool >$(BIN)/promtool; \
	chmod +x $(BIN)/promtool; rm -rf build/promtool; $(BIN)/promtool --version | head -1

.PHONY: rules-check
rules-check: promtool ## promtool check rules and promtool test rules (deploy/monitoring/rules_test.yaml), offline.
	promtool check rules deploy/monitoring/rules.yaml
	cd deploy/monitoring && promtool test rules rules_test.yaml

.PHONY: monitoring-generate
monitoring-generate: ## Regenerate deploy/monitoring/prometheusrule.yaml from deploy/monitoring/rules.yaml.
	cd deploy && $(GO) test -count=1 -run '^TestPrometheusRuleIsGenerated$$' . -update

# `make plots` renders the dashboard's key panels from a real load run with
# injected upstream faults (tools/plots, its own module for gonum/plot) into
# docs/img/, shown in docs/operations.md. About 2.5 minutes.
PLOTS_BIN := $(CURDIR)/build/plots
PLOTS_FLAGS ?=

.PHONY: plots
plots: ## Load run (healthy, faulty, recovered upstream), scrape /metrics, render docs/img/ops-*.png (~2.5 min).
	@mkdir -p $(PLOTS_BIN)
	$(GO) build -o $(PLOTS_BIN)/ ./cmd/server ./cmd/sandbox
	cd tools/plots && $(GO) test -count=1 . && $(GO) run . -server-bin $(PLOTS_BIN)/server -sandbox-bin $(PLOTS_BIN)/sandbox -out $(CURDIR)/docs/img $(PLOTS_FLAGS)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)

.PHONY: test-certs
test-certs: ## Make a throw-away CA, server and client certificates in build/certs/ for trying TLS (openssl; docs/deployment.md).
	bash deploy/test-certs.sh build/certs

.PHONY: build
build: ## Build dist/cloudcockpit-facade (static, version and revision stamped).
	@mkdir -p dist
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o dist/cloudcockpit-facade ./cmd/server

.PHONY: docker-check
docker-check: ## Run the Dockerfile's build steps without Docker: static binary and health probe.
	@mkdir -p dist
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o dist/cloudcockpit-facade ./cmd/server
	CGO_ENABLED=0 GOBIN=$(CURDIR)/dist $(NET) grpc-health-probe $(NET_TIMEOUT) $(GO) install -trimpath -ldflags="-s -w" github.com/grpc-ecosystem/grpc-health-probe@v0.4.63
	@if ldd dist/cloudcockpit-facade >/dev/null 2>&1; then echo "dist/cloudcockpit-facade is not static"; exit 1; fi
	@$(GO) version -m dist/cloudcockpit-facade | grep -qx $$'\tbuild\t-tags=$(GO_TAGS)' || { echo "dist/cloudcockpit-facade was not built with -tags=$(GO_TAGS)"; exit 1; }
	@grep -q 'GOFLAGS=-tags=$(GO_TAGS)$$' Dockerfile || { echo "the Dockerfile does not build with GOFLAGS=-tags=$(GO_TAGS)"; exit 1; }
	@# A call of reflect's Method or MethodByName with a name known only at run time makes the
	@# linker keep every exported method of every type it keeps (x/net/trace's html/template
	@# did: 17 % of the binary). The linker's dependency dump marks such a call <ReflectMethod>.
	@if CGO_ENABLED=0 $(GO) build -ldflags=-dumpdep -o /dev/null ./cmd/server 2>&1 | grep -m1 '<ReflectMethod>'; then echo "the line above keeps every exported method in the binary (docs/performance.md#the-binary-without-golangorgxnettrace)"; exit 1; fi
	dist/cloudcockpit-facade -version

.PHONY: lint-tools
lint-tools: ## Build golangci-lint and govulncheck (pinned in tools/lint/go.mod) into .bin/.
	@mkdir -p $(BIN)
	cd tools/lint && $(NET) lint-mod-download $(NET_TIMEOUT) $(GO) mod download
	cd tools/lint && $(GO) build -o $(BIN)/ github.com/golangci/golangci-lint/v2/cmd/golangci-lint golang.org/x/vuln/cmd/govulncheck

.PHONY: lint
lint: lint-tools ## golangci-lint (explicit linters incl. gosec; see .golangci.yml).
	golangci-lint run ./...

.PHONY: vulncheck
vulncheck: lint-tools ## govulncheck against the Go vulnerability database (needs vuln.go.dev).
	timeout --kill-after=10 $(NET_TIMEOUT) govulncheck ./...

FUZZTIME ?= 10s
# Each new interesting input is minimized before fuzzing goes on, for up to 60 s by
# default; with large inputs (a whole reseller) the workers then sit at 0 execs/s for
# most of a short run. 100 executions of minimization keep them exploring.
FUZZMINIMIZETIME ?= 100x
.PHONY: fuzz
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" as -fuzztime ends, having found nothing (golang/go#75804, fixed in Go
# 1.27). Such a run wrote no failing input under testdata/fuzz/; it is reported and
# not counted as a failure. Any other failure, or a new failing input, fails.
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s), minimizing new inputs for FUZZMINIMIZETIME (100x).
	@for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    before=$$(ls "$$dir/testdata/fuzz/$$f" 2>/dev/null | wc -l || true); \
	    if out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg 2>&1); then \
	      printf '%s\n' "$$out"; continue; \
	    fi; \
	    printf '%s\n' "$$out"; \
	    after=$$(ls "$$dir/testdata/fuzz/$$f" 2>/dev/null | wc -l || true); \
	    if [ "$$after" = "$$before" ] && printf '%s\n' "$$out" | grep -qx '    context deadline exceeded'; then \
	      echo "fuzz $$f: Go's fuzz coordinator ended with 'context deadline exceeded' and no failing input (golang/go#75804); not a failure"; \
	    else exit 1; fi; \
	  done; \
	done

.PHONY: fmt-check
fmt-check: ## Fail when Go or proto files are not formatted.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt -w"; exit 1; }
	buf format --diff --exit-code proto

.PHONY: tidy-check
tidy-check: ## Fail when go.mod/go.sum are not tidy.
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff
	cd deploy && $(GO) mod tidy -diff
	cd tools/lint && $(GO) mod tidy -diff
	cd tools/plots && $(GO) mod tidy -diff
	cd tools/tracecall && $(GO) mod tidy -diff

# Interop and contract stability: docs/clients.md says how to call the API from each
# language; these targets prove it (interop/run.sh runs its snippets verbatim).
BREAKING_AGAINST ?= main

.PHONY: breaking
breaking: tools googleapis ## buf breaking (WIRE_JSON) of proto/ against the git ref $(BREAKING_AGAINST), offline.
	BREAKING_AGAINST='$(BREAKING_AGAINST)' bash interop/breaking.sh

.PHONY: interop
interop: tools googleapis ## Call the sandbox server from Python, Node, Go, grpcurl and curl; installs the Debian and npm packages it needs.
	BREAKING_AGAINST='$(BREAKING_AGAINST)' bash interop/run.sh

# Browsers: docs/browsers.md says how a page calls the facade; these
# targets prove it.
.PHONY: browser
browser: tools googleapis ## Headless Chromium on another origin calls the built facade over REST, Connect and gRPC-Web (installs chromium and npm packages).
	bash browser/run.sh

# Each linter must find no error; the warnings left are listed, with their
# reasons, in docs/rest-mirror.md. Redocly CLI sends no telemetry.
OPENAPI_DOCS := internal/gateway/openapi.swagger.json internal/gateway/openapi.v3.json

.PHONY: openapi-validate
openapi-validate: ## Lint /openapi.json (2.0) and /openapi.v3.json (3.0) with swagger-cli, redocly and spectral (spectral:oas), pinned in browser/package-lock.json.
	@$(NET) browser-npm-ci $(NET_TIMEOUT) bash -c 'cd browser && npm ci --ignore-scripts --no-audit --no-fund'
	for f in $(OPENAPI_DOCS); do timeout 120 browser/node_modules/.bin/swagger-cli validate $$f; done
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true timeout 120 browser/node_modules/.bin/redocly lint --format stylish $(OPENAPI_DOCS)
	timeout 120 browser/node_modules/.bin/spectral lint --ruleset internal/gateway/openapi.spectral.yaml --fail-severity error $(OPENAPI_DOCS)

# Performance (docs/performance.md): `make bench` builds the facade as `make build`
# and the Dockerfile do (static, stripped), the standalone sandbox and the harness,
# then runs the interleaved load phases against them (cmd/bench; about 4 minutes)
# and writes bench/results.md. BENCH_FLAGS passes
# harness flags, e.g. BENCH_FLAGS='-phases facade-grpc/32 -duration 20s'.
BENCH_BIN := $(CURDIR)/build/bench
BENCH_FLAGS ?=
BENCHTIME ?= 1s
BENCH_PKGS ?= ./internal/...

.PHONY: bench
bench: ## Load benchmark: direct, grpc-floor, facade-grpc, ceiling-grpc, facade-rest, facade-coalesced phases; targets PASS/FAIL; writes bench/results.md (~4 min).
	@mkdir -p $(BENCH_BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o $(BENCH_BIN)/server ./cmd/server
	$(GO) build -o $(BENCH_BIN)/ ./cmd/sandbox ./cmd/bench
	$(BENCH_BIN)/bench -server-bin $(BENCH_BIN)/server -sandbox-bin $(BENCH_BIN)/sandbox $(BENCH_FLAGS)

.PHONY: bench-quick
bench-quick: ## The load benchmark in -quick mode (~20 s, for CI); writes bench/results-quick.md.
	$(MAKE) --no-print-directory bench BENCH_FLAGS='-quick $(BENCH_FLAGS)'

# Instructions per call (docs/performance.md#instructions-per-call): the facade
# and the ceiling-grpc server under valgrind's callgrind, the sandbox natively;
# counts that do not move with the machine's load. The facade is built as for
# `make bench` but keeps its symbol table (the same machine code) for the split
# by package. INSTR_FLAGS: more bench flags (-compare-bin B for an A/B, -calls,
# -repeat, -phases). Needs valgrind; not run in CI (about 10 minutes).
INSTR_FLAGS ?=

.PHONY: bench-instructions
bench-instructions: ## Instructions per call under valgrind's callgrind (repeatable on a busy machine); writes bench/instructions.md (~10 min, needs valgrind).
	@mkdir -p $(BENCH_BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-X main.version=$(VERSION) -X main.revision=$(REVISION)" -o $(BENCH_BIN)/server-symbols ./cmd/server
	$(GO) build -o $(BENCH_BIN)/ ./cmd/sandbox ./cmd/bench
	$(BENCH_BIN)/bench -instructions -split -server-bin $(BENCH_BIN)/server-symbols -sandbox-bin $(BENCH_BIN)/sandbox $(INSTR_FLAGS)

.PHONY: bench-micro
bench-micro: ## go test -bench of the hot path pieces with -benchmem (BENCHTIME=1x for CI).
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=$(BENCHTIME) $(BENCH_PKGS)

# Load and soak (docs/load.md): `make load` builds the facade and the standalone
# sandbox (faults at LOAD_FAULT_RATE, credential echo) and drives them with 64
# gRPC and 32 REST callers for LOAD_DURATION, while floods of FLOOD_CONNS (300)
# connections × FLOOD_STREAMS (100) headers-only streams, held FLOOD_HOLD (7s)
# after FLOOD_GAP (5s) of quiet load, hit each port in turn; then it checks
# every answer (a call may be refused only while a flood is on), the error mix,
# and that goroutines, heap and RSS return to their baseline (loadtest/, build
# tag `load`; docs/load.md). LOAD_SERVER_ARGS are extra server flags. Other
# LOAD_* and FLOOD_* variables from the environment pass through.
# LOAD_REPORT=file writes the summary table there.
LOAD_DURATION ?= 60s
LOAD_SHORT_DURATION ?= 20s
LOAD_FAULT_RATE ?= 0.05
LOAD_REPORT ?=
FLOOD_HOLD ?= 7s
FLOOD_GAP ?= 5s
LOAD_SERVER_ARGS ?=

.PHONY: load
load: ## Load and soak test of the built binary: 96 gRPC/REST callers, faulty sandbox upstream, LOAD_DURATION (60s), floods of held streams on each port coming and going.
	LOAD_DURATION='$(LOAD_DURATION)' LOAD_FAULT_RATE='$(LOAD_FAULT_RATE)' LOAD_REPORT='$(LOAD_REPORT)' \
		FLOOD_HOLD='$(FLOOD_HOLD)' FLOOD_GAP='$(FLOOD_GAP)' LOAD_SERVER_ARGS='$(LOAD_SERVER_ARGS)' \
		$(GO) test -tags load -count=1 -timeout 30m -v -run '^TestLoad$$' ./loadtest/

.PHONY: load-short
load-short: ## The load test for CI: LOAD_SHORT_DURATION (20s) of load with three short floods, about 40 s in all.
	$(MAKE) --no-print-directory load LOAD_DURATION='$(LOAD_SHORT_DURATION)' FLOOD_HOLD=3s FLOOD_GAP=2s LOAD_SERVER_ARGS=-message-timeout=2s
