# shellcheck shell=bash
# Provisioning phases and the checks run against the converged hosts. All traffic goes
# from the ctl namespace to addresses inside the test's namespaces.

E2E_FEDERATION_TIMEOUT=${E2E_FEDERATION_TIMEOUT:-240}
E2E_ALERT_TIMEOUT=${E2E_ALERT_TIMEOUT:-300}
PROM_PORT=9090
NODE_PORT=9100

# hcurl NAME PORT PATH [CURL ARGS...]: HTTPS to a host, verified against the stack CA
# for its private DNS name.
hcurl() {
  local name=$1 port=$2 path=$3
  shift 3
  in_ctl curl -sS -g --max-time 15 --cacert "$OUTDIR/ca.pem" \
    --resolve "$(fqdn "$name"):$port:${HOST_IP[$name]}" "$@" "https://$(fqdn "$name"):$port$path"
}
# acurl: the same with the web credentials (kept in a file, not on the command line).
acurl() {
  local name=$1 port=$2 path=$3
  shift 3
  hcurl "$name" "$port" "$path" -K "$WORK/curl-auth" "$@"
}
http_code() { "$@" -o /dev/null -w '%{http_code}' 2>/dev/null || true; }

# prom_query NAME PROMQL: the JSON of an instant query.
prom_query() { acurl "$1" "$PROM_PORT" /api/v1/query --get --data-urlencode "query=$2"; }

secondaries() {
  local name
  for name in "${E2E_HOSTS[@]}"; do is_primary "$name" || printf '%s\n' "$name"; done
}
primaries() {
  local name
  for name in "${E2E_HOSTS[@]}"; do is_primary "$name" && printf '%s\n' "$name"; done
  return 0
}

# Alert names defined by the prometheus role's rule files.
role_alert_names() {
  grep -rhoE '^\s*-?\s*alert:\s*["'\'']?[A-Za-z0-9_]+' "$E2E_ANSIBLE_DIR/roles/prometheus" 2>/dev/null |
    sed -E 's/.*alert:\s*["'\'']?//' | sort -u
}

changed_tasks() {
  awk '/^TASK \[/ {t = $0} /^changed:/ {print "  " t " " $0}' "$WORK/logs/converge-$1-$2.log"
}

phase_converge() {
  local name n
  timer_start first-converge
  converge_all 1
  timer_stop first-converge
  FIRST_CONVERGE_FAILED=("${CONVERGE_FAILED[@]}")
  CONVERGED_AT=$SECONDS
  for name in "${E2E_HOSTS[@]}"; do
    if [[ " ${CONVERGE_FAILED[*]} " == *" $name "* ]]; then
      fail "first-converge-$name" "see $WORK/logs/converge-$name-1.log (E2E_KEEP_WORK=1 keeps it)"
    else
      pass "first-converge-$name"
    fi
  done

  timer_start re-run
  converge_all 2
  timer_stop re-run
  for name in "${E2E_HOSTS[@]}"; do
    n=$(changed_count "$name" 2)
    if [[ " ${CONVERGE_FAILED[*]} " == *" $name "* ]]; then
      fail "idempotent-$name" "second run failed"
    elif [[ $n == 0 ]]; then
      pass "idempotent-$name"
    else
      fail "idempotent-$name" "changed=$n on the second run"
      changed_tasks "$name" 2 >&2
    fi
  done
}

# has_federate_series NAME: a secondary's /federate returns aggregated series.
has_federate_series() {
  local body
  body=$(acurl "$1" "$PROM_PORT" /federate --get --data-urlencode 'match[]={__name__=~"federate:.+"}' 2>/dev/null) &&
    grep -q '^federate:' <<<"$body"
}

# federate_bytes NAME SELECTOR: size of a /federate answer (0 when the request fails).
federate_bytes() {
  local body
  body=$(acurl "$1" "$PROM_PORT" /federate --get --data-urlencode "match[]=$2" 2>/dev/null) || body=
  printf '%s' "$body" | wc -c
}

# selector_for NAME: a selector for federate:* series carrying NAME's external labels.
selector_for() {
  jq -r '"{__name__=~\"federate:.+\"" + ([.prometheus_external_labels // {} | to_entries[]
          | ",\(.key)=\"\(.value)\""] | join("")) + "}"' "$WORK/vars/$1.json"
}

# primary_has_series_from SECONDARY [PRIMARY]: PRIMARY (default E2E_PRIMARY) holds federate:*
# series of SECONDARY.
primary_has_series_from() {
  prom_query "${2:-$E2E_PRIMARY}" "count($(selector_for "$1"))" 2>/dev/null |
    jq -e '.data.result[0].value[1] | tonumber > 0' >/dev/null 2>&1
}

# system_ok NAME: systemd reports no failed unit (the roles' services included).
system_ok() {
  local state
  state=$(on "$1" 'systemctl is-system-running' </dev/null 2>/dev/null) || true
  [[ $state == running ]] && return 0
  printf '%s; failed units: %s\n' "${state:-unknown}" \
    "$(on "$1" 'systemctl --failed --no-legend --plain | cut -d" " -f1 | tr "\n" " "' </dev/null 2>/dev/null)"
  return 1
}

check_endpoints() {
  local name code body
  for name in "${E2E_HOSTS[@]}"; do
    check "no-failed-units-$name" system_ok "$name"

    code=$(http_code hcurl "$name" "$PROM_PORT" '/federate?match[]=up')
    if [[ $code == 401 ]]; then pass "federate-needs-auth-$name"; else fail "federate-needs-auth-$name" "HTTP $code, want 401"; fi

    code=$(http_code in_ctl curl -sS --max-time 10 "http://${HOST_IP[$name]}:$PROM_PORT/-/ready")
    if [[ $code != 200 ]]; then pass "plain-http-refused-$name (HTTP $code)"; else fail "plain-http-refused-$name" "plain HTTP answered 200"; fi

    code=$(http_code acurl "$name" "$PROM_PORT" /-/ready)
    if [[ $code == 200 ]]; then pass "https-ready-$name"; else fail "https-ready-$name" "HTTP $code"; fi

    body=$(acurl "$name" "$NODE_PORT" /metrics -w '\n%{http_code}' 2>/dev/null) || true
    code=${body##*$'\n'}
    if [[ $code == 200 ]] && grep -q '^node_uname_info' <<<"$body"; then
      pass "node-exporter-tls-$name"
    else
      fail "node-exporter-tls-$name" "HTTPS /metrics gave HTTP $code"
    fi
    code=$(http_code in_ctl curl -sS --max-time 10 "http://${HOST_IP[$name]}:$NODE_PORT/metrics")
    if [[ $code != 200 ]]; then pass "node-exporter-no-plain-http-$name (HTTP $code)"; else fail "node-exporter-no-plain-http-$name" "plain HTTP answered 200"; fi
  done
}

check_federation() {
  local name t0 agg all
  for name in $(secondaries); do
    if retry_until "$E2E_FEDERATION_TIMEOUT" 3 has_federate_series "$name"; then
      pass "secondary-federate-endpoint-$name"
    else
      fail "secondary-federate-endpoint-$name" "no federate:* series within ${E2E_FEDERATION_TIMEOUT}s"
    fi
  done

  name=$(secondaries | head -n 1)
  agg=$(federate_bytes "$name" '{__name__=~"federate:.+"}')
  all=$(federate_bytes "$name" '{__name__=~".+"}')
  printf 'FIGURE federate payload on %s: aggregated %d bytes, everything %d bytes\n' "$name" "$agg" "$all"
  if ((agg > 0 && agg < all)); then pass "federate-payload-smaller"; else fail "federate-payload-smaller" "aggregated $agg vs all $all bytes"; fi

  # Every replica federates every secondary on its own.
  local prim
  t0=$SECONDS
  for prim in $(primaries); do
    for name in $(secondaries); do
      if retry_until "$E2E_FEDERATION_TIMEOUT" 5 primary_has_series_from "$name" "$prim"; then
        pass "$prim-federates-$name ($(query_value "$prim" "count($(selector_for "$name"))") series)"
      else
        fail "$prim-federates-$name" "no $(selector_for "$name") on $prim within ${E2E_FEDERATION_TIMEOUT}s"
      fi
    done
  done
  printf 'FIGURE federated series of every secondary on every primary after %ds of polling (%ds after the first converge ended)\n' \
    $((SECONDS - t0)) $((SECONDS - CONVERGED_AT))
  check_heartbeat_federated
}

# ext_matchers NAME: NAME's external labels as PromQL matchers (",stack=\"e2e\",...").
ext_matchers() {
  jq -r '[.prometheus_external_labels // {} | to_entries[] | ",\(.key)=\"\(.value)\""] | join("")' \
    "$WORK/vars/$1.json"
}

# job_instance NAME PROMQL: the sorted job and instance labels of a query's series, with
# the labels the primary would have renamed on a clash (exported_job, exported_instance).
job_instance() {
  prom_query "$1" "$2" 2>/dev/null | jq -er '.data.result[].metric
    | "job=\"\(.job // "")\",instance=\"\(.instance // "")\""
      + (if .exported_job or .exported_instance
         then ",exported_job=\"\(.exported_job // "")\",exported_instance=\"\(.exported_instance // "")\""
         else "" end)' 2>/dev/null | sort
}

# labels_honored SECONDARY: the primary's copies of the secondary's federate:up:max series
# (one per target) carry the job and instance labels they have on the secondary itself,
# not job="federate" and the secondary's address (honor_labels). The series compared by
# name is the secondary's own node_exporter; then the whole set must match.
labels_honored() {
  local sec=$1 own want got
  own="job=\"node\",instance=\"$(fqdn "$sec"):$NODE_PORT\""
  want=$(job_instance "$sec" 'federate:up:max') || true
  grep -qxF "$own" <<<"$want" || { printf 'no federate:up:max{%s} on %s itself\n' "$own" "$sec"; return 1; }
  got=$(job_instance "$E2E_PRIMARY" "{__name__=\"federate:up:max\"$(ext_matchers "$sec")}") || true
  if grep -q 'exported_\|job="federate"' <<<"$got"; then
    printf 'the primary relabelled series of %s, e.g. federate:up:max{%s}\n' "$sec" \
      "$(grep -m1 'exported_\|job="federate"' <<<"$got")"
    return 1
  fi
  if ! grep -qxF "$own" <<<"$got" || [[ $got != "$want" ]]; then
    printf 'federate:up:max from %s on the primary: {%s}; on %s: {%s}\n' "$sec" \
      "$(paste -sd';' <<<"$got")" "$sec" "$(paste -sd';' <<<"$want")"
    return 1
  fi
  printf '%d series as on %s, e.g. federate:up:max{%s}\n' "$(grep -c . <<<"$got")" "$sec" "$own"
}

# labels_honored_out SECONDARY: labels_honored, keeping its last line in HONOR_OUT.
labels_honored_out() {
  local rc=0
  HONOR_OUT=$(labels_honored "$1" 2>&1) || rc=$?
  HONOR_OUT=$(tail -n 1 <<<"$HONOR_OUT")
  return "$rc"
}

check_honor_labels() {
  local name
  for name in $(secondaries); do
    # The primary pulls every 30 s: a series the secondary just recorded may be missing.
    if retry_until 90 5 labels_honored_out "$name"; then
      pass "honor-labels-$name ($HONOR_OUT)"
    else
      fail "honor-labels-$name" "$HONOR_OUT"
    fi
  done
}

# promtool_check WHAT FILE NAME: `promtool check WHAT FILE` on host NAME, with the promtool
# next to the running Prometheus (the package's or the archive's), as root: the rendered
# files, the rule files and the web password file are not world-readable.
promtool_check() {
  local what=$1 file=$2
  # shellcheck disable=SC2016 # expanded on the host
  on "$3" 'p=$(sudo readlink -f /proc/$(pidof -s prometheus)/exe) && sudo "${p%/*}/promtool" check '"$what $file" </dev/null 2>&1
}

check_promtool() {
  local name out
  for name in "${E2E_HOSTS[@]}"; do
    if out=$(promtool_check config /etc/prometheus/prometheus.yml "$name"); then
      pass "promtool-check-config-$name"
    else
      fail "promtool-check-config-$name" "$(grep -v '^\s*$' <<<"$out" | tail -n 1)"
      printf '%s\n' "$out" | sed "s/^/  [$name] /" >&2
    fi
    if out=$(promtool_check web-config /etc/prometheus/web.yml "$name"); then
      pass "promtool-check-web-config-$name"
    else
      fail "promtool-check-web-config-$name" "$(grep -v '^\s*$' <<<"$out" | tail -n 1)"
    fi
  done
}

# probe_ok: the primary sees a successful blackbox probe federated from a secondary.
probe_ok() {
  prom_query "$E2E_PRIMARY" 'federate:probe_success:min{prometheus!~"primary-.+"} == 1' 2>/dev/null |
    jq -e '.data.result | length > 0' >/dev/null
}

check_probe() {
  if retry_until "$E2E_FEDERATION_TIMEOUT" 5 probe_ok; then
    pass "blackbox-probe-federated"
  else
    fail "blackbox-probe-federated" "no federate:probe_success:min == 1 on $E2E_PRIMARY"
  fi
}

check_rules() {
  local rules alert prim missing
  local -a names
  mapfile -t names < <({ role_alert_names; printf 'FederationFailing\n'; } | sort -u)
  for prim in $(primaries); do
    missing=()
    rules=$(acurl "$prim" "$PROM_PORT" /api/v1/rules 2>/dev/null) || { fail "rules-loaded-on-$prim" "GET /api/v1/rules failed"; continue; }
    for alert in "${names[@]}"; do
      jq -e --arg a "$alert" '[.data.groups[].rules[] | select(.type == "alerting") | .name] | index($a)' \
        <<<"$rules" >/dev/null || missing+=("$alert")
    done
    if ((${#missing[@]} == 0)); then
      pass "rules-loaded-on-$prim (${#names[@]} alerts: ${names[*]})"
    else
      fail "rules-loaded-on-$prim" "missing: ${missing[*]}"
    fi
  done
}

# prom_count NAME PROMQL: the number of series an instant query returns (0 on error).
prom_count() {
  local n
  n=$(prom_query "$1" "$2" 2>/dev/null | jq -r '.data.result | length' 2>/dev/null) || n=0
  printf '%s\n' "${n:-0}"
}
# alertmanagers_up NAME: NAME scrapes every primary's Alertmanager.
alertmanagers_up() { (($(prom_count "$1" 'up{job="alertmanager"} == 1') == $(primaries | wc -l))); }

# Every primary watches every Alertmanager: the job answers for each, their notification
# counters are there, and none of the Alertmanager* alerts is pending or firing on a
# healthy stack.
check_alertmanager_scraped() {
  local n body prim count
  count=$(primaries | wc -l)
  for prim in $(primaries); do
    if retry_until 60 5 alertmanagers_up "$prim"; then
      pass "alertmanagers-scraped-on-$prim (up{job=\"alertmanager\"} == 1 for $count)"
    else
      fail "alertmanagers-scraped-on-$prim" "$(prom_count "$prim" 'up{job="alertmanager"} == 1') of $count Alertmanagers up on $prim"
    fi
    n=$(prom_count "$prim" 'count by (instance) (alertmanager_notifications_total{job="alertmanager"})')
    if ((n == count)); then
      pass "alertmanager-metrics-on-$prim (alertmanager_notifications_total of $n instances)"
    else
      fail "alertmanager-metrics-on-$prim" "alertmanager_notifications_total of $n instances on $prim, want $count"
    fi
    body=$(prom_query "$prim" 'ALERTS{alertname=~"Alertmanager.+"}' 2>/dev/null) || body=
    if ! jq -e '.status == "success"' <<<"$body" >/dev/null 2>&1; then
      fail "alertmanager-alerts-quiet-on-$prim" "the ALERTS query failed"
      continue
    fi
    n=$(jq -r '[.data.result[] | "\(.metric.alertname) (\(.metric.alertstate))"] | join(", ")' <<<"$body")
    if [[ -z $n ]]; then pass "alertmanager-alerts-quiet-on-$prim"; else fail "alertmanager-alerts-quiet-on-$prim" "$n"; fi
  done
}

# heartbeat_times: the receive times of the Watchdog posts on the sink's heartbeat path,
# one a line.
heartbeat_times() {
  [[ -s $WORK/sink/notifications.jsonl ]] || return 0
  jq -r --arg p "$E2E_HEARTBEAT_PATH" 'select(.path == $p and .body.commonLabels.alertname? == "Watchdog"
      and .body.status? == "firing") | .received' "$WORK/sink/notifications.jsonl" 2>/dev/null
}
heartbeats_at_least() { (($(heartbeat_times | wc -l) >= $1)); }

# The dead-man's switch: Watchdog reaches the heartbeat URL (the sink's /heartbeat) again
# and again, about every E2E_HEARTBEAT_INTERVAL, and never the regular webhook receiver.
# The posts pile up during the earlier stages, so this rarely waits.
check_heartbeat() {
  local interval n gaps other lo mean hi
  interval=${E2E_HEARTBEAT_INTERVAL%s}
  if retry_until $((4 * interval + 30)) 2 heartbeats_at_least 2; then
    n=$(heartbeat_times | wc -l)
    # Gaps between consecutive posts: min, mean, max (seconds).
    gaps=$(heartbeat_times | awk 'NR > 1 {g = $1 - p; s += g; if (NR == 2 || g < lo) lo = g; if (g > hi) hi = g}
      {p = $1} END {printf "%.1f %.1f %.1f", lo, s / (NR - 1), hi}')
    read -r lo mean hi <<<"$gaps"
    printf 'FIGURE heartbeat: %d Watchdog posts on %s, spacing min %ss mean %ss max %ss (interval %ss)\n' \
      "$n" "$E2E_HEARTBEAT_PATH" "$lo" "$mean" "$hi" "$interval"
    # About the interval: Alertmanager repeats on its group_interval ticks, so a gap is a
    # whole number of intervals; more than two would be a missed heartbeat.
    if awk -v lo="$lo" -v hi="$hi" -v i="$interval" 'BEGIN {exit !(lo >= 0.5 * i && hi <= 2.5 * i)}'; then
      pass "heartbeat-repeats ($n Watchdog posts, mean spacing ${mean}s for an interval of ${interval}s)"
    else
      fail "heartbeat-repeats" "spacing min ${lo}s max ${hi}s for an interval of ${interval}s"
    fi
  else
    fail "heartbeat-repeats" "fewer than 2 Watchdog posts on $E2E_HEARTBEAT_PATH in $WORK/sink/notifications.jsonl"
  fi
  other=$(jq -r --arg p "$E2E_HEARTBEAT_PATH" 'select(.path != $p and ([.body.alerts[]?.labels.alertname]
      | index("Watchdog"))) | .path' "$WORK/sink/notifications.jsonl" 2>/dev/null | sort | uniq -c | xargs) || other=
  if [[ -z $other ]]; then
    pass "watchdog-only-to-heartbeat (no Watchdog on the webhook receiver)"
  else
    fail "watchdog-only-to-heartbeat" "Watchdog posted to: $other"
  fi
}

prom_ready() { [[ $(http_code acurl "$1" "$PROM_PORT" /-/ready) == 200 ]]; }

check_reboots() {
  local name=$E2E_PRIMARY reads
  log "rebooting $name (poweroff, boot again)"
  reads=$(ssm_reads "$(manifest_host "$name" host_key_parameter)") || reads=0
  # /run is a fresh tmpfs on every boot: the marker proves the host really rebooted.
  on "$name" 'sudo touch /run/promfed-e2e-before-reboot' </dev/null || true
  host_stop "$name" TERM
  host_boot "$name"
  if host_wait "$name" && ! on "$name" 'test -e /run/promfed-e2e-before-reboot' </dev/null; then
    pass "rebooted-$name"
  else
    fail "rebooted-$name" "host did not come back from a reboot"
  fi
  if retry_until 120 2 prom_ready "$name"; then
    pass "serves-after-reboot-$name"
  else
    fail "serves-after-reboot-$name" "Prometheus not ready within 120s of boot"
  fi
  check "no-failed-units-after-reboot-$name" system_ok "$name"
  # The key survives the reboot and the boot unit fetched it again.
  check_host_key "$name" after-reboot- "$reads"
  local first
  first=$(secondaries | head -n 1)
  if retry_until 120 5 primary_has_series_from "$first" "$name"; then
    pass "federates-after-reboot-$name"
  else
    fail "federates-after-reboot-$name" "no series from $first after reboot"
  fi

  name=$E2E_ARCHIVE_HOST
  log "booting $name again"
  reads=$(ssm_reads "$(manifest_host "$name" host_key_parameter)") || reads=0
  host_boot "$name"
  if host_wait "$name" && retry_until 120 2 prom_ready "$name"; then
    pass "serves-after-reboot-$name"
  else
    fail "serves-after-reboot-$name" "Prometheus not ready within 120s of boot"
  fi
  check "no-failed-units-after-reboot-$name" system_ok "$name"
  check_host_key "$name" after-reboot- "$reads"
  local exe
  # shellcheck disable=SC2016 # expanded on the host
  exe=$(on "$name" 'sudo readlink -f /proc/$(pidof -s prometheus)/exe' </dev/null 2>/dev/null) || true
  if [[ $exe == /opt/prometheus-* ]]; then pass "archive-install-$name ($exe)"; else fail "archive-install-$name" "prometheus runs from '${exe:-?}'"; fi
}

# demo_query_answers N: entry N of DEMO_QUERIES returns at least one series on the primary.
demo_query_answers() {
  local n
  n=$(prom_query "$E2E_PRIMARY" "$(demo_query_text "$1")" 2>/dev/null | jq -r '.data.result | length' 2>/dev/null) || n=0
  DEMO_QUERY_SERIES=${n:-0}
  ((DEMO_QUERY_SERIES > 0))
}

# The queries make demo tells a new user to try must answer on a fresh federation.
check_demo_queries() {
  local i
  for i in "${!DEMO_QUERIES[@]}"; do
    if retry_until 60 5 demo_query_answers "$i"; then
      pass "demo-query-$((i + 1)) ($DEMO_QUERY_SERIES series: $(demo_query_text "$i"))"
    else
      fail "demo-query-$((i + 1))" "no series for $(demo_query_text "$i")"
    fi
  done
}

# The verification in named stages, in order, each one function. An operator can leave
# stages out (E2E_SKIP=reboots,outage) or run only some (E2E_ONLY=shards,demo-queries): a
# skipped stage prints a SKIP line and counts as skipped, never as passed. outage stops
# hosts that reboots starts again, so reboots needs outage. readiness comes last: it stops
# and starts the primary's Prometheus (and waits until it is ready again).
E2E_STAGES=(host-keys endpoints promtool hardening patching workloads federation honor-labels discovery
  probes shards demo-queries dashboards cli remote-write user-rules stale-user-rules rules alertmanager-cluster outage reboots
  failover heartbeat-gap readiness data-volume volume-replace restore chaos)
declare -A E2E_STAGE_FNS=(
  [host-keys]=check_host_keys [endpoints]=check_endpoints [promtool]=check_promtool [hardening]=check_hardening
  [patching]=check_patching [workloads]=check_workloads
  [federation]=check_federation [honor-labels]=check_honor_labels [discovery]=check_discovery
  [probes]="check_probe check_probes_edge" [shards]=check_shards_on_primary
  [demo-queries]=check_demo_queries [dashboards]=check_dashboards [cli]=check_cli [remote-write]=check_remote_write [user-rules]=check_user_rules
  [stale-user-rules]=check_stale_user_rules [rules]="check_rules check_alertmanager_scraped check_heartbeat"
  [alertmanager-cluster]=check_alertmanager_cluster
  [outage]="check_outage_and_delivery check_outage_notified_once" [reboots]=check_reboots
  [failover]=check_failover [heartbeat-gap]=check_heartbeat_gap [readiness]=check_readiness
  [data-volume]=check_data_volume [volume-replace]=check_volume_replace [restore]=check_restore [chaos]=check_chaos
)
declare -A E2E_STAGE_NEEDS=([reboots]=outage)
declare -A E2E_STAGE_RAN=()

# stage_listed NAME LIST: NAME is in the comma-separated LIST.
stage_listed() { [[ ",${2// /}," == *",$1,"* ]]; }

# stages_check: every stage named in E2E_SKIP or E2E_ONLY exists.
stages_check() {
  local name
  local skip=${E2E_SKIP:-} only=${E2E_ONLY:-}
  for name in ${skip//,/ } ${only//,/ }; do
    [[ -n ${E2E_STAGE_FNS[$name]:-} ]] || die "unknown stage '$name' in E2E_SKIP/E2E_ONLY; stages: ${E2E_STAGES[*]}"
  done
}

run_stage() {
  # Unusual names: the check functions assign to plain names such as $name (bash's
  # dynamic scope would let them overwrite ours).
  local stage_name=$1 stage_fn stage_need=${E2E_STAGE_NEEDS[$1]:-}
  if stage_listed "$stage_name" "${E2E_SKIP:-}" || { [[ -n ${E2E_ONLY:-} ]] && ! stage_listed "$stage_name" "$E2E_ONLY"; }; then
    skip "stage $stage_name" "left out by E2E_SKIP/E2E_ONLY"
    return
  fi
  if [[ -n $stage_need && -z ${E2E_STAGE_RAN[$stage_need]:-} ]]; then
    skip "stage $stage_name" "needs stage $stage_need, which did not run"
    return
  fi
  log "stage $stage_name"
  # Checks that read the sink's log look at what arrived since their stage began.
  # shellcheck disable=SC2034 # read by lib/verify_ha.sh
  E2E_STAGE_T0=$EPOCHREALTIME
  for stage_fn in ${E2E_STAGE_FNS[$stage_name]}; do "$stage_fn"; done
  E2E_STAGE_RAN[$stage_name]=1
}

run_provisioning_and_checks() {
  if [[ ! -f $E2E_ANSIBLE_DIR/site.yml ]]; then
    fail "playbook-present" "$E2E_ANSIBLE_DIR/site.yml does not exist"
    return
  fi
  provision_prepare
  phase_converge
  if ((${#FIRST_CONVERGE_FAILED[@]})); then
    # Every check below would only time out against unconverged hosts.
    fail "verification" "skipped: the first converge failed on ${FIRST_CONVERGE_FAILED[*]}"
    return
  fi
  timer_start verify
  local each_stage
  for each_stage in "${E2E_STAGES[@]}"; do
    run_stage "$each_stage"
  done
  timer_stop verify
}
