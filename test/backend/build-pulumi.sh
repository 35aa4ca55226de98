#!/usr/bin/env bash
# Builds the Pulumi CLI from Go modules (pkg/v3 at the version this module
# requires), into a cache folder outside the repository, once. Prints the
# CLI root folder (the binary is <root>/bin/pulumi, the layout the
# Automation API's NewPulumiCommand expects).
#   PULUMI_CLI_ROOT  where to put it (default: $XDG_CACHE_HOME/promfed/pulumi-<version>)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=$(cd "$here" && go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)
root=${PULUMI_CLI_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/promfed/pulumi-$version}
bin=$root/bin/pulumi

if [ -x "$bin" ] && [ "$("$bin" version 2>/dev/null)" = "$version" ]; then
	echo "$root"
	exit 0
fi

mkdir -p "$root/bin"
tmp=$(mktemp "$root/bin/.pulumi.XXXXXX")
trap 'rm -f "$tmp"' EXIT
start=$SECONDS
echo "building Pulumi CLI $version into $bin (about 6 minutes cold)" >&2
(cd "$here" && go build -trimpath \
	-ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
	-o "$tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
mv "$tmp" "$bin"
trap - EXIT
echo "built $bin in $((SECONDS - start))s" >&2
echo "$root"
