# Yizhan: run `make` for the list of targets.
.DEFAULT_GOAL := help
GO ?= go

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The version and commit the binary and the image say (yizhan version, a
# node's start line). go build reads the commit from .git itself; the
# image's build has no .git and takes both as build arguments.
VERSION ?= $(shell git describe --tags --match 'v*' 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
IMAGE ?= ghcr.io/yizhan-gov/yizhan:$(VERSION)

build: ## build bin/yizhan (VERSION from git describe, else dev)
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/yizhan ./cmd/yizhan

image: ## build the container image IMAGE with docker, passing VERSION and COMMIT
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE) .

demo: build ## run a small county on this machine
	./bin/yizhan demo

deps: ## install what the tests need and this machine lacks: chromium, protoc (apt-get; the list: .ci/deps.sh)
	bash .ci/deps.sh

# The packages whose tests run under the race detector (make test runs
# them there only, and every other package without it: each test once).
RACE_PKGS ?= ./auth/ ./registry/ ./casework/ ./casebook/ ./federation/... ./node/
# The node package's tests mostly wait on elections, links and mail: make
# test runs them in this many processes at once (.ci/shardtest.sh).
NODE_SHARDS ?= 3

test: deps ## run every test: unit, in-process federation (the packages of RACE_PKGS under the race detector), a follower catching up on 100,000 cases, e2e (built binary), web UI in chromium, Helm chart
	$(GO) test -timeout 20m $(filter-out $(shell $(GO) list $(RACE_PKGS)),$(shell $(GO) list ./...))
	$(GO) test -race -count=1 -timeout 45m $(filter-out ./node/,$(RACE_PKGS))
	GO=$(GO) RACEFLAG=-race bash .ci/shardtest.sh $(NODE_SHARDS) ./node/ -test.count=1 -test.timeout=45m
	YIZHAN_CATCHUP_CASES=100000 $(GO) test -count=1 -run '^TestFollowerFarBehindCatchesUpByBookSnapshot$$' ./node/
	$(GO) test -tags e2e -count=1 -timeout 20m ./e2e/
	$(GO) test -tags browser -count=1 -timeout 20m ./web/
	cd charts && $(GO) test ./...
	cd third_party/badger && $(GO) test -count=1 -run '^TestYizhan' . ./table
	cd third_party/raft && $(GO) test -count=1 -run '^TestYizhan' .

test-short: ## the quick tests only
	$(GO) test -short ./...

# The fuzz targets, as package:FuzzName: go test -fuzz runs one target of
# one package at a time, so each is listed. Add yours here.
FUZZ_TARGETS ?= \
	./auth:FuzzParseToken \
	./federation/badgerstore:FuzzDecodeLog \
	./registry:FuzzApply \
	./registry:FuzzValidCode \
	./registry:FuzzCheckItem \
	./casework:FuzzApply \
	./casework:FuzzNewFiling \
	./casework:FuzzFileCaseJSON \
	./casework:FuzzNewEvent \
	./federation/feed:FuzzFeedAssembler \
	./node:FuzzUpdateItemJSON
FUZZTIME ?= 10s
# The targets CI fuzzes briefly (fuzz-ci: 10,000 executions each, under a
# minute with the instrumented build): those of packages that build quickly. Add yours
# here too if it is one.
FUZZ_CI_TARGETS ?= \
	./registry:FuzzCheckItem \
	./casework:FuzzNewFiling \
	./casework:FuzzFileCaseJSON \
	./casework:FuzzNewEvent

fuzz: ## run each of FUZZ_TARGETS for FUZZTIME (10s); the seed corpora run with every go test
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# CI counts executions, not seconds: with a duration, Go 1.26's fuzz
# coordinator can fail a target with a bare "context deadline exceeded" as
# the time runs out, no input found (golang/go#75804, fixed in Go 1.27).
fuzz-ci: ## fuzz FUZZ_CI_TARGETS for 10,000 executions each (CI; a few seconds each)
	$(MAKE) fuzz FUZZTIME=10000x FUZZ_TARGETS="$(FUZZ_CI_TARGETS)"

SEED ?= 0
SCHEDULES ?= 200
LENGTH ?= 20s
SUMMARY ?= $(CURDIR)/chaos-summary.jsonl
KEEP ?= /tmp/yizhan-chaos-kept
chaos: ## the fault harness: SCHEDULES (200) random fault schedules from SEED (0: the clock) against the binary as processes; a JSON line per schedule in SUMMARY; a failed run's data and logs kept in KEEP (issue 14)
	$(GO) test -tags "e2e chaos" -count=1 -timeout 0 -run '^(TestChaos|TestRegisterModel)$$' -v ./e2e/ -args \
		-chaos.seed=$(SEED) -chaos.schedules=$(SCHEDULES) -chaos.length=$(LENGTH) -chaos.summary=$(SUMMARY) -chaos.keep=$(KEEP)

chaos-ci: ## a short set of the fault harness's schedules (CI: 10 of 10 s, seeds 1000-1009, the same on every run; make chaos explores)
	$(MAKE) chaos SEED=1000 SCHEDULES=10 LENGTH=10s

CUTS ?= 6
COUNTY_CUTS ?= 6
MAIL_CUTS ?= 4
powercut: ## the power-cut tests (root and /dev/fuse; they fail where FUSE cannot be mounted): package powercut's file system, badger's writes under a cut (an older WAL torn among them), the case book through a raft snapshot, a village's and its township's nodes cut CUTS (6) times while filing, the county's three nodes COUNTY_CUTS (6) times: a follower, the leader, all three at once, in turn, and MAIL_CUTS (4) times, the leader or all three, while the villages' cases come up by the case mail, then the township and the county while the county's answers go down (SEED: the moments; 0: the clock)
	@test -e /dev/fuse || { echo "make powercut: no /dev/fuse on this machine: the power-cut tests mount a FUSE file system (package powercut) and cannot run here"; exit 1; }
	@test "$$(id -u)" = 0 || { echo "make powercut: needs root: the power-cut tests mount a FUSE file system with mount(2)"; exit 1; }
	$(GO) test -tags powercut -count=1 ./powercut/
	$(GO) test -tags powercut -count=1 -run '^TestPowerCut' ./federation/badgerstore/ ./federation/raftgroup/
	$(GO) test -tags "e2e powercut" -count=1 -timeout 15m -run '^TestPowerCut(County|CountyReceiving)?$$' -v ./e2e/ -args -powercut.rounds=$(CUTS) -powercut.countyrounds=$(COUNTY_CUTS) -powercut.mailrounds=$(MAIL_CUTS) -powercut.seed=$(SEED)

bench: ## run the benchmarks
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

# The outside anchor (bench/anchors, a Go module of its own so that this
# module does not depend on etcd): durable puts to an embedded etcd.
ANCHOR_PUTS ?= 3000

anchor: ## the etcd anchor alone: ANCHOR_PUTS (3000) durable 600-byte puts to 1 and 3 embedded etcd members, 1-64 clients
	cd bench/anchors && GOWORK=off $(GO) run . -puts $(ANCHOR_PUTS)

bench-anchor: ## filing and registry-write benchmarks beside the etcd anchor of the same run, with ratios (heavy; not in CI)
	YIZHAN_BENCH_ANCHOR=1 YIZHAN_BENCH_ANCHOR_PUTS=$(ANCHOR_PUTS) $(GO) test -run '^$$' \
		-bench 'BenchmarkFileCases/office=county|BenchmarkRegistryWrite|BenchmarkFilingBesideEtcd' -benchtime $(ANCHOR_PUTS)x -timeout 40m ./node/

bench-book: ## a county's book of a million cases and a village's memory, on the binary (heavy: about half an hour; not in CI)
	$(GO) test -tags e2e -run '^$$' -bench 'BenchmarkCountyBook|BenchmarkVillageMemory' -benchtime 1x -timeout 3h ./e2e/

bench-duty: ## the time of an urgent report from a village to the county, on the binary (about a minute; not in CI)
	$(GO) test -tags e2e -run '^$$' -bench 'BenchmarkUrgentReportToCounty' -benchtime 1x -timeout 20m ./e2e/

bench-stats: ## the figures of a year at a county of a million cases, and the card sweep (heavy: about 10 minutes; not in CI)
	YIZHAN_BENCH_STATS_CASES=1000000 $(GO) test -run '^$$' -bench 'BenchmarkStatisticsOfAYear|BenchmarkCardSweep' -benchtime 1x -timeout 60m ./casebook/

anchor-smoke: ## vet the etcd anchor and run it for a few seconds, alone, and beside a node in alternating rounds and in turns (CI: keeps both building)
	cd bench/anchors && GOWORK=off $(GO) mod tidy -diff && GOWORK=off $(GO) vet . && \
		GOWORK=off $(GO) run . -configs 1x1,3x4 -puts 50 -warmup 10 -duration 20s
	YIZHAN_BENCH_ANCHOR=1 YIZHAN_BENCH_ANCHOR_ROUNDS=2 $(GO) test -run '^$$' -bench 'BenchmarkFilingBesideEtcd' -benchtime 50x ./node/

generate: deps ## regenerate the protobuf code and the OpenAPI document (needs protoc)
	bash api/gen.sh

# The API's surface at the last release (api/compat/baseline.txt): the
# check compares the .proto files with it, in make test (go test ./...)
# and make verify.
api-baseline: ## write api/compat/baseline.txt from the current .proto files: at each release, not to silence a break (docs/OPERATIONS.md, "Changing the API")
	$(GO) test -count=1 -run '^TestAPIKeepsWhatTheLastReleasePromised$$' ./api/compat/ -update

verify: deps ## gofmt, go vet, go mod tidy, generated code up to date, and the API compatible with the last release's (api/compat)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/
	$(GO) vet -tags "e2e chaos" ./e2e/
	$(GO) vet -tags powercut ./powercut/ ./federation/badgerstore/ ./federation/raftgroup/
	$(GO) vet -tags "e2e powercut" ./e2e/
	$(GO) vet -tags browser ./web/
	$(GO) mod tidy -diff
	bash api/gen.sh
	@git diff --exit-code -- api || (echo "generated code is out of date: run make generate"; exit 1)
	$(GO) test -count=1 ./api/compat/

.PHONY: help build image demo deps test test-short fuzz fuzz-ci chaos chaos-ci powercut bench anchor bench-anchor bench-book bench-duty bench-stats anchor-smoke generate api-baseline verify
