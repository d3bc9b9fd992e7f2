# Yizhan: run `make` for the list of targets.
.DEFAULT_GOAL := help
GO ?= go

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/yizhan
	$(GO) build -o bin/yizhan ./cmd/yizhan

demo: build ## run a small county on this machine
	./bin/yizhan demo

test: ## run every test: unit, in-process federation (also under the race detector), e2e (built binary), web UI in chromium, Helm chart
	$(GO) test ./...
	$(GO) test -race -count=1 ./auth/ ./registry/ ./casework/ ./federation/... ./node/
	$(GO) test -tags e2e -count=1 ./e2e/
	$(GO) test -tags browser -count=1 ./web/
	cd charts && $(GO) test ./...

test-short: ## the quick tests only
	$(GO) test -short ./...

bench: ## run the benchmarks
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

generate: ## regenerate the protobuf code and the OpenAPI document (needs protoc)
	bash api/gen.sh

verify: ## gofmt, go vet, go mod tidy and generated code up to date
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/
	$(GO) vet -tags browser ./web/
	$(GO) mod tidy -diff
	bash api/gen.sh
	@git diff --exit-code -- api || (echo "generated code is out of date: run make generate"; exit 1)

.PHONY: help build demo test test-short bench generate verify
