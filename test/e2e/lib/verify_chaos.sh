# shellcheck shell=bash
# Faults injected on purpose (the game day of docs/dr.md, on local hosts), each with the
# behaviour or alert it must produce and the recovery it must show:
# - Prometheus killed with SIGKILL on a secondary: systemd restarts it, no sample is lost;
# - the data filesystem nearly filled: DiskSpaceLow's condition holds on the primaries
#   (pending: its `for` is 15 minutes) while the secondary still ingests; freed, it clears;
# - a partition between primary-a and a secondary (blackhole routes both ways):
#   FederationFailing fires on primary-a only (primary-b still federates it); healed,
#   federation resumes and the gap in its aggregates stays near the partition's length.
# Not run here: a skewed clock (a container shares the machine's realtime clock) and a lost
# bastion (the suite provisions without one); docs/dr.md's FIS templates cover AWS.

chaos_host() { volume_host; }

# alert_on NAME PRIMARY STATE SELECTOR: ALERTS on a primary has that alert in that state.
alert_on() {
  local n
  n=$(prom_query "$2" "count(ALERTS{alertname=\"$1\",alertstate=\"$3\",$4})" 2>/dev/null |
    jq -r '.data.result[0].value[1] // "0"') || n=0
  ((n > 0))
}
# no_alert_on NAME PRIMARY SELECTOR: neither pending nor firing.
no_alert_on() { ! alert_on "$1" "$2" pending "$3" && ! alert_on "$1" "$2" firing "$3"; }

# appended NAME: samples the host's Prometheus has appended since it started.
appended() {
  prom_query "$1" 'prometheus_tsdb_head_samples_appended_total' 2>/dev/null |
    jq -r '[.data.result[].value[1] | tonumber] | add // 0 | floor'
}

main_pid() { on "$1" 'systemctl show -p MainPID --value prometheus' </dev/null 2>/dev/null; }

chaos_kill() {
  local name=$1 t0 before pid newpid t after
  t0=$(($(date +%s) - 20))
  before=$(past_samples "$name" "$t0")
  pid=$(main_pid "$name")
  log "$name: SIGKILL to Prometheus (pid $pid)"
  on "$name" "sudo kill -KILL $pid" </dev/null
  t=$SECONDS
  # shellcheck disable=SC2317 # called through retry_until
  restarted() { newpid=$(main_pid "$name") && [[ -n $newpid && $newpid != 0 && $newpid != "$pid" ]] && prom_ready "$name"; }
  if retry_until 120 1 restarted; then
    pass "chaos-kill-restarts-$name"
    printf 'FIGURE chaos SIGKILL on %s: Prometheus answered ready again %ds after the kill (systemd Restart=on-failure, WAL replay)\n' "$name" $((SECONDS - t))
  else
    fail "chaos-kill-restarts-$name" "Prometheus not back within 120 s of SIGKILL"
    return
  fi
  after=$(past_samples "$name" "$t0")
  if [[ $after == "$before" && $before != none ]]; then
    pass "chaos-kill-no-data-loss-$name ($before samples of up before the kill)"
  else
    fail "chaos-kill-no-data-loss-$name" "$before samples of up before $t0 before the kill, $after after"
  fi
}

chaos_disk() {
  local name=$1 fill t a0 a1 sel
  sel="secondary=\"$name\",mountpoint=\"/var/lib/prometheus\""
  # fallocate reserves the blocks without writing them: instant, and the sparse file
  # behind the loop device stays small. 5% of the filesystem stays free.
  # shellcheck disable=SC2016 # expanded on the host
  fill=$(on "$name" 'df --output=avail,size -B1 /var/lib/prometheus | awk "NR == 2 {print \$1 - int(\$2 * 5 / 100)}"' </dev/null)
  log "$name: filling /var/lib/prometheus with $fill bytes"
  on "$name" "sudo fallocate -l $fill /var/lib/prometheus/promfed-e2e-fill" </dev/null
  t=$SECONDS
  # shellcheck disable=SC2317 # called through retry_until
  pending() { alert_on DiskSpaceLow "$E2E_PRIMARY" pending "$sel" || alert_on DiskSpaceLow "$E2E_PRIMARY" firing "$sel"; }
  if retry_until 240 5 pending; then
    pass "chaos-disk-alert-$name"
    printf 'FIGURE chaos disk fill on %s: DiskSpaceLow pending on %s %ds after the fill (it fires after its 15 min for)\n' "$name" "$E2E_PRIMARY" $((SECONDS - t))
  else
    fail "chaos-disk-alert-$name" "no DiskSpaceLow{$sel} on $E2E_PRIMARY within 240 s"
  fi
  a0=$(appended "$name")
  sleep 30
  a1=$(appended "$name")
  if ((a1 > a0)); then
    pass "chaos-disk-still-ingesting-$name ($((a1 - a0)) samples in 30 s with 5% free)"
  else
    fail "chaos-disk-still-ingesting-$name" "no sample appended in 30 s ($a0 -> $a1)"
  fi
  on "$name" 'sudo rm -f /var/lib/prometheus/promfed-e2e-fill' </dev/null
  t=$SECONDS
  # shellcheck disable=SC2317 # called through retry_until
  cleared() { no_alert_on DiskSpaceLow "$E2E_PRIMARY" "$sel"; }
  if retry_until 240 5 cleared; then
    pass "chaos-disk-recovers-$name"
    printf 'FIGURE chaos disk fill on %s: DiskSpaceLow gone %ds after the space was freed\n' "$name" $((SECONDS - t))
  else
    fail "chaos-disk-recovers-$name" "DiskSpaceLow{$sel} still there 240 s after freeing the space"
  fi
}

# heartbeat_gap PRIMARY NAME FROM TO: the largest gap, in seconds, between the primary's
# samples of the host's federate:heartbeat:time between two times.
heartbeat_gap() {
  acurl "$1" "$PROM_PORT" /api/v1/query --get \
    --data-urlencode "query=federate:heartbeat:time{secondary=\"$2\"}[$(($4 - $3))s]" --data-urlencode "time=$4" 2>/dev/null |
    jq -r '[.data.result[0].values[][0]] | [range(1; length) as $i | .[$i] - .[$i - 1]] | max // -1 | floor'
}

chaos_partition() {
  local name=$1 other=primary-b t t0 t_heal gap sel
  sel="secondary=\"$name\""
  log "$name: partitioned from $E2E_PRIMARY (blackhole routes both ways)"
  t0=$(date +%s)
  ip -n "${HOST_NS[$E2E_PRIMARY]}" route add blackhole "${HOST_IP[$name]}/32"
  ip -n "${HOST_NS[$name]}" route add blackhole "${HOST_IP[$E2E_PRIMARY]}/32"
  t=$SECONDS
  # shellcheck disable=SC2317 # called through retry_until
  firing() { alert_on FederationFailing "$E2E_PRIMARY" firing "$sel"; }
  if retry_until 240 5 firing; then
    pass "chaos-partition-alert-$name"
    printf 'FIGURE chaos partition %s / %s: FederationFailing firing on %s %ds after the cut\n' "$E2E_PRIMARY" "$name" "$E2E_PRIMARY" $((SECONDS - t))
  else
    fail "chaos-partition-alert-$name" "no firing FederationFailing{$sel} on $E2E_PRIMARY within 240 s"
  fi
  if [[ -n ${HOST_NS[$other]:-} ]]; then
    if no_alert_on FederationFailing "$other" "$sel" && primary_has_series_from "$name" "$other"; then
      pass "chaos-partition-pairwise-$name ($other still federates it)"
    else
      fail "chaos-partition-pairwise-$name" "$other lost $name too: the partition was meant for $E2E_PRIMARY only"
    fi
  fi
  ip -n "${HOST_NS[$E2E_PRIMARY]}" route del blackhole "${HOST_IP[$name]}/32"
  ip -n "${HOST_NS[$name]}" route del blackhole "${HOST_IP[$E2E_PRIMARY]}/32"
  t_heal=$(date +%s)
  t=$SECONDS
  # shellcheck disable=SC2317 # called through retry_until
  healed() { no_alert_on FederationFailing "$E2E_PRIMARY" "$sel" && primary_has_series_from "$name" "$E2E_PRIMARY"; }
  if retry_until 180 5 healed; then
    pass "chaos-partition-heals-$name"
  else
    fail "chaos-partition-heals-$name" "FederationFailing{$sel} still on $E2E_PRIMARY 180 s after healing"
    return
  fi
  sleep 20
  gap=$(heartbeat_gap "$E2E_PRIMARY" "$name" "$((t0 - 60))" "$(date +%s)")
  printf 'FIGURE chaos partition %s / %s: cut %ds; federation back %ds after healing; largest gap in its heartbeat on %s %ss\n' \
    "$E2E_PRIMARY" "$name" $((t_heal - t0)) $((SECONDS - t)) "$E2E_PRIMARY" "$gap"
  # The gap is the partition plus at most a few federation intervals.
  if [[ $gap =~ ^[0-9]+$ ]] && ((gap >= t_heal - t0 - 30 && gap <= t_heal - t0 + 90)); then
    pass "chaos-partition-gap-bounded-$name (${gap}s for a $((t_heal - t0))s cut)"
  else
    fail "chaos-partition-gap-bounded-$name" "largest heartbeat gap ${gap}s for a $((t_heal - t0))s partition"
  fi
}

check_chaos() {
  local name
  name=$(chaos_host)
  chaos_kill "$name"
  chaos_disk "$name"
  chaos_partition "$name"
}
