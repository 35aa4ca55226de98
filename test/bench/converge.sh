#!/usr/bin/env bash
# How provisioning time scales with hosts: on the end-to-end suite's local hosts (booted and
# converged by test/e2e's libraries, the way run.sh does), for 3 and for 8 stack hosts, the
# seconds of each host's first converge, of a re-run with nothing to change, and of a re-run
# after a one-role edit (a node_exporter flag through the variables, which rewrites one
# file and restarts one daemon), then the ratios to the first converge. Not a pass/fail test.
#
#   flock /tmp/promfed-e2e.lock bash test/bench/converge.sh [SIZES...]   (default: 3 8)
#
# Needs what test/e2e/run.sh needs (root, the packages of test/e2e/README.md, Go).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/../.." && pwd)
E2E_DIR=$REPO_ROOT/test/e2e
# shellcheck source=test/e2e/lib/stack.sh
source "$E2E_DIR/lib/stack.sh"

# The edit: node_exporter's own default is 40.
BENCH_EDIT_ARGS='["--web.max-requests=41"]'

# The hosts the generator makes from each shards file, in its order.
declare -A BENCH_HOSTS=(
  [3]="primary-a primary-b secondary-edge-1"
  [8]="primary-a primary-b secondary-apps-1 secondary-apps-2 secondary-apps-3 secondary-edge-1 secondary-edge-2 secondary-edge-3"
)

# The libraries' provision, timed per host into logs/seconds-NAME-RUN.
eval "lib_provision() $(declare -f provision | tail -n +2)"
provision() {
  local t0=$SECONDS rc=0
  lib_provision "$@" || rc=$?
  printf '%s\n' "$((SECONDS - t0))" > "$WORK/logs/seconds-$1-$2"
  return "$rc"
}

# converge_timed RUN: every host, as the program provisions them; fails on a failed host or,
# for a re-run with nothing to change, on any change.
converge_timed() {
  local run=$1 t0=$SECONDS name
  converge_all "$run"
  printf '%s\n' "$((SECONDS - t0))" > "$WORK/logs/seconds-all-$run"
  ((${#CONVERGE_FAILED[@]} == 0)) || die "run $run failed on ${CONVERGE_FAILED[*]} (logs in $WORK/logs)"
  if [[ $run == 2 ]]; then
    for name in "${E2E_HOSTS[@]}"; do
      [[ $(changed_count "$name" 2) == 0 ]] || die "$name: the re-run changed something"
    done
  fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d %%", (b > 0 ? 100 * a / b : 0) + 0.5 }'; }

row() {
  local size=$1 name=$2 first second edit
  first=$(cat "$WORK/logs/seconds-$name-1")
  second=$(cat "$WORK/logs/seconds-$name-2")
  edit=$(cat "$WORK/logs/seconds-$name-3")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$size" "$name" "$first" "$second" "$edit" \
    "$(ratio "$second" "$first")" "$(ratio "$edit" "$first")"
}

# bench SIZE: boot SIZE stack hosts, converge three times, print the rows, tear down.
bench() {
  local size=$1 name
  [[ -n ${BENCH_HOSTS[$size]:-} ]] || die "no shards file for $size hosts (sizes: ${!BENCH_HOSTS[*]})"
  E2E_PREFIX="pfbench$BASHPID"
  E2E_SHARDS_FILE="$BENCH_DIR/shards-$size.json"
  read -r -a E2E_HOSTS <<<"${BENCH_HOSTS[$size]}"
  trap stack_down EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  work_create promfed-bench
  image_ensure
  aws_image_ensure
  generate
  hosts_up
  provision_prepare
  ((E2E_FAILED == 0)) || die "the hosts did not come up"
  log "$size hosts: first converge"
  converge_timed 1
  log "$size hosts: re-run, nothing to change"
  converge_timed 2
  for name in "${E2E_HOSTS[@]}"; do
    jq --argjson a "$BENCH_EDIT_ARGS" '.node_exporter_extra_args = $a' "$WORK/vars/$name.json" \
      > "$WORK/vars/$name.json.new"
    mv "$WORK/vars/$name.json.new" "$WORK/vars/$name.json"
  done
  log "$size hosts: re-run after a one-role edit"
  converge_timed 3
  for name in "${E2E_HOSTS[@]}"; do row "$size" "$name"; done >> "$BENCH_TABLE"
  row "$size" all >> "$BENCH_TABLE"
}

main() {
  local sizes=("$@") size
  ((${#sizes[@]})) || sizes=(3 8)
  prerequisites
  BENCH_TABLE=$(mktemp)
  trap 'rm -f "$BENCH_TABLE"' EXIT
  for size in "${sizes[@]}"; do
    # A subshell per size: its own hosts, work dir and teardown.
    (bench "$size") > >(grep -v '^PASS ' >&2)
  done
  printf '\nProvisioning on %s, %s cores (seconds; "all": the whole step, primary-b after primary-a):\n\n' \
    "$(image_name)" "$(nproc)"
  printf '| hosts | host | first converge | re-run, no change | re-run, one-role edit | no change / first | edit / first |\n'
  printf '| --- | --- | --- | --- | --- | --- | --- |\n'
  cat "$BENCH_TABLE"
}

main "$@"
