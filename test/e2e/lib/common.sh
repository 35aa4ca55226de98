# shellcheck shell=bash
# Shared helpers for the end-to-end suite: logging, timings and check results.

E2E_PASSED=0
E2E_FAILED=0
E2E_FAILURES=()
E2E_TIMINGS=()

log() { printf '[e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# pass NAME / fail NAME WHY record one check and print it in the fixed format.
pass() {
  E2E_PASSED=$((E2E_PASSED + 1))
  printf 'PASS %s\n' "$1"
}
fail() {
  E2E_FAILED=$((E2E_FAILED + 1))
  E2E_FAILURES+=("$1")
  printf 'FAIL %s: %s\n' "$1" "${2:-failed}"
}

# check NAME CMD... runs CMD; PASS when it succeeds, FAIL with its last output line otherwise.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    pass "$name"
  else
    fail "$name" "$(printf '%s' "$out" | tail -n 1)"
  fi
}

# Timings: timer_start LABEL ... timer_stop LABEL.
declare -A E2E_T0=()
timer_start() { E2E_T0[$1]=$SECONDS; }
timer_stop() {
  local secs=$((SECONDS - ${E2E_T0[$1]}))
  E2E_TIMINGS+=("$(printf '%-16s %4ds' "$1" "$secs")")
  log "timing: $1 took ${secs}s"
}

print_summary() {
  local t
  printf '\nTimings:\n'
  for t in "${E2E_TIMINGS[@]}"; do printf '  %s\n' "$t"; done
  if ((E2E_FAILED > 0)); then
    printf 'Failed checks: %s\n' "${E2E_FAILURES[*]}"
  fi
  printf '%d passed, %d failed\n' "$E2E_PASSED" "$E2E_FAILED"
}

# retry_until SECONDS INTERVAL CMD... polls CMD until it succeeds or the time is up.
retry_until() {
  local deadline=$((SECONDS + $1)) interval=$2
  shift 2
  while true; do
    if "$@"; then return 0; fi
    if ((SECONDS >= deadline)); then return 1; fi
    sleep "$interval"
  done
}
