# shellcheck shell=bash
# The readiness responder (issue 10): the load balancer's health check reads each primary's
# Prometheus readiness over plain HTTP without credentials, on READY_PORT, and learns
# nothing else.

READY_PORT=9092

# rcurl NAME PATH [CURL ARGS...]: plain HTTP to the responder, as the load balancer would.
rcurl() {
  local name=$1 path=$2
  shift 2
  in_ctl curl -sS --max-time 10 "$@" "http://${HOST_IP[$name]}:$READY_PORT$path"
}

# ready_code NAME: the responder's status code for /ready (000 when it does not answer).
ready_code() { http_code rcurl "$1" /ready; }

# ready_is NAME CODE: the responder answers CODE.
ready_is() { [[ $(ready_code "$1") == "$2" ]]; }

# expect_answer LABEL RESPONSE CODE BODY: RESPONSE (curl -i) is CODE with exactly BODY, a
# matching Content-Length, Connection: close, and no word of Prometheus.
expect_answer() {
  local label=$1 resp=$2 code=$3 body=$4 head got
  resp=${resp//$'\r'/}
  head=${resp%%$'\n\n'*}
  got=${resp#*$'\n\n'}
  if [[ ${head%%$'\n'*} != "HTTP/1.1 $code "* ]]; then
    fail "$label" "status line '${head%%$'\n'*}', want HTTP/1.1 $code"
  elif [[ $got != "$body" ]]; then
    fail "$label" "body '$(head -c 80 <<<"$got")', want '$body'"
  elif ! grep -qix "content-length: $((${#body} + 1))" <<<"$head" || ! grep -qix 'connection: close' <<<"$head"; then
    fail "$label" "headers: $(paste -sd'|' <<<"$head")"
  elif grep -qi 'prometheus\|go_\|promhttp' <<<"$resp"; then
    fail "$label" "the answer mentions Prometheus: $(paste -sd'|' <<<"$resp")"
  else
    pass "$label (HTTP $code '$body', $(grep -c . <<<"$head") header lines)"
  fi
}

# READY_POLLERS pollers on the host itself ask the responder again and again while
# Prometheus starts: one answer takes 0.1-0.4 s (a sandboxed unit per connection, TLS and a
# bcrypt check in Prometheus). The host's clock also stamps Prometheus' journal, which
# dates the replay.
READY_POLLERS=8

# restart_polled NAME: start Prometheus on NAME (stopped before) with the pollers running;
# prints "T0 <epoch>", one "POLL <start> <end> <code>" line per answer (each poller stops
# at its first 200, or after 60 s), then the journal lines of the start with their epoch
# times: "<epoch> <host> prometheus[<pid>]: ... msg=...".
restart_polled() {
  on "$1" "bash -s $READY_PORT $READY_POLLERS" <<'HOST' 2>/dev/null
set -u
port=$1 pollers=$2 out=$(mktemp -d)
poll() {
  local end=$((SECONDS + 60)) s c
  while [ "$SECONDS" -lt "$end" ]; do
    s=$(date +%s.%N)
    c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/ready")
    echo "POLL $s $(date +%s.%N) $c"
    [ "$c" = 200 ] && break
  done
}
t0=$(date +%s.%N)
for i in $(seq "$pollers"); do poll > "$out/$i" & done
sudo systemctl start --no-block prometheus.service
wait
echo "T0 $t0"
cat "$out"/*
rm -rf "$out"
sudo journalctl -u prometheus.service -o short-unix --no-pager --since "@${t0%.*}"
HOST
}

# The suite's primaries hold too little data for a replay longer than one answer of the
# responder. WAL_LOAD_RULES copies of every series, recorded every second for
# WAL_LOAD_SECONDS by a rule file placed only for this (and removed before the restart),
# fill the WAL so that the replay is observable.
WAL_LOAD_RULES=20
WAL_LOAD_SECONDS=60
WAL_LOAD_FILE=/etc/prometheus/rules/user/e2e-wal-load.yml

# wal_load_rules: the rule file: e2e:wal_load:<k> copies every other series, its name in
# label "src".
wal_load_rules() {
  local k
  printf 'groups:\n  - name: e2e_wal_load\n    interval: 1s\n    rules:\n'
  for ((k = 1; k <= WAL_LOAD_RULES; k++)); do
    printf '      - record: e2e:wal_load:%d\n' "$k"
    # shellcheck disable=SC2016 # PromQL's $1
    printf '        expr: label_replace({__name__=~".+", __name__!~"e2e:.+"}, "src", "$1", "__name__", "(.+)")\n'
  done
}

# wal_load NAME: fill NAME's WAL (see WAL_LOAD_RULES), then remove the rule file again;
# prints how many series the rules recorded.
wal_load() {
  local n
  wal_load_rules | on "$1" "sudo install -m 0640 -g prometheus /dev/stdin $WAL_LOAD_FILE && sudo systemctl reload prometheus.service" || return 1
  sleep "$WAL_LOAD_SECONDS"
  n=$(query_value "$1" 'count({__name__=~"e2e:wal_load:.+"})')
  on "$1" "sudo rm -f $WAL_LOAD_FILE" </dev/null || return 1
  printf '%s\n' "${n:-0}"
}

# journal_time LINES PATTERN: the epoch time of the first journal line matching PATTERN.
journal_time() { awk -v p="$2" '$1 ~ /^[0-9]+\.[0-9]+$/ && $0 ~ p {print $1; exit}' <<<"$1"; }

check_readiness() {
  local name=$E2E_PRIMARY resp e code out t0 t1 r0 r1 ready polls bad during during_ok not_ready replay load
  # No credentials, as the load balancer asks.
  for e in $(primaries); do
    resp=$(rcurl "$e" /ready -i 2>&1) || resp=
    expect_answer "readiness-ready-$e" "$resp" 200 ready
  done
  resp=$(rcurl "$name" /-/ready -i 2>&1) || resp=
  expect_answer readiness-other-path-404 "$resp" 404 'not found'
  resp=$(rcurl "$name" /metrics -i 2>&1) || resp=
  expect_answer readiness-no-metrics-404 "$resp" 404 'not found'
  code=$(http_code rcurl "$name" /ready -I)
  if [[ $code == 200 ]]; then pass "readiness-head-$name"; else fail "readiness-head-$name" "HEAD /ready gave HTTP $code"; fi

  for e in $(secondaries); do
    code=$(ready_code "$e")
    if [[ $code == 000 ]]; then
      pass "readiness-not-on-$e (nothing listens on :$READY_PORT)"
    else
      fail "readiness-not-on-$e" "port $READY_PORT answered HTTP $code"
    fi
  done

  # A template has no exposure of its own; an instance (never started) shows the unit's.
  e=$(exposure "$name" 'promfed-ready@e2e.service')
  printf 'FIGURE systemd-analyze security promfed-ready@e2e.service on %s: exposure %s\n' "$name" "${e:-?}"
  if [[ -n $e ]] && awk -v e="$e" -v m="$E2E_EXPOSURE_MAX" 'BEGIN {exit !(e <= m)}'; then
    pass "exposure-$name-promfed-ready@.service ($e <= $E2E_EXPOSURE_MAX)"
  else
    fail "exposure-$name-promfed-ready@.service" "exposure ${e:-unknown}, want <= $E2E_EXPOSURE_MAX"
  fi

  log "filling the WAL of $name for ${WAL_LOAD_SECONDS}s"
  if load=$(wal_load "$name") && ((load > 0)); then
    pass "wal-filled-$name ($load series recorded every second for ${WAL_LOAD_SECONDS}s)"
  else
    fail "wal-filled-$name" "the load rules recorded nothing"
  fi

  # Prometheus down: not ready.
  log "stopping prometheus on $name"
  on "$name" 'sudo systemctl stop prometheus.service' </dev/null || true
  resp=$(rcurl "$name" /ready -i 2>&1) || resp=
  expect_answer readiness-prometheus-stopped "$resp" 503 'not ready'

  # Started again: 503 while it starts and replays its WAL, then 200; never 200 before
  # Prometheus logs that it is ready. The replay is the span between its journal lines
  # "Replaying on-disk memory mappable chunks" and "WAL replay completed": polls that began
  # and ended inside it must all have answered 503.
  out=$(restart_polled "$name") || out=
  t0=$(awk '$1 == "T0" {print $2}' <<<"$out")
  r0=$(journal_time "$out" 'Replaying on-disk memory mappable chunks|Replaying WAL')
  r1=$(journal_time "$out" 'WAL replay completed')
  ready=$(journal_time "$out" 'Server is ready to receive web requests')
  polls=$(grep -c '^POLL ' <<<"$out") || polls=0
  # first 200 (end of that poll), answers other than 503/200, polls inside the replay and
  # their 503s.
  read -r t1 bad during during_ok < <(awk -v r0="${r0:-0}" -v r1="${r1:-0}" '
    $1 == "POLL" {
      if ($4 == 200 && (first == "" || $3 < first)) first = $3
      if ($4 != 200 && $4 != 503) bad++
      if (r0 > 0 && $2 >= r0 && $3 <= r1) { during++; if ($4 == 503) ok++ }
    }
    END {printf "%s %d %d %d\n", (first == "" ? "-" : first), bad, during, ok}' <<<"$out")
  if [[ -z $t0 || $t1 == - || -z $ready ]]; then
    fail "readiness-after-restart" "no 200 from the responder or no ready line in the journal ($polls polls)"
  elif ((bad > 0)); then
    fail "readiness-after-restart" "$bad answers other than 503 and 200 during the restart"
  elif awk -v a="$t1" -v r="$ready" 'BEGIN {exit !(a < r)}'; then
    fail "readiness-after-restart" "the responder answered 200 at $t1, before Prometheus was ready at $ready"
  else
    e=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    not_ready=$(grep -c '^POLL .* 503$' <<<"$out") || not_ready=0
    pass "readiness-after-restart (503 x$not_ready from $READY_POLLERS pollers, 200 ${e}s after the start, once Prometheus logged it was ready)"
    printf 'FIGURE %s not ready for %ss after a restart (%d answers 503, then 200)\n' "$name" "$e" "$not_ready"
  fi
  if [[ -z $r0 || -z $r1 ]]; then
    fail "readiness-not-ready-during-wal-replay" "no WAL replay lines in Prometheus' journal"
  else
    replay=$(awk -v a="$r0" -v b="$r1" 'BEGIN {printf "%.0f", (b - a) * 1000}')
    printf 'FIGURE %s replayed its WAL for %sms (journal); %d answers of the responder began and ended inside the replay, %d of them 503\n' \
      "$name" "$replay" "$during" "$during_ok"
    if ((during > 0 && during == during_ok)); then
      pass "readiness-not-ready-during-wal-replay ($during answers inside the ${replay}ms replay, all 503)"
    else
      fail "readiness-not-ready-during-wal-replay" "$during answers inside the ${replay}ms replay, $during_ok of them 503"
    fi
  fi
  # Whatever happened above, later checks need a ready Prometheus.
  if retry_until 120 2 prom_ready "$name"; then
    pass "serves-after-readiness-check-$name"
  else
    fail "serves-after-readiness-check-$name" "Prometheus not ready within 120s"
  fi
  check "no-failed-units-after-readiness-check-$name" system_ok "$name"
}
