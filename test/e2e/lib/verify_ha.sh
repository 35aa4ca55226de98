# shellcheck shell=bash
# Two primary replicas (issue 10): their Alertmanagers form one cluster over mutual TLS, a
# notification reaches the webhook sink exactly once whether both or one Alertmanager run,
# each primary alerts when the other stops, and the Watchdog heartbeat stops only when both
# primaries' Prometheus do.

AM_PORT=9093
GOSSIP_PORT=9094
# Alertmanager's --cluster.peer-timeout (15 s by default) is how long a second member
# waits for the first one's notification to be gossiped before sending it itself: a
# duplicate would arrive within it. Counts are taken this long after the first post.
E2E_DUPLICATE_WINDOW=${E2E_DUPLICATE_WINDOW:-30}
# Set by run_stage when a stage begins (epoch seconds).
E2E_STAGE_T0=0

# amcurl NAME PATH [CURL ARGS...]: HTTPS to NAME's Alertmanager, verified against the stack
# CA, with E2E_PRIMARY's certificate as client certificate (as its Prometheus sends).
amcurl() {
  local name=$1 path=$2
  shift 2
  hcurl "$name" "$AM_PORT" "$path" --cert "$WORK/tls/$E2E_PRIMARY.pem" \
    --key "$WORK/tls/$E2E_PRIMARY-key.pem" "$@"
}

# am_members NAME: alertmanager_cluster_members of NAME's Alertmanager ("" when unknown).
am_members() {
  amcurl "$1" /metrics 2>/dev/null | awk '$1 == "alertmanager_cluster_members" {print $2}'
}
# cluster_full NAME: NAME's Alertmanager sees every primary's.
cluster_full() { [[ $(am_members "$1") == "$(primaries | wc -l)" ]]; }
# clusters_full: every Alertmanager sees every other.
clusters_full() {
  local prim
  for prim in $(primaries); do cluster_full "$prim" || return 1; done
}

# gossip_tls FROM TO [no-cert]: an openssl TLS handshake with TO's gossip port, verified
# against the stack CA for TO's name, presenting FROM's certificate (none with no-cert),
# then a few bytes sent; prints openssl's output.
gossip_tls() {
  local from=$1 to=$2
  local -a cert=(-cert "$WORK/tls/$from.pem" -key "$WORK/tls/$from-key.pem")
  [[ ${3:-} == no-cert ]] && cert=()
  # The sleep keeps the connection open long enough to read the server's answer.
  { printf 'x\n'; sleep 1; } | in_ctl timeout 10 openssl s_client -connect "${HOST_IP[$to]}:$GOSSIP_PORT" \
    -servername "$(fqdn "$to")" -verify_hostname "$(fqdn "$to")" -CAfile "$OUTDIR/ca.pem" \
    -verify_return_error "${cert[@]}" 2>&1
}

# The cluster: every Alertmanager answers only mutual TLS, sees every other as a member,
# and gossips over TLS on TCP only (Alertmanager's TLS transport has no UDP).
check_alertmanager_cluster() {
  local prim other code n out flags
  n=$(primaries | wc -l)
  for prim in $(primaries); do
    code=$(http_code amcurl "$prim" /-/ready)
    if [[ $code == 200 ]]; then pass "alertmanager-api-mtls-$prim"; else fail "alertmanager-api-mtls-$prim" "GET /-/ready with a client certificate gave HTTP $code"; fi
    code=$(http_code hcurl "$prim" "$AM_PORT" /-/ready)
    if [[ $code != 200 ]]; then
      pass "alertmanager-needs-client-cert-$prim (HTTP $code without one)"
    else
      fail "alertmanager-needs-client-cert-$prim" "answered 200 without a client certificate"
    fi
    code=$(http_code in_ctl curl -sS --max-time 10 "http://${HOST_IP[$prim]}:$AM_PORT/-/ready")
    if [[ $code != 200 ]]; then pass "alertmanager-no-plain-http-$prim (HTTP $code)"; else fail "alertmanager-no-plain-http-$prim" "plain HTTP answered 200"; fi

    if retry_until 90 2 cluster_full "$prim"; then
      pass "alertmanager-cluster-members-$prim (alertmanager_cluster_members == $n)"
    else
      fail "alertmanager-cluster-members-$prim" "alertmanager_cluster_members is '$(am_members "$prim")', want $n"
    fi

    # shellcheck disable=SC2016 # expanded on the host
    flags=$(on "$prim" 'pid=$(systemctl show -p MainPID --value prometheus-alertmanager.service) &&
      sudo tr "\0" " " < /proc/$pid/cmdline' </dev/null 2>/dev/null) || flags=
    if [[ $flags == *"--cluster.tls-config="* && $flags == *"--cluster.listen-address=0.0.0.0:$GOSSIP_PORT"* ]]; then
      pass "gossip-tls-flags-$prim"
    else
      fail "gossip-tls-flags-$prim" "running with: ${flags:-?}"
    fi
    out=$(on "$prim" "ss -Hltn 'sport = :$GOSSIP_PORT' | wc -l; ss -Hlun 'sport = :$GOSSIP_PORT' | wc -l" </dev/null 2>/dev/null | xargs) || out=
    if [[ $out == "1 0" ]]; then
      pass "gossip-tcp-only-$prim (a TCP listener on :$GOSSIP_PORT, no UDP)"
    else
      fail "gossip-tcp-only-$prim" "TCP and UDP listeners on :$GOSSIP_PORT: ${out:-?}, want 1 0"
    fi

    for other in $(primaries); do
      [[ $other != "$prim" ]] || continue
      out=$(gossip_tls "$other" "$prim") || true
      if grep -q 'Verify return code: 0 (ok)' <<<"$out" && grep -q "subject=.*$(fqdn "$prim")" <<<"$out"; then
        pass "gossip-tls-$prim (the certificate of $(fqdn "$prim"), verified; $other's accepted)"
      else
        fail "gossip-tls-$prim" "$(grep -m1 -iE 'verify|error|alert' <<<"$out" || echo 'no TLS handshake')"
      fi
    done
    out=$(gossip_tls "$prim" "$prim" no-cert) || true
    if grep -qiE 'alert (certificate required|handshake failure|bad certificate)' <<<"$out"; then
      pass "gossip-needs-client-cert-$prim ($(grep -oiE 'alert [a-z ]+' <<<"$out" | head -n 1))"
    else
      fail "gossip-needs-client-cert-$prim" "no TLS alert without a client certificate: $(tail -n 1 <<<"$out")"
    fi
  done
}

# sink_posts ALERT [SINCE]: the webhook receiver's firing posts of ALERT (group label
# alertname) received after SINCE (epoch seconds; default the start of the current stage),
# one JSON a line: {received, alerts: [label sets]}.
sink_posts() {
  [[ -s $WORK/sink/notifications.jsonl ]] || return 0
  jq -c --arg a "$1" --argjson t "${2:-$E2E_STAGE_T0}" --arg p "$E2E_HEARTBEAT_PATH" 'select(.path != $p
      and .received > $t and .body.groupLabels.alertname? == $a and .body.status == "firing")
      | {received, alerts: [.body.alerts[].labels]}' "$WORK/sink/notifications.jsonl"
}
sink_posted() { [[ -n $(sink_posts "$1") ]]; }
# sink_delay ALERT T0: seconds from T0 (epoch) to the first post of ALERT.
sink_delay() { sink_posts "$1" | head -n 1 | jq -r --argjson t0 "$2" '.received - $t0 | floor'; }

# check_notified_once LABEL ALERT: the sink got exactly one firing post of ALERT in this
# stage, holding one alert (both replicas' copies deduplicated), and no second post within
# E2E_DUPLICATE_WINDOW seconds of the first.
check_notified_once() {
  local label=$1 alert=$2 first posts alerts wait
  if ! retry_until "$E2E_ALERT_TIMEOUT" 2 sink_posted "$alert"; then
    fail "notified-once-$label" "no firing $alert at the webhook sink within ${E2E_ALERT_TIMEOUT}s"
    return
  fi
  first=$(sink_posts "$alert" | head -n 1 | jq -r '.received')
  wait=$(awk -v f="$first" -v w="$E2E_DUPLICATE_WINDOW" -v now="$EPOCHREALTIME" 'BEGIN {d = f + w - now; print (d > 0 ? d : 0)}')
  sleep "$wait"
  posts=$(sink_posts "$alert" | wc -l)
  alerts=$(sink_posts "$alert" | jq -s '[.[].alerts[]] | unique | length')
  printf 'FIGURE notifications at the sink, %s: %d firing %s post(s) holding %d distinct alert(s), counted %ds after the first\n' \
    "$label" "$posts" "$alert" "$alerts" "$E2E_DUPLICATE_WINDOW"
  if ((posts == 1 && alerts == 1)); then
    pass "notified-once-$label (1 post of $alert with 1 alert: $(sink_posts "$alert" | jq -r '.alerts[0] | to_entries | map("\(.key)=\(.value)") | join(",")'))"
  else
    fail "notified-once-$label" "$posts posts of $alert holding $alerts distinct alerts, want 1 and 1"
  fi
}

# stale_firing_for NAME SECONDARY: SecondaryAggregatesStale fires on NAME for SECONDARY.
stale_firing_for() {
  acurl "$1" "$PROM_PORT" /api/v1/alerts 2>/dev/null | jq -e --arg s "$2" '[.data.alerts[]
    | select(.labels.alertname == "SecondaryAggregatesStale" and .labels.secondary == $s
      and .state == "firing")] | length > 0' >/dev/null
}

# The outage (both Alertmanagers up, both replicas evaluating): each alert is notified once.
# The powered-off secondary's heartbeat ages, so SecondaryAggregatesStale fires for it on
# both replicas (federated samples carry their own timestamps and get no staleness marker:
# the last heartbeat stays visible, 3 minutes old after 3 minutes, then 1 minute "for"),
# and Alertmanager inhibits it: FederationFailing says it already.
check_outage_notified_once() {
  local secondary=$E2E_ARCHIVE_HOST prim n left
  check_notified_once both-alertmanagers-"$E2E_SERVICE_ALERT" "$E2E_SERVICE_ALERT"
  check_notified_once both-alertmanagers-FederationFailing FederationFailing
  for prim in $(primaries); do
    left=$(awk -v t0="$E2E_STAGE_T0" -v m=$((E2E_ALERT_TIMEOUT + 60)) -v now="$EPOCHREALTIME" 'BEGIN {l = t0 + m - now; printf "%d", (l > 10 ? l : 10)}')
    if retry_until "$left" 3 stale_firing_for "$prim" "$secondary"; then
      pass "aggregates-stale-fires-$prim (SecondaryAggregatesStale{secondary=\"$secondary\"})"
      printf 'FIGURE SecondaryAggregatesStale{secondary="%s"} firing on %s %.0fs after the outage began\n' \
        "$secondary" "$prim" "$(awk -v t0="$E2E_STAGE_T0" -v now="$EPOCHREALTIME" 'BEGIN {print now - t0}')"
    else
      fail "aggregates-stale-fires-$prim" "SecondaryAggregatesStale{secondary=\"$secondary\"} not firing on $prim within $((E2E_ALERT_TIMEOUT + 60))s of the outage"
    fi
  done
  # Muted alerts reach no receiver; give a post the group wait to arrive.
  sleep "${E2E_GROUP_WAIT%s}"
  n=$(sink_posts SecondaryAggregatesStale | wc -l)
  if ((n == 0)); then
    pass "aggregates-stale-inhibited (no post: FederationFailing{secondary=\"$secondary\"} inhibits it)"
  else
    fail "aggregates-stale-inhibited" "$n posts of SecondaryAggregatesStale at the sink"
  fi
}

# alert_state NAME ALERT: NAME's state of ALERT ("firing", "pending" or "").
alert_state() {
  acurl "$1" "$PROM_PORT" /api/v1/alerts 2>/dev/null |
    jq -r --arg a "$2" '[.data.alerts[] | select(.labels.alertname == $a) | .state] | sort | first // ""'
}

# Failover: primary-a's Alertmanager and primary-b's Prometheus stop at once. primary-a's
# Prometheus fires PrimaryPeerDown for primary-b (the cross-watch) and AlertmanagerDown for
# its own Alertmanager; both reach the sink through primary-b's Alertmanager, once each.
# Then both daemons start again and the cluster is whole again.
check_failover() {
  local watcher=$E2E_PRIMARY watched am_host t0 t0e fired='' posted='' state
  watched=$(primaries | grep -vxF "$watcher" | head -n 1) || true
  am_host=$watcher
  log "stopping Alertmanager on $am_host and Prometheus on $watched"
  t0=$SECONDS
  t0e=$EPOCHSECONDS
  if on "$am_host" 'sudo systemctl stop prometheus-alertmanager.service' </dev/null &&
    on "$watched" 'sudo systemctl stop prometheus.service' </dev/null; then
    pass "failover-stopped (Alertmanager on $am_host, Prometheus on $watched)"
  else
    fail "failover-stopped" "could not stop the daemons"
  fi
  while ((SECONDS - t0 < E2E_ALERT_TIMEOUT)); do
    if [[ -z $fired ]]; then
      state=$(alert_state "$watcher" PrimaryPeerDown) || state=
      [[ $state == firing ]] && fired=$SECONDS
    fi
    [[ -z $posted ]] && sink_posted PrimaryPeerDown && posted=$SECONDS
    [[ -n $fired && -n $posted ]] && break
    sleep 2
  done
  if [[ -n $fired ]]; then
    pass "cross-watch-fires (PrimaryPeerDown{peer=\"$watched\"} on $watcher)"
    printf 'FIGURE PrimaryPeerDown firing on %s %ds after Prometheus on %s stopped\n' "$watcher" $((fired - t0)) "$watched"
  else
    fail "cross-watch-fires" "PrimaryPeerDown not firing on $watcher within ${E2E_ALERT_TIMEOUT}s"
  fi
  if [[ -n $posted ]]; then
    printf 'FIGURE PrimaryPeerDown at the sink %ss after Prometheus on %s stopped (through the Alertmanager of %s)\n' \
      "$(sink_delay PrimaryPeerDown "$t0e")" "$watched" "$watched"
    if sink_posts PrimaryPeerDown | jq -e --arg p "$watched" '.alerts[0].peer == $p' >/dev/null; then
      pass "cross-watch-names-peer (peer=\"$watched\")"
    else
      fail "cross-watch-names-peer" "$(sink_posts PrimaryPeerDown | head -n 1)"
    fi
  fi
  check_notified_once one-alertmanager-PrimaryPeerDown PrimaryPeerDown
  check_notified_once one-alertmanager-AlertmanagerDown AlertmanagerDown
  printf 'FIGURE AlertmanagerDown at the sink %ss after Alertmanager on %s stopped\n' \
    "$(sink_delay AlertmanagerDown "$t0e")" "$am_host"

  log "starting Alertmanager on $am_host and Prometheus on $watched again"
  on "$am_host" 'sudo systemctl start prometheus-alertmanager.service' </dev/null || true
  on "$watched" 'sudo systemctl start prometheus.service' </dev/null || true
  if retry_until 120 2 prom_ready "$watched"; then
    pass "serves-after-failover-$watched"
  else
    fail "serves-after-failover-$watched" "Prometheus not ready within 120s"
  fi
  if retry_until 120 2 clusters_full; then
    pass "alertmanager-cluster-whole-after-failover"
  else
    fail "alertmanager-cluster-whole-after-failover" "members: $(for p in $(primaries); do printf '%s=%s ' "$p" "$(am_members "$p")"; done)"
  fi
}

# heartbeat_last: the receive time of the last Watchdog post (0 when none).
heartbeat_last() { heartbeat_times | tail -n 1 | grep . || echo 0; }
# heartbeat_silent_for SECONDS: no Watchdog post for at least that long.
heartbeat_silent_for() {
  awk -v l="$(heartbeat_last)" -v s="$1" -v now="$EPOCHREALTIME" 'BEGIN {exit !(now - l >= s)}'
}
# heartbeat_after T: a Watchdog post arrived after time T.
heartbeat_after() {
  awk -v l="$(heartbeat_last)" -v t="$1" 'BEGIN {exit !(l > t)}'
}

# The dead-man's switch sees the gap: one replica stopped changes nothing (the other fires
# Watchdog), both stopped silence it until they start again.
check_heartbeat_gap() {
  local interval silent prim t0 last next started gap
  interval=${E2E_HEARTBEAT_INTERVAL%s}
  silent=$((3 * interval))
  if ! retry_until $((3 * interval)) 2 heartbeat_after $((EPOCHSECONDS - interval)); then
    fail "heartbeat-before-gap" "no Watchdog post in the last ${interval}s before the stop"
  fi
  log "stopping Prometheus on every primary"
  t0=$EPOCHREALTIME
  for prim in $(primaries); do
    on "$prim" 'sudo systemctl stop prometheus.service' </dev/null || fail "heartbeat-gap-stop-$prim" "could not stop Prometheus"
  done
  # Alertmanager keeps the alert until it expires (4 resend delays after the last send).
  if retry_until 300 2 heartbeat_silent_for "$silent"; then
    last=$(heartbeat_last)
    pass "heartbeat-stops (no Watchdog post for ${silent}s, 3 intervals, with every primary's Prometheus stopped)"
    printf 'FIGURE heartbeat: last post %.0fs after every primary'\''s Prometheus stopped\n' "$(awk -v a="$t0" -v b="$last" 'BEGIN {print b - a}')"
  else
    fail "heartbeat-stops" "Watchdog posts kept coming for 300s with every Prometheus stopped"
    last=$(heartbeat_last)
  fi
  started=$EPOCHREALTIME
  for prim in $(primaries); do
    on "$prim" 'sudo systemctl start prometheus.service' </dev/null || true
  done
  if retry_until 180 1 heartbeat_after "$started"; then
    next=$(heartbeat_times | awk -v t="$started" '$1 > t {print; exit}')
    gap=$(awk -v a="$last" -v b="$next" 'BEGIN {printf "%.0f", b - a}')
    printf 'FIGURE heartbeat gap at the sink: %ss without a Watchdog post (interval %ss); the first post came %.0fs after Prometheus started again\n' \
      "$gap" "$interval" "$(awk -v a="$started" -v b="$next" 'BEGIN {print b - a}')"
    pass "heartbeat-resumes (gap ${gap}s, then Watchdog posts again)"
  else
    fail "heartbeat-resumes" "no Watchdog post within 180s of starting Prometheus again"
  fi
  for prim in $(primaries); do
    if retry_until 120 2 prom_ready "$prim"; then
      pass "serves-after-heartbeat-gap-$prim"
    else
      fail "serves-after-heartbeat-gap-$prim" "Prometheus not ready within 120s"
    fi
  done
}

# heartbeat_federated PRIMARY SECONDARY: PRIMARY holds SECONDARY's federate:heartbeat:time,
# labelled secondary=SECONDARY by the federate job (honor_labels keeps target labels the
# series lacks), less than a minute old; prints its age.
heartbeat_federated() {
  local age
  age=$(query_value "$1" "time() - federate:heartbeat:time{secondary=\"$2\"}")
  [[ -n $age ]] && awk -v a="$age" 'BEGIN {exit !(a < 60)}' && printf '%.0f\n' "$age"
}

check_heartbeat_federated() {
  local prim sec age
  for prim in $(primaries); do
    for sec in $(secondaries); do
      if age=$(retry_until 60 5 heartbeat_federated "$prim" "$sec"); then
        pass "heartbeat-federated-$prim-$sec (federate:heartbeat:time{secondary=\"$sec\"}, $(tail -n 1 <<<"$age")s old)"
      else
        fail "heartbeat-federated-$prim-$sec" "no fresh federate:heartbeat:time{secondary=\"$sec\"} on $prim"
      fi
    done
  done
}
