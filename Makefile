# promfed: the commands a developer, CI and an operator run.
#   make demo           the federation on local hosts, no AWS
#   make test           install what the tests need, then unit, rules and end-to-end
#   make up STACK=dev   deploy a stack (pulumi up)
#   make check          everything CI runs: make test, the linters, the S3 state check
SHELL := /bin/bash
.DEFAULT_GOAL := help
STACK ?= dev

# Debian packages the tests need: Ansible and its linter, promtool, the
# end-to-end test hosts (mmdebstrap, systemd-nspawn, iproute2), SSH, linters.
APT_PACKAGES := ansible ansible-lint python3-passlib python3-cryptography prometheus \
	mmdebstrap systemd-container openssh-client iproute2 curl jq dpkg-dev \
	shellcheck yamllint ca-certificates debian-archive-keyring e2fsprogs util-linux mount socat

.PHONY: help deps deps-apt check test unit rules mutants plan e2e demo demo-down dashboards cli cost lint lint-go lint-ansible up preview stack-select

help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## deps: install the Debian packages and Go modules the tests need
deps: deps-apt
	go mod download

# Only the missing packages are installed, so a second run needs no network.
deps-apt:
	bash test/deps.sh $(APT_PACKAGES)

## check: what CI runs: make test, the linters and the S3 state check
check: deps lint test test-backend

## test: install what the tests need, then the unit suite (the program under Pulumi mocks), rule tests and the end-to-end suite
test: deps unit rules e2e

unit:
	go test -count=1 ./...

rules:
	bash test/rules/run.sh

## mutants: apply each security-relevant mutation of test/mutants/mutants.txt and report which the unit suite catches (not part of check)
mutants:
	python3 test/mutants/run.py

## e2e: converge real local test hosts (systemd-nspawn) with the playbook and verify federation: every stage on Debian 13 (trixie), then a smoke pass on Debian 12 (bookworm)
# The smoke pass: converge, the idempotent re-run and E2E_SMOKE_STAGES, the quick stages
# whose outcome depends on the release (systemd, packages, the archive's promtool). Both
# runs always run; either one failing fails the target.
E2E_SMOKE_STAGES ?= host-keys,endpoints,promtool,hardening,patching,federation
e2e:
	@rc=0; \
	E2E_SUITE=trixie bash test/e2e/run.sh || rc=1; \
	E2E_SUITE=bookworm E2E_ONLY='$(E2E_SMOKE_STAGES)' E2E_SKIP= bash test/e2e/run.sh || rc=1; \
	exit $$rc

## bench: measurements on the local test hosts, not part of check (bench-converge: provisioning time of 3 and 8 hosts; bench-scale: one shard at 10k, 100k and 1M series; docs/performance.md)
.PHONY: bench bench-converge bench-scale
bench: bench-converge bench-scale

bench-converge:
	bash test/bench/converge.sh

bench-scale:
	bash test/bench/scale.sh

## demo: the federation on local hosts, left running: two shards, their workloads, the primary at https://localhost:19090 (docs/demo.md); installs what it needs
demo: deps-apt
	bash test/e2e/demo.sh up

## demo-down: remove the hosts of make demo
demo-down:
	bash test/e2e/demo.sh down

## plan: what `pulumi up` would create for STACK, computed offline from Pulumi.$(STACK).yaml (no AWS needed)
plan:
	go run . plan -stack $(STACK)

## cli: build the operator CLI into bin/promfed (status, ssh, snapshot, restore, scale, cost; see README "Operator CLI")
cli:
	go build -o bin/promfed ./cmd/promfed

## cost: the monthly cost of STACK as planned from Pulumi.$(STACK).yaml, per component (no AWS needed; README "Cost")
cost:
	go run . cost -stack $(STACK)

## dashboards: write the Grafana dashboards defined in internal/dashboards to dashboards/*.json (commit them)
dashboards:
	go run ./cmd/dashboards -dir dashboards

## lint: gofmt, go vet, ansible-lint (production profile) and the team linters
lint: lint-go lint-ansible lint-team

lint-go:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...

lint-ansible:
	ansible-lint --profile production --offline ansible/

# State backend for preview/up: a local folder unless told otherwise (the
# team's S3 bucket: BACKEND='s3://<bucket>?region=<region>', see docs/team.md).
BACKEND ?= file://$(HOME)/.promfed/state
PULUMI_ENV = PULUMI_BACKEND_URL='$(BACKEND)'

## preview / up: pulumi preview / up for STACK against BACKEND (AWS credentials needed; a
## local backend also needs PULUMI_CONFIG_PASSPHRASE for the stack's secrets)
# The preflight says what is missing (credentials, secrets, adminCidrs) before Pulumi starts.
preview up: stack-select
preview:
	$(PULUMI_ENV) go run ./cmd/preflight -stack $(STACK) -for preview
	$(PULUMI_ENV) pulumi preview --stack $(STACK) --diff
up:
	$(PULUMI_ENV) go run ./cmd/preflight -stack $(STACK) -for up
	$(PULUMI_ENV) pulumi up --stack $(STACK)

stack-select:
	@command -v pulumi >/dev/null || { echo "the Pulumi CLI is not installed: see the README's prerequisites (v3.276 or newer)" >&2; exit 1; }
	@[ -f 'Pulumi.$(STACK).yaml' ] || { echo "no stack file Pulumi.$(STACK).yaml: STACK is one of $$(ls Pulumi.*.yaml | sed -n 's/^Pulumi\.\(.*\)\.yaml$$/\1/p' | grep -v '^yaml$$' | tr '\n' ' ')" >&2; exit 1; }
	@case '$(BACKEND)' in file://*) mkdir -p '$(patsubst file://%,%,$(BACKEND))';; esac
	$(PULUMI_ENV) pulumi stack select --create $(STACK)

include test/backend/team.mk
