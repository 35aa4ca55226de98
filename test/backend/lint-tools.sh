#!/usr/bin/env bash
# Installs the linters at exact versions into a cache bin folder outside the
# repository (go install needs only the Go module proxy). Prints the folder.
#   LINT_BIN  where to install (default: $XDG_CACHE_HOME/promfed/lint-bin)
set -euo pipefail

GOLANGCI_LINT_VERSION=${GOLANGCI_LINT_VERSION:-v2.15.0}
ACTIONLINT_VERSION=${ACTIONLINT_VERSION:-v1.7.12}
bin=${LINT_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/promfed/lint-bin}
mkdir -p "$bin"

have() { # have BINARY VERSION: is the installed binary that version?
	[ -x "$bin/$1" ] && [ -f "$bin/.$1.version" ] && [ "$(cat "$bin/.$1.version")" = "$2" ]
}

install_tool() { # install_tool NAME PACKAGE VERSION
	if have "$1" "$3"; then
		return
	fi
	echo "installing $1 $3" >&2
	# GOFLAGS=-mod=mod: run from anywhere, even inside a module with a vendor dir.
	GOBIN="$bin" GOFLAGS=-mod=mod go install "$2@$3"
	echo "$3" >"$bin/.$1.version"
}

install_tool golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "$GOLANGCI_LINT_VERSION"
install_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION"
echo "$bin"
