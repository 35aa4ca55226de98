# shellcheck shell=bash
# remote_write to the long-term store (ampRemoteWrite aggregates). The AMP workspace's stand-in
# is a Prometheus remote-write receiver behind rw_proxy.py, which lets through only requests
# signed with SigV4 for the aps service in the stack's region, with the access key the suite
# gave the writers (in production the instance role signs). The primaries' variables come from
# the program's own rendering (hostvars -amp aggregates); only the URL is the suite's.

RW_PROXY_PORT=8026
RW_RECEIVER_PORT=19091
E2E_RW_URL_PATH=/workspaces/ws-e2e/api/v1/remote_write

# rw_url: where the writers send (the proxy in the ctl namespace).
rw_url() { printf 'http://%s:%s%s' "$CTL_IP" "$RW_PROXY_PORT" "$E2E_RW_URL_PATH"; }

# rw_credentials ROOT: the stand-in for the instance role: the writer's Prometheus gets the
# suite's access key in its environment (the AWS SDK's credential chain reads it first).
rw_credentials() {
  local dir=$1/etc/systemd/system/prometheus.service.d
  install -d -m 0755 "$dir"
  printf '[Service]\nEnvironment=AWS_ACCESS_KEY_ID=%s\nEnvironment=AWS_SECRET_ACCESS_KEY=%s\n' \
    "$E2E_AWS_ACCESS_KEY" "$E2E_AWS_SECRET_KEY" > "$dir/promfed-e2e-aws.conf"
  chmod 0600 "$dir/promfed-e2e-aws.conf"
}

# rw_receiver_start: the receiving Prometheus, on the ctl namespace's loopback.
rw_receiver_start() {
  mkdir -p "$WORK/rw-receiver"
  printf 'global:\n  scrape_interval: 1m\n' > "$WORK/rw-receiver.yml"
  svc_start rw-receiver "$CTL_NS" prometheus --config.file="$WORK/rw-receiver.yml" \
    --storage.tsdb.path="$WORK/rw-receiver" --web.listen-address="127.0.0.1:$RW_RECEIVER_PORT" \
    --web.enable-remote-write-receiver
}
rw_receiver_stop() {
  [[ -n ${SVC_PID[rw-receiver]:-} ]] && proc_stop "${SVC_PID[rw-receiver]}"
  SVC_PID[rw-receiver]=
}
rw_receiver_ready() { in_ctl curl -sf -o /dev/null --max-time 3 "http://127.0.0.1:$RW_RECEIVER_PORT/-/ready"; }

# rw_up: the receiver and the signature-checking proxy in front of it.
rw_up() {
  rw_receiver_start
  svc_start rw-proxy "$CTL_NS" python3 "$E2E_DIR/lib/rw_proxy.py" "$CTL_IP" "$RW_PROXY_PORT" \
    "http://127.0.0.1:$RW_RECEIVER_PORT/api/v1/write" "$E2E_AWS_REGION" "$E2E_AWS_ACCESS_KEY" \
    "$E2E_AWS_SECRET_KEY" "$WORK/rw-requests.jsonl"
}

# rw_query PROMQL [TIME]: the receiver's answer (JSON).
rw_query() {
  local -a at=()
  [[ -n ${2:-} ]] && at=(--data-urlencode "time=$2")
  in_ctl curl -sS -g --max-time 10 "http://127.0.0.1:$RW_RECEIVER_PORT/api/v1/query" --get \
    --data-urlencode "query=$1" "${at[@]}"
}
# rw_count PROMQL [TIME]: the sum of the answer's values; "error" when the query failed.
rw_count() { rw_query "$@" | jq -r 'if .status == "success" then ([.data.result[].value[1] | tonumber] | add // 0) else "error" end' || echo error; }

rw_requests_signed() {
  local n bad
  n=$(wc -l < "$WORK/rw-requests.jsonl" 2>/dev/null || echo 0)
  bad=$(jq -s '[.[] | select(.problem != "")] | length' "$WORK/rw-requests.jsonl" 2>/dev/null || echo 0)
  ((n >= 5 && bad == 0))
}

rw_both_replicas_arrive() {
  local got
  got=$(rw_query 'count by (cluster, __replica__) ({__name__=~"federate:.+"})' |
    jq -r '[.data.result[].metric | "\(.cluster)/\(.__replica__)"] | sort | join(" ")')
  [[ $got == "$E2E_STACK-primaries/primary-a $E2E_STACK-primaries/primary-b" ]]
}

# rw_lag NAME: the writer's remote_write lag in seconds, as its own recording rule says.
rw_lag() {
  prom_query "$1" 'federate:prometheus_remote_storage_lag_seconds:max{remote_name="amp"}' |
    jq -r '[.data.result[].value[1] | tonumber] | max // -1'
}
rw_behind_alerted() {
  local n
  n=$(prom_query "$E2E_PRIMARY" 'ALERTS{alertname="RemoteWriteBehind"}' | jq -r '.data.result | length')
  [[ $n =~ ^[0-9]+$ ]] && ((n > 0))
}
rw_drained() { local lag; lag=$(rw_lag "$E2E_PRIMARY"); [[ $lag != -1 ]] && (($(printf '%.0f' "$lag") < 30)); }

check_remote_write() {
  if retry_until 120 5 rw_requests_signed; then
    pass "rw-requests-signed: $(wc -l < "$WORK/rw-requests.jsonl") requests, every one SigV4 for aps in $E2E_AWS_REGION with a verified signature"
  else
    fail "rw-requests-signed" "$(jq -sc '[.[] | select(.problem != "")][:3]' "$WORK/rw-requests.jsonl" 2>/dev/null) $(tail -3 "$WORK/logs/rw-proxy.log")"
  fi
  # The checker can say no: a request without a signature is refused.
  local code
  code=$(http_code in_ctl curl -sS --max-time 5 -X POST --data-binary x "$(rw_url)")
  if [[ $code == 403 ]] && tail -1 "$WORK/rw-requests.jsonl" | jq -e '.problem | startswith("no well-formed SigV4")' >/dev/null; then
    pass "rw-unsigned-refused"
  else
    fail "rw-unsigned-refused" "an unsigned request got $code"
  fi
  if retry_until 120 5 rw_both_replicas_arrive; then
    pass "rw-aggregates-arrive: from both primaries, AMP HA labels cluster=$E2E_STACK-primaries and __replica__"
  else
    fail "rw-aggregates-arrive" "$(rw_query 'count by (cluster, __replica__) ({__name__=~".+"})')"
  fi
  # Only the selection (federate:.+), no replica label, and a primary's own name dropped
  # while a secondary's (the aggregate's origin) stays.
  local other replica own origin
  other=$(rw_count 'count({__name__=~".+", __name__!~"federate:.+"})')
  replica=$(rw_count 'count({__name__=~"federate:.+", replica!=""})')
  own=$(rw_count 'count({__name__=~"federate:.+", prometheus=~"primary-.+"})')
  origin=$(rw_count 'count(federate:up:sum{prometheus=~"secondary-.+"})')
  if [[ $other == 0 && $replica == 0 && $own == 0 && $origin =~ ^[0-9]+$ ]] && ((origin > 0)); then
    pass "rw-selection-and-labels: only federate:* series; $origin federate:up:sum series keep their secondary"
  else
    fail "rw-selection-and-labels" "other series $other, with replica $replica, naming a primary $own, from secondaries $origin"
  fi

  # Outage: the receiver stops; the lag grows past 2 minutes and RemoteWriteBehind goes
  # pending on the primary. It returns; the queue drains and the gap is filled.
  local t0 t1 t2 detect drain filled
  t0=$(date +%s)
  rw_receiver_stop
  if retry_until 330 5 rw_behind_alerted; then
    detect=$(($(date +%s) - t0))
    pass "rw-outage-alerted: RemoteWriteBehind pending ${detect}s after the receiver stopped (lag > 120 s)"
  else
    fail "rw-outage-alerted" "no RemoteWriteBehind after 330 s; lag $(rw_lag "$E2E_PRIMARY")"
  fi
  t1=$(date +%s)
  rw_receiver_start
  retry_until 60 1 rw_receiver_ready || true
  if retry_until 300 5 rw_drained; then
    t2=$(date +%s)
    drain=$((t2 - t1))
    pass "rw-queue-drains: lag under 30 s ${drain}s after the receiver returned"
  else
    fail "rw-queue-drains" "lag still $(rw_lag "$E2E_PRIMARY") s after 300 s"
  fi
  # The primary's own heartbeat, written during the outage, reached the receiver afterwards.
  filled=$(rw_count "count_over_time(federate:heartbeat:time{__replica__=\"$E2E_PRIMARY\", prometheus=\"\"}[$((t1 - t0 - 30))s])" "$((t1 - 10))")
  if [[ $filled =~ ^[0-9]+$ ]] && ((filled > 0)); then
    pass "rw-gap-filled: $filled heartbeat samples from inside the $((t1 - t0)) s outage arrived afterwards"
  else
    fail "rw-gap-filled" "no sample of the outage window on the receiver"
  fi
  printf 'FIGURE remote_write: %s signed requests; outage detected (RemoteWriteBehind pending) after %ss, queue drained %ss after the receiver returned\n' \
    "$(wc -l < "$WORK/rw-requests.jsonl")" "${detect:-?}" "${drain:-?}"
}
