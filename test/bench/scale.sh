#!/usr/bin/env bash
# How one shard scales with its series: on the end-to-end suite's local hosts (booted and
# converged by test/e2e's libraries: both primaries and one secondary, test/bench/
# shards-scale.json), a synthetic target (test/bench/synth, in the ctl namespace) is scraped
# by the secondary as the static job "synth"; for each size it serves that many series, and
# once the secondary has scraped all of them and a minute of rate windows has passed, the
# figures are read from the hosts themselves: the secondary's scrape duration, CPU and memory,
# the bytes of its /federate answer (the aggregates the primaries pull, and everything), the
# primary's ingestion and its remote_write to the receiver of the suite. Not a pass/fail test.
#
#   flock /tmp/promfed-e2e.lock bash test/bench/scale.sh [SERIES...]   (default: 10000 100000 1000000)
#
# Needs what test/e2e/run.sh needs (root, the packages of test/e2e/README.md, Go).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/../.." && pwd)
E2E_DIR=$REPO_ROOT/test/e2e
# shellcheck source=test/e2e/lib/stack.sh
source "$E2E_DIR/lib/stack.sh"

E2E_PREFIX="pfscale$$"
E2E_SHARDS_FILE=$BENCH_DIR/shards-scale.json
SCALE_HOST="secondary-synth-1"
E2E_HOSTS=(primary-a primary-b "$SCALE_HOST")
# prepare_vars gives one secondary the archive install; this one is the only secondary.
E2E_ARCHIVE_HOST=$SCALE_HOST
SYNTH_PORT=9400
# How long the first complete scrape of a new size may take to show up (series creation).
SCALE_WAIT=${SCALE_WAIT:-300}
# Steady scrapes before reading: the rate()s below look one minute back.
SCALE_SETTLE=${SCALE_SETTLE:-90}

# synth_start N: (re)start the synthetic target with N series.
synth_start() {
  [[ -z ${SVC_PID[synth]:-} ]] || proc_stop "${SVC_PID[synth]}"
  svc_start synth "$CTL_NS" "$WORK/synth" -listen "$CTL_IP:$SYNTH_PORT" -series "$1"
  retry_until 60 0.5 in_ctl curl -sf -o /dev/null --max-time 10 "http://$CTL_IP:$SYNTH_PORT/metrics" ||
    die "the synthetic target did not start (logs/synth.log)"
}

# value NAME PROMQL: the sum of an instant query's values on NAME; empty when none.
value() { prom_query "$1" "$2" | jq -r '[.data.result[].value[1] | tonumber] | add // empty'; }

scraped_all() { [[ $(value "$SCALE_HOST" 'scrape_samples_scraped{job="synth"}') == "$1" ]]; }

# federate_bytes MATCH [CURL ARGS...]: the size of one /federate answer of the secondary.
federate_bytes() {
  local match=$1
  shift
  acurl "$SCALE_HOST" "$PROM_PORT" /federate --get --data-urlencode "match[]=$match" \
    --max-time 300 -o /dev/null -w '%{size_download}' "$@"
}

# iec BYTES and fixed DIGITS NUMBER: table cells; n/a for a figure that could not be read.
iec() { if [[ $1 =~ ^[0-9] ]]; then numfmt --to=iec-i --suffix=B "${1%.*}"; else printf 'n/a'; fi; }
fixed() { if [[ $2 =~ ^[0-9] ]]; then printf "%.${1}f" "$2"; else printf 'n/a'; fi; }

# measure N: serve N series, wait for the secondary to scrape them all, settle, read the
# figures into a table row. Fails (with a row saying why) when no complete scrape comes.
measure() {
  local n=$1 t0 first dur cpu rss head agg all agg_gz all_gz samples rw
  log "$n series: starting the target"
  synth_start "$n"
  t0=$SECONDS
  if ! retry_until "$SCALE_WAIT" 5 scraped_all "$n"; then
    printf '| %s | no complete scrape in %s s (up %s, last duration %s s, last samples %s) | | | | | |\n' "$n" "$SCALE_WAIT" \
      "$(value "$SCALE_HOST" 'up{job="synth"}')" "$(value "$SCALE_HOST" 'scrape_duration_seconds{job="synth"}')" \
      "$(value "$SCALE_HOST" 'scrape_samples_scraped{job="synth"}')" >> "$SCALE_TABLE"
    return 1
  fi
  first=$((SECONDS - t0))
  log "$n series: all scraped after ${first}s; settling ${SCALE_SETTLE}s"
  sleep "$SCALE_SETTLE"
  dur=$(value "$SCALE_HOST" 'max_over_time(scrape_duration_seconds{job="synth"}[1m])')
  cpu=$(value "$SCALE_HOST" 'rate(process_cpu_seconds_total{job="prometheus"}[1m])')
  rss=$(value "$SCALE_HOST" 'process_resident_memory_bytes{job="prometheus"}')
  head=$(value "$SCALE_HOST" 'prometheus_tsdb_head_series{job="prometheus"}')
  samples=$(value primary-a 'rate(prometheus_tsdb_head_samples_appended_total[1m])')
  rw=$(value primary-a 'rate(prometheus_remote_storage_samples_total[1m])')
  # Prometheus before 2.50 has only the older name.
  [[ -n $rw ]] || rw=$(value primary-a 'rate(prometheus_remote_storage_succeeded_samples_total[1m])')
  # Read last: the match-all answer costs the secondary CPU the rate above must not see.
  agg=$(federate_bytes '{__name__=~"federate:.+"}')
  all=$(federate_bytes '{__name__=~".+"}')
  # Without --compressed curl counts the gzip bytes as sent, which is what a puller receives.
  agg_gz=$(federate_bytes '{__name__=~"federate:.+"}' -H 'Accept-Encoding: gzip')
  all_gz=$(federate_bytes '{__name__=~".+"}' -H 'Accept-Encoding: gzip')
  printf '| %s | %s s | %s cores | %s (%s head series) | %s vs %s (gzip %s vs %s) | %s | %s |\n' \
    "$n" "$(fixed 2 "$dur")" "$(fixed 2 "$cpu")" "$(iec "$rss")" "$(fixed 0 "$head")" \
    "$(iec "$agg")" "$(iec "$all")" "$(iec "$agg_gz")" "$(iec "$all_gz")" \
    "$(fixed 0 "$samples")" "$(fixed 1 "$rw")" >> "$SCALE_TABLE"
  printf '%s %s\n' "$n" "$first" >> "$SCALE_FIRST"
}

run() {
  local n
  trap stack_down EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  work_create promfed-scale
  (cd "$REPO_ROOT" && go build -o "$WORK/synth" ./test/bench/synth) || die "could not build test/bench/synth"
  image_ensure
  aws_image_ensure
  generate
  hosts_up
  provision_prepare
  ((E2E_FAILED == 0)) || die "the hosts did not come up"
  # The synthetic job, and a scrape timeout just under the 15 s interval (Prometheus' 10 s
  # would cut the large sizes short before the interval does).
  # shellcheck disable=SC2016 # $t is jq's
  vars_patch "$SCALE_HOST" '.prometheus_workload_jobs += [{job: "synth", static: {targets: [$t]}}]
    | .prometheus_scrape_timeout = "14s"' --arg t "$CTL_IP:$SYNTH_PORT"
  synth_start "$1"
  log "converging"
  converge_all 1
  ((${#CONVERGE_FAILED[@]} == 0)) || die "the converge failed on ${CONVERGE_FAILED[*]} (logs in $WORK/logs)"
  for n in "$@"; do
    measure "$n" || { log "$n series: no complete scrape; stopping here"; break; }
  done
}

main() {
  local sizes=("$@") n first
  ((${#sizes[@]})) || sizes=(10000 100000 1000000)
  E2E_EXTRA_CMDS+=(numfmt)
  prerequisites
  SCALE_TABLE=$(mktemp)
  SCALE_FIRST=$(mktemp)
  trap 'rm -f "$SCALE_TABLE" "$SCALE_FIRST"' EXIT
  # A subshell: its own hosts, work dir and teardown. Waited for rather than tested with ||,
  # which would switch off errexit inside it; the rows measured so far are printed anyway.
  (run "${sizes[@]}") > >(grep -v '^PASS ' >&2) &
  wait "$!" || log "the run ended early (exit $?); the rows below are what it measured"
  printf '\nOne shard on %s, %s cores, %s series per size in turn on the same hosts; the secondary scrapes every 15 s:\n\n' \
    "$(image_name)" "$(nproc)" "${sizes[*]}"
  printf '| series per shard | scrape duration (max over 1 min) | secondary CPU | secondary RSS | /federate bytes: aggregates vs match-all | primary samples/s | remote_write samples/s |\n'
  printf '| --- | --- | --- | --- | --- | --- | --- |\n'
  cat "$SCALE_TABLE"
  while read -r n first; do
    printf '%s series: the first complete scrape %s s after the target started\n' "$n" "$first"
  done < "$SCALE_FIRST"
}

main "$@"
