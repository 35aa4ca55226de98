# shellcheck shell=bash
# Shared helpers for the end-to-end suite: logging, timings and check results.

E2E_PASSED=0
E2E_FAILED=0
E2E_SKIPPED=0
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

# skip NAME WHY records a check that did not run: never counted as passed.
skip() {
  E2E_SKIPPED=$((E2E_SKIPPED + 1))
  printf 'SKIP %s: %s\n' "$1" "${2:-skipped}"
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
# E2E_SECS[LABEL] keeps the seconds of each stopped timer.
declare -A E2E_T0=()
# shellcheck disable=SC2034 # read by run.sh
declare -A E2E_SECS=()
timer_start() { E2E_T0[$1]=$SECONDS; }
timer_stop() {
  local secs=$((SECONDS - ${E2E_T0[$1]}))
  # shellcheck disable=SC2034 # read by run.sh
  E2E_SECS[$1]=$secs
  E2E_TIMINGS+=("$(printf '%-16s %4ds' "$1" "$secs")")
  log "timing: $1 took ${secs}s"
}

# print_summary: the timings, the failed checks and last the line "N passed, M failed",
# after E2E_SUMMARY_PREFIX (run.sh: the image's suite, e.g. "trixie: ").
print_summary() {
  local t
  printf '\nTimings:\n'
  for t in "${E2E_TIMINGS[@]}"; do printf '  %s\n' "$t"; done
  if ((E2E_FAILED > 0)); then
    printf 'Failed checks: %s\n' "${E2E_FAILURES[*]}"
  fi
  if ((E2E_SKIPPED > 0)); then
    printf '%s%d passed, %d failed, %d skipped\n' "${E2E_SUMMARY_PREFIX:-}" "$E2E_PASSED" "$E2E_FAILED" "$E2E_SKIPPED"
  else
    printf '%s%d passed, %d failed\n' "${E2E_SUMMARY_PREFIX:-}" "$E2E_PASSED" "$E2E_FAILED"
  fi
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

# proc_start PID: the process's start time in clock ticks since boot (field 22 of
# /proc/PID/stat); with the PID it identifies a process even after the PID is reused.
proc_start() {
  local stat f
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }   # the command name may contain spaces and parentheses
  read -ra f <<<"$stat"
  printf '%s\n' "${f[19]}"
}

# proc_running PID: the process exists and is not a zombie.
proc_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# proc_same PID START: PID is still the process that had START.
proc_same() { [[ -n $1 && -n $2 && $(proc_start "$1" 2>/dev/null) == "$2" ]]; }

# proc_stop PID: TERM, then KILL after 5 s; reaps it when it is a child of this shell.
proc_stop() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    proc_running "$pid" || break
    sleep 0.1
  done
  proc_running "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
