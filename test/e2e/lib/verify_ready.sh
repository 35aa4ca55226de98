# shellcheck shell=bash
# The readiness responder (issue 10): the load balancer's health check reads the primary's
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

check_readiness() {
  local name resp e code t0 t1 polls=0 not_ready=0 bad=
  # No credentials, as the load balancer asks.
  resp=$(rcurl primary /ready -i 2>&1) || resp=
  expect_answer readiness-ready-primary "$resp" 200 ready
  resp=$(rcurl primary /-/ready -i 2>&1) || resp=
  expect_answer readiness-other-path-404 "$resp" 404 'not found'
  resp=$(rcurl primary /metrics -i 2>&1) || resp=
  expect_answer readiness-no-metrics-404 "$resp" 404 'not found'
  code=$(http_code rcurl primary /ready -I)
  if [[ $code == 200 ]]; then pass "readiness-head-primary"; else fail "readiness-head-primary" "HEAD /ready gave HTTP $code"; fi

  for name in $(secondaries); do
    code=$(ready_code "$name")
    if [[ $code == 000 ]]; then
      pass "readiness-not-on-$name (nothing listens on :$READY_PORT)"
    else
      fail "readiness-not-on-$name" "port $READY_PORT answered HTTP $code"
    fi
  done

  # A template has no exposure of its own; an instance (never started) shows the unit's.
  e=$(exposure primary 'promfed-ready@e2e.service')
  printf 'FIGURE systemd-analyze security promfed-ready@e2e.service on primary: exposure %s\n' "${e:-?}"
  if [[ -n $e ]] && awk -v e="$e" -v m="$E2E_EXPOSURE_MAX" 'BEGIN {exit !(e <= m)}'; then
    pass "exposure-primary-promfed-ready@.service ($e <= $E2E_EXPOSURE_MAX)"
  else
    fail "exposure-primary-promfed-ready@.service" "exposure ${e:-unknown}, want <= $E2E_EXPOSURE_MAX"
  fi

  # Prometheus down: not ready.
  log "stopping prometheus on primary"
  on primary 'sudo systemctl stop prometheus.service' </dev/null || true
  resp=$(rcurl primary /ready -i 2>&1) || resp=
  expect_answer readiness-prometheus-stopped "$resp" 503 'not ready'

  # Started again: 503 while it replays its WAL, then 200 once /-/ready says so; never
  # 200 before Prometheus itself is ready.
  # --no-block: the polling starts while Prometheus is still starting.
  on primary 'sudo systemctl start --no-block prometheus.service' </dev/null || true
  t0=$EPOCHREALTIME
  while ((polls < 1200)); do
    code=$(ready_code primary)
    polls=$((polls + 1))
    if [[ $code == 200 ]]; then
      t1=$EPOCHREALTIME
      prom_ready primary || bad="the responder said 200 while /-/ready did not"
      break
    elif [[ $code == 503 ]]; then
      not_ready=$((not_ready + 1))
    else
      bad="HTTP $code during the restart"
      break
    fi
    sleep 0.1
  done
  if [[ -z ${t1:-} && -z $bad ]]; then bad="not ready after $polls polls"; fi
  if [[ -n $bad ]]; then
    fail "readiness-after-restart" "$bad"
  else
    e=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
    printf 'FIGURE primary not ready for %ss after a restart (%d answers 503 before the first 200)\n' "$e" "$not_ready"
    pass "readiness-after-restart (503 x$not_ready, then 200 after ${e}s, /-/ready agrees)"
  fi
  # Whatever happened above, later checks need a ready Prometheus.
  if retry_until 120 2 prom_ready primary; then
    pass "serves-after-readiness-check-primary"
  else
    fail "serves-after-readiness-check-primary" "Prometheus not ready within 120s"
  fi
  check "no-failed-units-after-readiness-check-primary" system_ok primary
}
