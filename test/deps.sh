#!/usr/bin/env bash
# Installs the Debian packages given as arguments, and only when one is missing: a machine
# that has them all needs no network and no apt lock (make deps, make demo).
set -euo pipefail
missing=()
for pkg in "$@"; do
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) == installed ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  echo "Debian packages: all $# present"
  exit 0
fi
if [[ $(id -u) != 0 ]]; then
  echo "missing Debian packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing ${#missing[@]} Debian package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
