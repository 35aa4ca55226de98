#!/usr/bin/env bash
# End-to-end suite on real local hosts: three systemd-nspawn containers in network
# namespaces stand in for the EC2 instances; the real playbook converges them through the
# same command the Pulumi program runs, then the federation is checked over HTTPS.
#
# Needs root and: mmdebstrap systemd-container iproute2 openssh-client curl jq dpkg-dev
# python3 ca-certificates debian-archive-keyring, and Go.
# Caches the image under ${XDG_CACHE_HOME:-$HOME/.cache}/promfed/e2e/.
# Environment knobs: E2E_KEEP_WORK=1 keeps the work dir, E2E_REBUILD_IMAGE=1 rebuilds the
# image, E2E_ANSIBLE_DIR (default: the repository's ansible/), E2E_ALERT_TIMEOUT and
# E2E_FEDERATION_TIMEOUT (seconds).
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
# shellcheck source=test/e2e/lib/common.sh
source "$E2E_DIR/lib/common.sh"
# shellcheck source=test/e2e/lib/image.sh
source "$E2E_DIR/lib/image.sh"
# shellcheck source=test/e2e/lib/hosts.sh
source "$E2E_DIR/lib/hosts.sh"
# shellcheck source=test/e2e/lib/converge.sh
source "$E2E_DIR/lib/converge.sh"
# shellcheck source=test/e2e/lib/verify.sh
source "$E2E_DIR/lib/verify.sh"

E2E_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/promfed/e2e
E2E_STACK=e2e
E2E_ZONE=e2e.promfed.internal
E2E_HOSTS=(primary secondary-1 secondary-2)
E2E_ARCHIVE_HOST=secondary-2
E2E_SSH_USER=promfed
E2E_PREFIX="pfe2e$$"
E2E_ANSIBLE_DIR=${E2E_ANSIBLE_DIR:-$REPO_ROOT/ansible}
WORK=
HTTP_PID=
E2E_FINISHED=0

prerequisites() {
  local missing=() cmd
  [[ $(id -u) == 0 ]] || die "run as root (network namespaces, tmpfs mounts, systemd-nspawn)"
  for cmd in mmdebstrap systemd-nspawn ip ssh curl jq dpkg-scanpackages dpkg-deb go python3 \
    tar flock setsid sha256sum od; do
    command -v "$cmd" >/dev/null || missing+=("$cmd")
  done
  if ((${#missing[@]})); then
    die "missing commands: ${missing[*]}; install with: apt-get install -y --no-install-recommends mmdebstrap systemd-container iproute2 openssh-client curl jq dpkg-dev python3 ca-certificates debian-archive-keyring (and Go)"
  fi
}

# The EXIT trap: stop and remove everything, then print the summary as the last line.
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [[ $E2E_FINISHED != 1 ]]; then
    fail "run" "aborted with exit status $rc before the checks completed"
  fi
  log "tearing down"
  [[ -n $HTTP_PID ]] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
  local pid
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null; done
  hosts_teardown
  [[ -n ${IMAGE_BUILD_TMP:-} ]] && rm -rf "$IMAGE_BUILD_TMP"
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ ${E2E_KEEP_WORK:-0} == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  fi
  print_summary
  if ((E2E_FAILED > 0 && rc == 0)); then rc=1; fi
  exit "$rc"
}

# Material for the hosts, from the generator the Pulumi program shares.
generate() {
  random_seed > "$WORK/seed"
  chmod 0600 "$WORK/seed"
  local hosts
  hosts=$(IFS=,; printf '%s' "${E2E_HOSTS[*]}")
  # The first secondary probes the archive server in the ctl namespace (a plain HTTP
  # target inside the test network) through its blackbox_exporter.
  (cd "$REPO_ROOT" && go run ./test/e2e/hostvars -seed-file "$WORK/seed" -stack "$E2E_STACK" \
    -zone "$E2E_ZONE" -hosts "$hosts" -out "$OUTDIR" -ansible "$E2E_ANSIBLE_DIR" \
    -blackbox "http://$CTL_IP:8000/") > "$WORK/logs/hostvars.log" 2>&1 || {
    cat "$WORK/logs/hostvars.log" >&2
    die "host material generator failed"
  }
  local name
  for name in "${E2E_HOSTS[@]}"; do
    manifest_host "$name" command >/dev/null || die "manifest.json lacks host $name"
  done
  E2E_SSH_USER=$(jq -er .ssh_user "$OUTDIR/manifest.json")
}

# A random 64-character seed for this run only.
random_seed() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

main() {
  trap teardown EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  prerequisites
  timer_start total
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/promfed-e2e.XXXXXX")
  OUTDIR="$WORK/out"
  mkdir -p "$WORK/logs" "$WORK/roots" "$WORK/vars" "$OUTDIR"
  log "work dir $WORK"

  timer_start image
  image_ensure
  timer_stop image

  timer_start hostvars
  generate
  timer_stop hostvars

  timer_start boot
  net_setup
  ssh_setup
  local name
  for name in "${E2E_HOSTS[@]}"; do root_prepare "$name"; done
  for name in "${E2E_HOSTS[@]}"; do host_boot "$name"; done
  for name in "${E2E_HOSTS[@]}"; do
    check "boot-ssh-$name" host_wait_ssh "$name"
  done
  timer_stop boot

  run_provisioning_and_checks
  timer_stop total
  E2E_FINISHED=1
  # The EXIT trap tears down, prints the summary and sets the exit status.
}

main "$@"
