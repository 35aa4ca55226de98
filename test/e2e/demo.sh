#!/usr/bin/env bash
# The federation on local hosts, left running: the end-to-end suite's hosts (primary-a,
# primary-b, secondary-apps-1, secondary-edge-1: two replicas, two shards), converged once
# by the real playbook, with the workloads they monitor (workload-1..3, found through EC2 in
# moto, DNS and static targets) and primary-a's Prometheus forwarded to
# https://localhost:19090 here.
#
#   demo.sh up       boot, converge, forward, print how to log in (make demo)
#   demo.sh status   print it again
#   demo.sh down     remove everything (make demo-down); fine when nothing is up
#
# Needs what run.sh needs (see test/e2e/README.md) plus socat. The state of a running demo
# (work dir, namespaces, mounts, cgroups, process ids) is kept in $DEMO_STATE_DIR.
# Knobs: DEMO_PORT (19090), DEMO_STATE_DIR (/run/promfed-demo), and run.sh's E2E_* ones.
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
# shellcheck source=test/e2e/lib/stack.sh
source "$E2E_DIR/lib/stack.sh"

E2E_PREFIX=pfdemo
E2E_EXTRA_CMDS=(socat)
E2E_EXTRA_PACKAGES=(socat)
DEMO_PORT=${DEMO_PORT:-19090}
DEMO_STATE_DIR=${DEMO_STATE_DIR:-/run/promfed-demo}
STATE="$DEMO_STATE_DIR/state"
CTL_NS=
FWD_PID=
FWD_PID_START=
DEMO_UP=0

# Everything `down` needs, as bash declarations (sourced by `down` and `status`).
state_save() {
  [[ -d $DEMO_STATE_DIR ]] || return 0
  declare -p WORK OUTDIR E2E_PREFIX CTL_NS E2E_SSH_USER HOST_IP HOST_NS HOST_ROOT HOST_PID \
    HOST_PID_START HOST_CGROUPS HOST_LOOP HOST_ATTACHED E2E_LOOPS E2E_NAMESPACES E2E_MOUNTS HTTP_PID HTTP_PID_START FWD_PID \
    FWD_PID_START SVC_PID SVC_PID_START AWS_NS AWS_IP AWS_ROOT DEMO_PORT DEMO_UP | sed 's/^declare /declare -g /' > "$STATE.new"
  mv "$STATE.new" "$STATE"
}
stack_changed() { state_save; }

state_load() {
  # shellcheck disable=SC1090 # written by state_save
  source "$STATE"
}

# The forwarder: socat listens on the host's loopback; for each connection it runs a
# second socat inside the ctl namespace that connects to E2E_PRIMARY. TLS is end to end.
forward_start() {
  local connect="$WORK/forward-connect"
  printf '#!/bin/sh\nexec ip netns exec %s socat STDIO TCP:%s:%s\n' \
    "$CTL_NS" "${HOST_IP[$E2E_PRIMARY]}" "$PROM_PORT" > "$connect"
  chmod 0700 "$connect"
  setsid socat "TCP-LISTEN:$DEMO_PORT,bind=127.0.0.1,fork,reuseaddr" "EXEC:$connect" \
    </dev/null >"$WORK/logs/forward.log" 2>&1 &
  FWD_PID=$!
  FWD_PID_START=$(proc_start "$FWD_PID") || true
  state_save
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$DEMO_PORT") 2>/dev/null; }

# lcurl PATH [CURL ARGS...]: E2E_PRIMARY through the forwarder, as a user would.
lcurl() {
  local path=$1
  shift
  curl -sS -g --max-time 15 --cacert "$DEMO_STATE_DIR/ca.pem" "$@" "https://localhost:$DEMO_PORT$path"
}

print_info() {
  local user ca="$DEMO_STATE_DIR/ca.pem" auth="$DEMO_STATE_DIR/curl-auth" pwfile="$DEMO_STATE_DIR/password"
  local ssh_base i
  user=$(jq -r .web_username "$OUTDIR/manifest.json")
  ssh_base="ip netns exec $CTL_NS ssh -F $WORK/ssh_config"
  cat <<EOF

The federation runs on local hosts: primary-a and primary-b (two replicas, each federating
every shard, their Alertmanagers clustered), secondary-apps-1 (shard apps: EC2 discovery
through moto), secondary-edge-1 (shard edge: DNS discovery, static targets, probes), and
the workloads they scrape (workload-1..3).

  URL       https://localhost:$DEMO_PORT   ($E2E_PRIMARY's Prometheus: HTTPS + basic auth)
  user      $user
  password  in $pwfile (root only; curl reads both from $auth)
  CA        $ca
            (the stack's CA; $E2E_PRIMARY's certificate names localhost and 127.0.0.1)

Try (each returns data; the end-to-end suite runs these very queries):
EOF
  for i in "${!DEMO_QUERIES[@]}"; do
    # The queries hold no single quote, so single quotes keep them readable.
    printf "  # %s\n  curl -sS --cacert %s -K %s -G --data-urlencode 'query=%s' \\\\\n    https://localhost:%s/api/v1/query | jq .data.result\n" \
      "$(demo_query_what "$i")" "$ca" "$auth" "$(demo_query_text "$i")" "$DEMO_PORT"
  done
  cat <<EOF

More:
  # no credentials, no federation: 401
  curl --cacert $ca -o /dev/null -w '%{http_code}\\n' https://localhost:$DEMO_PORT/federate
  # a shell on a host (the login user has sudo)
  $ssh_base $E2E_PRIMARY.$E2E_ZONE
  # stop primary-b's Prometheus, then watch ALERTS{alertname="PrimaryPeerDown"} fire on
  # $E2E_PRIMARY (~2.5 min) and its notification reach the sink (below)
  $ssh_base primary-b.$E2E_ZONE sudo systemctl stop prometheus
  # power off secondary-edge-1, then watch ALERTS{alertname="FederationFailing"} fire (~2 min)
  $ssh_base secondary-edge-1.$E2E_ZONE sudo systemctl poweroff
  # alert notifications (webhook receiver) land here
  cat $WORK/sink/notifications.jsonl

In a browser: https://localhost:$DEMO_PORT (import the CA above, or accept the warning).

Stop and remove it all: make demo-down   (or: bash test/e2e/demo.sh down)
EOF
}

# The EXIT trap of `up`: an `up` that did not finish removes what it made.
up_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  ((DEMO_UP == 1)) && exit "$rc"
  set +e
  log "up did not finish (exit status $rc): removing what it started"
  demo_remove
  exit "$rc"
}

# demo_remove: the forwarder, then the stack, then the state dir (with the state loaded).
demo_remove() {
  if [[ -n $FWD_PID ]] && proc_same "$FWD_PID" "$FWD_PID_START"; then
    proc_stop "$FWD_PID"
  fi
  FWD_PID=
  local name
  # Only processes that are still the ones up started (a host powered off from inside
  # is gone already; its pid may have been reused since).
  for name in "${!HOST_PID[@]}"; do
    [[ -n ${HOST_PID[$name]} ]] || continue
    if ! proc_same "${HOST_PID[$name]}" "${HOST_PID_START[$name]:-}"; then
      log "$name: no longer running"
      HOST_PID[$name]=
    fi
  done
  if [[ -n $HTTP_PID ]] && ! proc_same "$HTTP_PID" "$HTTP_PID_START"; then HTTP_PID=; fi
  stack_down
  rm -rf "$DEMO_STATE_DIR"
}

cmd_up() {
  if ! mkdir -m 0755 "$DEMO_STATE_DIR" 2>/dev/null; then
    [[ -d $DEMO_STATE_DIR ]] || die "cannot create $DEMO_STATE_DIR"
    if [[ -f $STATE ]] && (state_load && ((DEMO_UP == 1))); then
      printf 'A demo is already up; here it is again (make demo-down removes it).\n'
      cmd_status
      return 0
    fi
    die "a demo is starting, or its start was interrupted (state in $DEMO_STATE_DIR): remove it with make demo-down"
  fi
  trap up_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  prerequisites
  port_busy && die "127.0.0.1:$DEMO_PORT is in use; pick another port with DEMO_PORT=..."
  timer_start up
  work_create promfed-demo

  image_ensure
  aws_image_ensure
  generate
  install -m 0644 "$OUTDIR/ca.pem" "$DEMO_STATE_DIR/ca.pem"
  # The login, for the user: a password file and a curl config, root only.
  (umask 077 && jq -r .web_password "$OUTDIR/manifest.json" > "$DEMO_STATE_DIR/password" &&
    printf 'user = "%s:%s"\n' "$(jq -r .web_username "$OUTDIR/manifest.json")" \
      "$(cat "$DEMO_STATE_DIR/password")" > "$DEMO_STATE_DIR/curl-auth")
  hosts_up
  provision_prepare
  ((E2E_FAILED == 0)) || die "the hosts did not come up (see the FAIL lines above)"

  log "converging the hosts (the playbook, as on EC2; a few minutes)"
  timer_start converge
  converge_all 1
  timer_stop converge
  ((${#CONVERGE_FAILED[@]} == 0)) ||
    die "converging failed on ${CONVERGE_FAILED[*]} (logs in $WORK/logs, removed with the demo)"

  forward_start
  local name
  log "waiting for $E2E_PRIMARY to federate from the secondaries"
  for name in $(secondaries); do
    retry_until "$E2E_FEDERATION_TIMEOUT" 5 primary_has_series_from "$name" ||
      log "WARNING: no series from $name on $E2E_PRIMARY yet"
  done
  retry_until 15 0.5 lcurl /-/ready -K "$WORK/curl-auth" -o /dev/null -f ||
    die "https://localhost:$DEMO_PORT/-/ready does not answer through the forwarder"
  DEMO_UP=1
  state_save
  timer_stop up
  print_info
}

cmd_status() {
  [[ -f $STATE ]] || { printf 'no demo is up (nothing in %s)\n' "$DEMO_STATE_DIR"; return 0; }
  state_load
  if ((DEMO_UP != 1)); then
    printf 'a demo is starting or its start was interrupted; make demo-down removes it\n'
    return 0
  fi
  local name
  for name in "${E2E_HOSTS[@]}" "${E2E_WORKLOADS[@]}"; do
    if proc_same "${HOST_PID[$name]:-}" "${HOST_PID_START[$name]:-}"; then
      printf '  %-18s running (%s)\n' "$name" "${HOST_IP[$name]}"
    else
      printf '  %-18s stopped\n' "$name"
    fi
  done
  print_info
}

cmd_down() {
  [[ $(id -u) == 0 ]] || die "run as root"
  if [[ ! -d $DEMO_STATE_DIR ]]; then
    printf 'no demo is up (nothing in %s): nothing to remove\n' "$DEMO_STATE_DIR"
    local left
    left=$(ip netns list 2>/dev/null | grep -o "^$E2E_PREFIX-[^ ]*" || true)
    [[ -z $left ]] || log "WARNING: namespaces named like the demo's remain: $left"
    return 0
  fi
  timer_start down
  if [[ -f $STATE ]]; then
    state_load
  else
    log "no state in $DEMO_STATE_DIR (up was interrupted before it saved any)"
  fi
  log "removing the demo"
  demo_remove
  timer_stop down
  printf 'demo removed\n'
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    printf 'usage: %s up|status|down\n' "$0" >&2
    exit 2
    ;;
esac
