# Team workflow targets: a Makefile fragment, included from the root Makefile
# (`include test/backend/team.mk`). See docs/team.md.
#
# Variables (override on the command line or before the include):
#   AWS_REGION        region of the state bucket and KMS key (required by
#                     login, stack-init, change-secrets-provider, unlock)
#   STATE_BUCKET      state bucket created by bootstrap/ (required by login, unlock)
#   KMS_ALIAS         KMS alias name without "alias/" (default promfed-state)
#   STACK             stack name (default dev)
#   PULUMI_ORG        org part of the stack reference; self-managed backends
#                     only know "organization" (default organization)
#   PULUMI_DIR        folder of the main Pulumi.yaml (default: repo root)
#   PULUMI_PROJECT    project name (default: the name: line of $(PULUMI_DIR)/Pulumi.yaml)
#   PULUMI            CLI to run (default pulumi)
#   BACKEND_URL       default s3://$(STATE_BUCKET)?region=$(AWS_REGION)&awssdk=v2
#   SECRETS_PROVIDER  default awskms://alias/$(KMS_ALIAS)-$(STACK)?region=$(AWS_REGION) (one key per stack)
#   CONFIRM           unlock deletes the lock only with CONFIRM=yes
#   PROMFED_CACHE     cache folder outside the repo (default $XDG_CACHE_HOME/promfed)
#   GOLANGCI_PKGS     packages golangci-lint checks (default ./..., the whole root module)
#   GO_TEST_FLAGS     extra flags for the test-backend go test run

TEAM_MK_DIR   := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
TEAM_ROOT     := $(abspath $(TEAM_MK_DIR)/../..)
PROMFED_CACHE ?= $(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)/promfed

KMS_ALIAS        ?= promfed-state
STACK            ?= dev
PULUMI_ORG       ?= organization
PULUMI_DIR       ?= $(TEAM_ROOT)
PULUMI_PROJECT   ?= $(shell awk '/^name:/ {print $$2; exit}' $(PULUMI_DIR)/Pulumi.yaml 2>/dev/null)
PULUMI           ?= pulumi
BACKEND_URL      ?= s3://$(STATE_BUCKET)?region=$(AWS_REGION)&awssdk=v2
SECRETS_PROVIDER ?= awskms://alias/$(KMS_ALIAS)-$(STACK)?region=$(AWS_REGION)
GOLANGCI_PKGS    ?= ./...
GO_TEST_FLAGS    ?=

TEAM_LOCK_PREFIX = .pulumi/locks/$(PULUMI_ORG)/$(PULUMI_PROJECT)/$(STACK)/

.PHONY: login stack-init change-secrets-provider unlock test-backend pulumi-cli lint-tools lint-team

define team_require
$(if $($(1)),,$(error $(1) is not set: $(2)))
endef

## login: point the Pulumi CLI at the S3 state bucket
login:
	$(call team_require,STATE_BUCKET,the bucket bootstrap/ created (output stateBucket))
	$(call team_require,AWS_REGION,the region of the state bucket)
	$(PULUMI) login '$(BACKEND_URL)'

## stack-init: create $(PULUMI_ORG)/$(STACK) with the KMS secrets provider
stack-init:
	$(call team_require,AWS_REGION,the region of the KMS key)
	cd '$(PULUMI_DIR)' && $(PULUMI) stack init '$(PULUMI_ORG)/$(STACK)' --secrets-provider '$(SECRETS_PROVIDER)'

## change-secrets-provider: re-encrypt $(STACK)'s secrets with $(SECRETS_PROVIDER)
change-secrets-provider:
	$(call team_require,AWS_REGION,the region of the KMS key)
	cd '$(PULUMI_DIR)' && $(PULUMI) stack change-secrets-provider --stack '$(PULUMI_ORG)/$(STACK)' '$(SECRETS_PROVIDER)'

## unlock: show $(STACK)'s lock objects; with CONFIRM=yes delete them (pulumi cancel)
unlock:
	$(call team_require,STATE_BUCKET,the state bucket)
	$(call team_require,AWS_REGION,the region of the state bucket)
	$(call team_require,PULUMI_PROJECT,the Pulumi project name)
	@echo "Lock objects under s3://$(STATE_BUCKET)/$(TEAM_LOCK_PREFIX):"
	@aws s3api list-objects-v2 --region '$(AWS_REGION)' --bucket '$(STATE_BUCKET)' \
		--prefix '$(TEAM_LOCK_PREFIX)' --query 'Contents[].[Key,LastModified]' --output text
	@for key in $$(aws s3api list-objects-v2 --region '$(AWS_REGION)' --bucket '$(STATE_BUCKET)' \
		--prefix '$(TEAM_LOCK_PREFIX)' --query 'Contents[].Key' --output text); do \
		[ "$$key" = None ] && continue; \
		echo "--- $$key"; aws s3 cp --region '$(AWS_REGION)' "s3://$(STATE_BUCKET)/$$key" -; echo; \
	done
	@if [ "$(CONFIRM)" = yes ]; then \
		cd '$(PULUMI_DIR)' && $(PULUMI) cancel --yes --stack '$(PULUMI_ORG)/$(STACK)'; \
	else \
		echo "Check that no update of $(STACK) is running (CI runs, colleagues), then: make unlock CONFIRM=yes"; \
	fi

## pulumi-cli: build the Pulumi CLI from Go modules into $(PROMFED_CACHE) (once)
pulumi-cli:
	XDG_CACHE_HOME='$(patsubst %/promfed,%,$(PROMFED_CACHE))' '$(TEAM_MK_DIR)/build-pulumi.sh'

## test-backend: the S3 state workflow against an in-process fake S3
test-backend:
	@root=$$(XDG_CACHE_HOME='$(patsubst %/promfed,%,$(PROMFED_CACHE))' '$(TEAM_MK_DIR)/build-pulumi.sh') && \
	cd '$(TEAM_MK_DIR)' && PULUMI_CLI_ROOT="$$root" go test -count=1 -v -timeout 30m $(GO_TEST_FLAGS) ./...

## lint-tools: golangci-lint and actionlint at exact versions into $(PROMFED_CACHE)/lint-bin
lint-tools:
	LINT_BIN='$(PROMFED_CACHE)/lint-bin' '$(TEAM_MK_DIR)/lint-tools.sh'

## lint-team: golangci-lint, actionlint, yamllint, shellcheck
lint-team: lint-tools
	cd '$(TEAM_ROOT)' && '$(PROMFED_CACHE)/lint-bin/golangci-lint' run $(GOLANGCI_PKGS)
	cd '$(TEAM_MK_DIR)' && '$(PROMFED_CACHE)/lint-bin/golangci-lint' run --config '$(TEAM_ROOT)/.golangci.yml' ./...
	cd '$(TEAM_ROOT)' && PATH='$(PROMFED_CACHE)/lint-bin':"$$PATH" actionlint
	cd '$(TEAM_ROOT)' && yamllint .
	cd '$(TEAM_ROOT)' && git ls-files --cached --others --exclude-standard -z -- '*.sh' | xargs -0 -r shellcheck
