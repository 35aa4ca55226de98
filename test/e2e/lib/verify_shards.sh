# shellcheck shell=bash
# Checks of the shards (issue 8): the workloads are discovered through EC2 (moto), DNS
# (dnsmasq) and static configuration; the primary holds only the shards' federate:*
# aggregates; the user's rules are deployed as they are in monitoring/; an outage of a
# workload exporter fires the example alert and reaches the webhook sink and SNS.

# The apps shard discovers the Team=apps instances through EC2 (test/e2e/shards.json).
E2E_APPS_HOST="secondary-apps-1"
E2E_EDGE_HOST="secondary-edge-1"
# The workload whose node_exporter is stopped to fire ServiceTargetsDown (Team=apps).
E2E_VICTIM=workload-1
E2E_SERVICE_ALERT=ServiceTargetsDown

# workload_job_re: the workload jobs of every secondary as a PromQL regex (a|b|c).
workload_job_re() {
  jq -rs '[.[] | (.prometheus_workload_jobs // [])[].job] | unique | join("|")' "$WORK"/vars/*.json
}

check_workloads() {
  local name
  for name in "${E2E_WORKLOADS[@]}"; do
    check "workload-exporters-$name (node_exporter :$NODE_PORT, process-exporter :$PROCESS_PORT, plain HTTP)" \
      workload_wait "$name"
  done
}

# targets_of HOST JOB: "instance health" of the job's active targets, sorted.
targets_of() {
  acurl "$1" "$PROM_PORT" /api/v1/targets --get --data-urlencode state=active 2>/dev/null |
    jq -r --arg j "$2" '.data.activeTargets[] | select(.scrapePool == $j) | "\(.labels.instance) \(.health)"' |
    sort
}

# targets_are HOST JOB INSTANCE...: the job's targets are exactly these instances, all up;
# prints what it found (TARGETS_OUT keeps it for the check's line).
targets_are() {
  local host=$1 job=$2 got want
  shift 2
  want=$(printf '%s up\n' "$@" | sort)
  got=$(targets_of "$host" "$job") || true
  TARGETS_OUT=$(tr '\n' ',' <<<"$got" | sed 's/,$//')
  [[ $got == "$want" ]]
}

# target_labels HOST JOB JQ-FILTER: every active target of the job satisfies the filter
# (on its labels).
target_labels() {
  acurl "$1" "$PROM_PORT" /api/v1/targets --get --data-urlencode state=active 2>/dev/null |
    jq -e --arg j "$2" "[.data.activeTargets[] | select(.scrapePool == \$j) | .labels] as \$t
      | (\$t | length > 0) and (\$t | all($3))" >/dev/null
}

# expect_targets NAME HOST JOB INSTANCE...: one check line.
expect_targets() {
  local name=$1 host=$2 job=$3
  shift 3
  TARGETS_OUT=
  # EC2 and DNS discovery refresh every 60 s and 30 s; the first scrape follows.
  if retry_until 150 5 targets_are "$host" "$job" "$@"; then
    pass "$name ($host, job $job: $TARGETS_OUT)"
  else
    fail "$name" "$host job $job has '${TARGETS_OUT:-no targets}', want '$* up'"
  fi
}

check_discovery() {
  local name
  local -a apps_node=() apps_process=() others=()
  for name in "${E2E_WORKLOADS[@]}"; do
    if [[ ${WORKLOAD_TEAM[$name]} == apps ]]; then
      apps_node+=("$name:$NODE_PORT")
      apps_process+=("$name:$PROCESS_PORT")
    else
      others+=("$name")
    fi
  done
  # Exactly the Team=apps instances, named by their Name tag (not their IP).
  expect_targets "ec2-discovery-matching-instances-only" "$E2E_APPS_HOST" apps-node "${apps_node[@]}"
  expect_targets "ec2-discovery-second-job" "$E2E_APPS_HOST" apps-process "${apps_process[@]}"
  if target_labels "$E2E_APPS_HOST" apps-node \
    '(.instance_id | startswith("i-")) and .availability_zone != null and .instance_type == "t3.micro" and .service == "workload"'; then
    pass "ec2-discovery-labels (instance_id, availability_zone, instance_type, Service tag as service; not discovered: ${others[*]})"
  else
    fail "ec2-discovery-labels" "apps-node targets lack instance_id, availability_zone, instance_type or service"
  fi

  local d=$E2E_DNS_DOMAIN
  expect_targets "dns-srv-discovery" "$E2E_EDGE_HOST" edge-node "workload-2.$d:$NODE_PORT" "workload-3.$d:$NODE_PORT"
  expect_targets "dns-a-discovery" "$E2E_EDGE_HOST" edge-process "${HOST_IP[workload-3]}:$PROCESS_PORT"
  if target_labels "$E2E_EDGE_HOST" edge-process ".dns_name == \"process.edge.$d\""; then
    pass "dns-discovery-labels (dns_name)"
  else
    fail "dns-discovery-labels" "edge-process targets lack dns_name=process.edge.$d"
  fi
  expect_targets "static-targets" "$E2E_EDGE_HOST" edge-static "workload-2.$d:$PROCESS_PORT"
  if target_labels "$E2E_EDGE_HOST" edge-static '.tier == "frontend"'; then
    pass "static-target-labels (tier=frontend)"
  else
    fail "static-target-labels" "edge-static targets lack tier=frontend"
  fi
}

# probes_ok HOST: every blackbox probe of the host succeeds; PROBES_OUT lists them.
probes_ok() {
  local out
  out=$(prom_query "$1" 'probe_success{job="blackbox"}' 2>/dev/null) || return 1
  PROBES_OUT=$(jq -r '[.data.result[] | "\(.metric.instance) (\(.metric.module))=\(.value[1])"] | join(", ")' <<<"$out")
  jq -e --argjson n "$(jq '.prometheus_probes | length' "$WORK/vars/$1.json")" \
    '(.data.result | length) == $n and ([.data.result[].value[1]] | all(. == "1"))
     and ([.data.result[].metric.module] | all(. != null))' <<<"$out" >/dev/null
}

check_probes_edge() {
  PROBES_OUT=
  if retry_until 90 5 probes_ok "$E2E_EDGE_HOST"; then
    pass "blackbox-probes-per-module ($E2E_EDGE_HOST: $PROBES_OUT)"
  else
    fail "blackbox-probes-per-module" "$E2E_EDGE_HOST: ${PROBES_OUT:-no probe_success series}"
  fi
}

# query_value HOST PROMQL: the first sample's value ("" when the result is empty).
query_value() { prom_query "$1" "$2" 2>/dev/null | jq -r '.data.result[0].value[1] // empty'; }

shard_on_primary() { [[ $(query_value "$E2E_PRIMARY" "count({__name__=~\"federate:.+\",shard=\"$1\"})") -gt 0 ]]; }
shard_service_ok() {
  [[ $(query_value "$E2E_PRIMARY" "federate:service_availability:ratio{shard=\"$1\",job=\"$2\"}") == 1 ]]
}

check_shards_on_primary() {
  local shard host job re raw figure
  re=$(workload_job_re)
  for host in $(secondaries); do
    shard=$(jq -r .promfed_shard "$WORK/vars/$host.json")
    job=$(jq -r '.prometheus_workload_jobs[0].job' "$WORK/vars/$host.json")
    if retry_until 120 5 shard_on_primary "$shard" && retry_until 120 5 shard_service_ok "$shard" "$job"; then
      pass "primary-holds-shard-$shard (federate:service_availability:ratio{shard=\"$shard\",job=\"$job\"} == 1)"
    else
      fail "primary-holds-shard-$shard" "no federate:* series with shard=\"$shard\" (or $job not fully up) on $E2E_PRIMARY"
    fi
  done
  # Raw workload series never cross the federation link; ALERTS* are the primary's own.
  raw=$(prom_query "$E2E_PRIMARY" "count({job=~\"$re\",__name__!~\"federate:.+|ALERTS|ALERTS_FOR_STATE\"})" 2>/dev/null |
    jq -r '.data.result | if length == 0 then "0" else .[0].value[1] end') || raw="query failed"
  if [[ $raw == 0 ]]; then
    pass "primary-has-no-raw-workload-series (count({job=~\"$re\",__name__!~\"federate:.+\"}) is empty)"
  else
    fail "primary-has-no-raw-workload-series" "$raw raw series of the workload jobs on $E2E_PRIMARY"
  fi
  for host in $(secondaries); do
    shard=$(jq -r .promfed_shard "$WORK/vars/$host.json")
    figure=$(printf 'FIGURE shard %s: %s workload series on %s; on %s %s federated series of the shard, %s of them from workload jobs' \
      "$shard" "$(query_value "$host" "count({job=~\"$re\"})")" "$host" "$E2E_PRIMARY" \
      "$(query_value "$E2E_PRIMARY" "count({__name__=~\"federate:.+\",shard=\"$shard\"})")" \
      "$(query_value "$E2E_PRIMARY" "count({__name__=~\"federate:.+\",shard=\"$shard\",job=~\"$re\"})")")
    printf '%s\n' "$figure"
  done
}

# user_rules_identical HOST: the files in rules/user/ on the host are exactly the host's
# prometheus_user_rules, byte for byte, and each is a file of the repository's monitoring/.
user_rules_identical() {
  local host=$1 deployed want repo
  # As root, glob included: the folder is not readable by the login user.
  deployed=$(on "$host" "sudo sh -c 'cd /etc/prometheus/rules/user && sha256sum -- *'" </dev/null 2>/dev/null | sort) || true
  want=$(jq -r '.prometheus_user_rules[] | @base64' "$WORK/vars/$host.json" | while read -r r; do
    printf '%s  %s\n' "$(jq -rj '.content | if type == "object" then .__ansible_unsafe else . end' <<<"$(base64 -d <<<"$r")" | sha256sum | cut -d' ' -f1)" \
      "$(jq -r '.name' <<<"$(base64 -d <<<"$r")")"
  done | sort)
  if [[ -z $want ]]; then
    printf 'no prometheus_user_rules for %s\n' "$host"
    return 1
  fi
  if [[ $deployed != "$want" ]]; then
    printf 'rules/user/ on %s: %s; variables: %s\n' "$host" "$(paste -sd';' <<<"$deployed")" "$(paste -sd';' <<<"$want")"
    return 1
  fi
  repo=$(find "$REPO_ROOT/monitoring" -type f \( -name '*.yml' -o -name '*.yaml' \) -exec sha256sum {} + | cut -d' ' -f1)
  while read -r sum name; do
    if ! grep -qxF "$sum" <<<"$repo"; then
      printf '%s on %s is no file of monitoring/\n' "$name" "$host"
      return 1
    fi
  done <<<"$deployed"
  USER_RULES_OUT=$(awk '{print $2}' <<<"$deployed" | paste -sd' ')
}

# user_rules_loaded HOST: every rule of the host's user rule files is loaded.
user_rules_loaded() {
  local host=$1 rules want missing
  rules=$(acurl "$host" "$PROM_PORT" /api/v1/rules 2>/dev/null) || return 1
  want=$(jq -r '.prometheus_user_rules[].content | if type == "object" then .__ansible_unsafe else . end' "$WORK/vars/$host.json" |
    sed -nE 's/^\s*-?\s*(alert|record):\s*["'\'']?([A-Za-z0-9_:]+).*/\2/p' | sort -u)
  missing=$(comm -23 <(printf '%s\n' "$want") \
    <(jq -r '.data.groups[] | select(.file | contains("/rules/user/")) | .rules[].name' <<<"$rules" | sort -u))
  [[ -z $missing ]] || { printf 'not loaded on %s: %s\n' "$host" "$(paste -sd' ' <<<"$missing")"; return 1; }
  USER_RULES_COUNT=$(grep -c . <<<"$want")
}

check_user_rules() {
  local host out="$WORK/logs/user-rules.out"
  for host in "${E2E_HOSTS[@]}"; do
    # Not in a subshell: the functions leave what they found in USER_RULES_*.
    USER_RULES_OUT=
    if user_rules_identical "$host" > "$out" 2>&1; then
      pass "user-rules-as-in-monitoring-$host ($USER_RULES_OUT)"
    else
      fail "user-rules-as-in-monitoring-$host" "$(tail -n 1 "$out")"
    fi
    USER_RULES_COUNT=
    if user_rules_loaded "$host" > "$out" 2>&1; then
      pass "user-rules-loaded-$host ($USER_RULES_COUNT rules)"
    else
      fail "user-rules-loaded-$host" "$(tail -n 1 "$out")"
    fi
  done
}

# --- the outage: a workload exporter and a secondary stop; alerts reach the receivers ---

alert_firing() {
  jq -e --arg a "$1" --arg s "${2:-}" '[.data.alerts[] | select(.labels.alertname == $a and .state == "firing"
      and ($s == "" or .labels.shard == $s))] | length > 0' <<<"$ALERTS_JSON" >/dev/null
}

# sink_has ALERT SHARD: the webhook sink received a firing notification of ALERT whose
# group (and every alert in it) carries shard=SHARD.
sink_has() {
  [[ -s $WORK/sink/notifications.jsonl ]] || return 1
  jq -e --arg a "$1" --arg s "$2" 'select(.body.status == "firing" and .body.commonLabels.alertname == $a
      and .body.commonLabels.shard == $s and ([.body.alerts[].labels.shard] | all(. == $s)))' \
    "$WORK/sink/notifications.jsonl" >/dev/null 2>&1
}

# sns_has ALERT SHARD: a message in the queue subscribed to the SNS topic names the alert
# and the shard (subject and message come from the alertmanager role's templates).
sns_has() {
  aws_fixture read-queue --queue-url "$(jq -r .queue_url "$WORK/aws.json")" >> "$WORK/sns-messages.jsonl" 2>/dev/null || true
  [[ -s $WORK/sns-messages.jsonl ]] || return 1
  jq -e --arg a "$1" --arg s "$2" 'select((.Subject | contains("[FIRING")) and (.Subject | contains($a))
      and (.Subject | contains("shard " + $s)) and (.Message | contains("shard=" + $s)))' \
    "$WORK/sns-messages.jsonl" >/dev/null 2>&1
}

# shard_queue_has ALERT: the queue that only shard edge's notifications reach holds ALERT.
shard_queue_has() {
  aws_fixture read-queue --queue-url "$(jq -r .shard_queues.edge "$WORK/aws.json")" >> "$WORK/sns-edge-messages.jsonl" 2>/dev/null || true
  jq -e --arg a "$1" 'select((.Subject | contains("[FIRING")) and (.Subject | contains($a)))' \
    "$WORK/sns-edge-messages.jsonl" >/dev/null 2>&1
}

check_outage_and_delivery() {
  local t0 now fired="" sink="" sns="" ff="" snsff="" shard ff_shard victim_job=apps-node secondary=$E2E_ARCHIVE_HOST
  shard=$(jq -r .promfed_shard "$WORK/vars/$E2E_APPS_HOST.json")
  # The primary labels its federation targets with their shard: FederationFailing has it.
  ff_shard=$(jq -r .promfed_shard "$WORK/vars/$secondary.json")
  : > "$WORK/sns-messages.jsonl"
  : > "$WORK/sns-edge-messages.jsonl"
  log "stopping node_exporter on $E2E_VICTIM (job $victim_job of shard $shard) and powering off $secondary"
  t0=$SECONDS
  if workload_exec "$E2E_VICTIM" systemctl stop prometheus-node-exporter.service; then
    pass "workload-exporter-stopped ($E2E_VICTIM:$NODE_PORT)"
  else
    fail "workload-exporter-stopped" "could not stop node_exporter on $E2E_VICTIM"
  fi
  host_stop "$secondary" TERM
  while ((SECONDS - t0 < E2E_ALERT_TIMEOUT)); do
    ALERTS_JSON=$(acurl "$E2E_PRIMARY" "$PROM_PORT" /api/v1/alerts 2>/dev/null) || ALERTS_JSON='{"data":{"alerts":[]}}'
    now=$SECONDS
    [[ -z $fired ]] && alert_firing "$E2E_SERVICE_ALERT" "$shard" && fired=$now
    [[ -z $ff ]] && alert_firing FederationFailing "$ff_shard" && ff=$now
    [[ -z $sink ]] && sink_has "$E2E_SERVICE_ALERT" "$shard" && sink=$SECONDS
    [[ -z $sns ]] && sns_has "$E2E_SERVICE_ALERT" "$shard" && sns=$SECONDS
    [[ -z $snsff && -n $ff ]] && shard_queue_has FederationFailing && snsff=$SECONDS
    [[ -n $fired && -n $ff && -n $sink && -n $sns && -n $snsff ]] && break
    sleep 2
  done
  if [[ -n $fired ]]; then
    pass "service-alert-fires ($E2E_SERVICE_ALERT{shard=\"$shard\",job=\"$victim_job\"} on $E2E_PRIMARY)"
    printf 'FIGURE %s firing on %s %ds after node_exporter on %s stopped\n' "$E2E_SERVICE_ALERT" "$E2E_PRIMARY" $((fired - t0)) "$E2E_VICTIM"
  else
    fail "service-alert-fires" "$E2E_SERVICE_ALERT{shard=\"$shard\"} not firing within ${E2E_ALERT_TIMEOUT}s"
  fi
  if [[ -n $sink ]]; then
    pass "webhook-sink-notified (firing $E2E_SERVICE_ALERT, commonLabels.shard=\"$shard\")"
    printf 'FIGURE alert to webhook sink: %ds after the alert was seen firing (%ds after the exporter stopped)\n' \
      $((sink - ${fired:-$t0})) $((sink - t0))
  else
    fail "webhook-sink-notified" "no firing $E2E_SERVICE_ALERT with shard=$shard in $WORK/sink/notifications.jsonl"
  fi
  if [[ -n $sns ]]; then
    pass "sns-notified-via-sqs (subject: $(jq -r --arg a "$E2E_SERVICE_ALERT" 'select(.Subject | contains($a)) | .Subject' "$WORK/sns-messages.jsonl" | head -n 1))"
    printf 'FIGURE alert to SNS (read from the subscribed SQS queue): %ds after the alert was seen firing (%ds after the exporter stopped)\n' \
      $((sns - ${fired:-$t0})) $((sns - t0))
  else
    fail "sns-notified-via-sqs" "no SNS message naming $E2E_SERVICE_ALERT and shard $shard in the queue"
  fi
  if [[ -n $ff ]]; then
    pass "federation-failing-fires (FederationFailing{shard=\"$ff_shard\"})"
    printf 'FIGURE FederationFailing firing %ds after %s stopped\n' $((ff - t0)) "$secondary"
  else
    fail "federation-failing-fires" "FederationFailing{shard=\"$ff_shard\"} not firing within ${E2E_ALERT_TIMEOUT}s of stopping $secondary"
  fi
  # SNS routes by shard: the edge-only subscription (filter on the "shard" attribute)
  # received edge's FederationFailing, and nothing of shard apps.
  local other
  other=$(jq -r --arg s "$shard" 'select(.Subject | contains("shard " + $s)) | .Subject' "$WORK/sns-edge-messages.jsonl" 2>/dev/null | head -n 1)
  if [[ -n $snsff && -z $other ]]; then
    pass "sns-routes-by-shard (the edge-only subscription got FederationFailing and nothing of shard $shard)"
  else
    fail "sns-routes-by-shard" "edge-only queue: FederationFailing ${snsff:+received}${snsff:-missing}; shard $shard message: ${other:-none}"
  fi
}

# check_stale_user_rules: a rule file the variables no longer name is removed by the next
# converge (a rule file deleted from monitoring/ disappears from the hosts).
check_stale_user_rules() {
  local host=$E2E_APPS_HOST n
  if ! on "$host" "sudo install -m 0640 -g prometheus /dev/null /etc/prometheus/rules/user/stale-e2e.yml" </dev/null; then
    fail "stale-user-rules-removed" "could not place a stale rule file on $host"
    return
  fi
  timer_start stale-converge
  provision "$host" 3 || true
  timer_stop stale-converge
  n=$(changed_count "$host" 3)
  if on "$host" "sudo test ! -e /etc/prometheus/rules/user/stale-e2e.yml" </dev/null && [[ ${n:-0} -gt 0 ]] &&
    user_rules_identical "$host" >/dev/null 2>&1; then
    pass "stale-user-rules-removed ($host, changed=$n)"
  else
    fail "stale-user-rules-removed" "rules/user/stale-e2e.yml still on $host after a converge (changed=${n:-?}; logs/converge-$host-3.log)"
  fi
}
