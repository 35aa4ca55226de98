#!/usr/bin/env bash
# End-to-end suite on real local hosts: systemd-nspawn containers in network namespaces
# stand in for the EC2 instances (a primary and one secondary per shard of shards.json);
# the real playbook converges them through the same command the Pulumi program runs, then
# the federation is checked over HTTPS. Workload containers with plain-HTTP exporters are
# found by the shards through EC2 discovery (moto, an AWS emulator in the test network),
# DNS discovery (dnsmasq) and static targets; alerts reach a webhook sink and SNS (moto).
#
# Needs root and: mmdebstrap systemd-container iproute2 openssh-client curl jq dpkg-dev
# python3 ca-certificates debian-archive-keyring, and Go.
# Caches the image under ${XDG_CACHE_HOME:-$HOME/.cache}/promfed/e2e/.
# Environment knobs: E2E_KEEP_WORK=1 keeps the work dir, E2E_REBUILD_IMAGE=1 rebuilds the
# image, E2E_SUITE the hosts' Debian release (trixie, the default, or bookworm),
# E2E_ANSIBLE_DIR (default: the repository's ansible/), E2E_ALERT_TIMEOUT and
# E2E_FEDERATION_TIMEOUT (seconds), E2E_SKIP / E2E_ONLY (comma-separated verification stages
# to leave out / to run alone; see E2E_STAGES in lib/verify.sh).
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
# shellcheck source=test/e2e/lib/stack.sh
source "$E2E_DIR/lib/stack.sh"

E2E_PREFIX="pfe2e$$"
E2E_FINISHED=0

# The EXIT trap: stop and remove everything, then print the summary as the last line.
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [[ $E2E_FINISHED != 1 ]]; then
    fail "run" "aborted with exit status $rc before the checks completed"
  fi
  log "tearing down"
  local pid
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null; done
  stack_down
  print_timing_figure
  print_summary
  if ((E2E_FAILED > 0 && rc == 0)); then rc=1; fi
  exit "$rc"
}

# print_timing_figure: the run's main timings on this image as one FIGURE line (a stage
# that did not end shows as "-"; an aborted run's whole time so far).
print_timing_figure() {
  local total=${E2E_SECS[total]:-}
  [[ -n $total || -z ${E2E_T0[total]:-} ]] || total=$((SECONDS - E2E_T0[total]))
  printf 'FIGURE timing on %s: first converge %ss, re-run %ss, whole run %ss\n' "$E2E_SUITE" \
    "${E2E_SECS[first-converge]:--}" "${E2E_SECS[re-run]:--}" "${total:--}"
}

main() {
  trap teardown EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # The summary line names the image, so that make e2e's two runs tell apart.
  E2E_SUMMARY_PREFIX="$E2E_SUITE: "
  local stages="all stages"
  [[ -z ${E2E_ONLY:-} ]] || stages="stages $E2E_ONLY"
  [[ -z ${E2E_SKIP:-} ]] || stages+=", without $E2E_SKIP"
  printf '== e2e on %s: %s ==\n' "$(image_name)" "$stages"
  prerequisites
  stages_check
  timer_start total
  work_create promfed-e2e

  timer_start image
  image_ensure
  aws_image_ensure
  timer_stop image

  timer_start hostvars
  generate
  timer_stop hostvars

  timer_start boot
  hosts_up
  timer_stop boot

  run_provisioning_and_checks
  timer_stop total
  E2E_FINISHED=1
  # The EXIT trap tears down, prints the summary and sets the exit status.
}

main "$@"
