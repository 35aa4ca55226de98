# shellcheck shell=bash
# Provisioning exactly like production: the ansible/ tree is copied to the manifest's
# tree_dir on each host, then the manifest's command runs over SSH as the login user with
# the host's vars JSON on stdin.

manifest_host() { jq -er --arg h "$1" --arg k "$2" '.hosts[] | select(.name == $h) | .[$k]' "$OUTDIR/manifest.json"; }

# ready NAME: the manifest's ready_command (waits for first boot to be over).
ready() {
  local cmd
  cmd=$(jq -r '.ready_command // empty' "$OUTDIR/manifest.json")
  [[ -z $cmd ]] || on "$1" "$cmd" </dev/null
}

# tree_copy NAME: tar the repository's ansible/ tree over SSH into tree_dir, as the login
# user like pulumi-command's CopyToRemote (with sudo only for a tree_dir outside its home).
tree_copy() {
  local name=$1 tree sudo=sudo
  tree=$(jq -er .tree_dir "$OUTDIR/manifest.json")
  [[ $tree == "/home/$E2E_SSH_USER/"* ]] && sudo=
  on "$name" "$sudo mkdir -p '$tree' && $sudo tar -x --no-same-owner -C '$tree'" < "$WORK/ansible.tar"
}

# provision NAME RUN: run the host's command; output goes to logs/converge-NAME-RUN.log.
provision() {
  local name=$1 run=$2 vars
  vars="$WORK/vars/$name.json"
  on "$name" "$(manifest_host "$name" command)" < "$vars" > "$WORK/logs/converge-$name-$run.log" 2>&1
}

# recap NAME RUN: the PLAY RECAP lines of a run.
recap() { grep -E '^[^ ]+ +: ok=[0-9]+ +changed=' "$WORK/logs/converge-$1-$2.log" || true; }

# provision_in_turn RUN NAME...: provision the hosts one after the other, each only when
# the one before succeeded (as the program provisions primary-b after primary-a, so that a
# change never restarts both replicas at once); writes each exit status to
# logs/converge-NAME-RUN.rc.
provision_in_turn() {
  local run=$1 name rc=0
  shift
  for name in "$@"; do
    if ((rc == 0)); then
      provision "$name" "$run" || rc=$?
      printf '%s\n' "$rc" > "$WORK/logs/converge-$name-$run.rc"
    else
      printf 'not run: the replica before it failed\n' > "$WORK/logs/converge-$name-$run.log"
      printf '1\n' > "$WORK/logs/converge-$name-$run.rc"
    fi
  done
}

# converge_all RUN: provision the secondaries in parallel with the primaries, the primaries
# in turn; records which hosts failed.
converge_all() {
  local run=$1 name rc turn_pid=
  local -a in_turn=()
  declare -A pids=()
  CONVERGE_FAILED=()
  for name in "${E2E_HOSTS[@]}"; do
    [[ -n ${HOST_PID[$name]} ]] || continue
    if is_primary "$name"; then
      in_turn+=("$name")
      rm -f "$WORK/logs/converge-$name-$run.rc"
    else
      provision "$name" "$run" &
      pids[$name]=$!
    fi
  done
  if ((${#in_turn[@]})); then
    provision_in_turn "$run" "${in_turn[@]}" &
    turn_pid=$!
  fi
  for name in "${E2E_HOSTS[@]}"; do
    [[ -n ${pids[$name]:-} ]] || continue
    rc=0
    wait "${pids[$name]}" || rc=$?
    converge_result "$name" "$run" "$rc"
  done
  [[ -z $turn_pid ]] || wait "$turn_pid" || true
  for name in "${in_turn[@]}"; do
    converge_result "$name" "$run" "$(cat "$WORK/logs/converge-$name-$run.rc" 2>/dev/null || echo 1)"
  done
}

# converge_result NAME RUN RC: record a failed run (non-zero status or no recap) with the
# last lines of its log.
converge_result() {
  local name=$1 run=$2 rc=$3
  if ((rc != 0)) || ! recap "$name" "$run" | grep -q .; then
    CONVERGE_FAILED+=("$name")
    log "$name: run $run exited $rc; last lines of its log:"
    { grep -vE '^\s*$' "$WORK/logs/converge-$name-$run.log" || true; } | tail -n 25 |
      sed "s/^/  [$name] /" >&2
  fi
}

# changed_count NAME RUN: the sum of changed= over the recap lines ("" when none).
changed_count() {
  recap "$1" "$2" | sed -nE 's/.* changed=([0-9]+).*/\1/p' | awk '{s += $1} END {if (NR) print s}'
}

start_archive_server() {
  # shellcheck disable=SC1091
  source "$IMAGE_DIR/archive.env"
  mkdir -p "$WORK/www"
  cp "$IMAGE_DIR/$ARCHIVE_FILE" "$WORK/www/"
  # In a session of its own, like the containers, so that it outlives demo.sh's terminal.
  setsid ip netns exec "$CTL_NS" python3 -m http.server 8000 --bind "$CTL_IP" \
    --directory "$WORK/www" </dev/null > "$WORK/logs/http.log" 2>&1 &
  # Stopped by stack_down (lib/stack.sh).
  HTTP_PID=$!
  # shellcheck disable=SC2034 # read by stack_down and saved by demo.sh
  HTTP_PID_START=$(proc_start "$HTTP_PID") || true
  stack_changed
  retry_until 15 0.2 in_ctl curl -sf -o /dev/null "http://$CTL_IP:8000/$ARCHIVE_FILE" ||
    die "archive server did not start"
  ARCHIVE_URL="http://$CTL_IP:8000/$ARCHIVE_FILE"
}

# Test-only settings, patched into the generated variables like the archive host's:
# the AWS emulator's endpoint and dummy keys (production uses the instance role and the
# regional endpoints, so the generator never emits them) and shorter intervals, so that
# an outage reaches the primary's alerts and the receivers in about two minutes.
E2E_SCRAPE_INTERVAL=${E2E_SCRAPE_INTERVAL:-15s}
E2E_GROUP_WAIT=${E2E_GROUP_WAIT:-10s}
# The heartbeat (Watchdog) interval: short, so that the rules stage sees several.
E2E_HEARTBEAT_INTERVAL=${E2E_HEARTBEAT_INTERVAL:-20s}
# How often the primaries send firing alerts again (Prometheus' default is 1m). Alertmanager
# keeps an alert 4 of these after the last send, so with both primaries' Prometheus stopped
# the heartbeat stops after about 1 minute instead of 4 (the heartbeat-gap stage).
E2E_RESEND_DELAY=${E2E_RESEND_DELAY:-15s}

prepare_vars() {
  local name
  for name in "${E2E_HOSTS[@]}"; do
    cp "$OUTDIR/$(manifest_host "$name" vars)" "$WORK/vars/$name.json"
  done
  start_archive_server
  jq --arg url "$ARCHIVE_URL" --arg sha "$ARCHIVE_SHA256" --arg ver "$ARCHIVE_VERSION" \
    '.prometheus_install_method = "archive" | .prometheus_archive_url = $url
     | .prometheus_archive_sha256 = $sha | .prometheus_archive_version = $ver' \
    "$WORK/vars/$E2E_ARCHIVE_HOST.json" > "$WORK/vars/$E2E_ARCHIVE_HOST.json.new"
  mv "$WORK/vars/$E2E_ARCHIVE_HOST.json.new" "$WORK/vars/$E2E_ARCHIVE_HOST.json"
  for name in "${E2E_HOSTS[@]}"; do
    jq --arg ep "http://$AWS_IP:$MOTO_PORT" --arg ak "$E2E_AWS_ACCESS_KEY" --arg sk "$E2E_AWS_SECRET_KEY" \
      --arg si "$E2E_SCRAPE_INTERVAL" --arg gw "$E2E_GROUP_WAIT" --arg hb "$E2E_HEARTBEAT_INTERVAL" \
      --arg rd "$E2E_RESEND_DELAY" '
      .prometheus_workload_jobs = [(.prometheus_workload_jobs // [])[]
        | if .ec2 then .ec2 += {endpoint: $ep, access_key: $ak, secret_key: $sk} else . end]
      | if .promfed_role == "primary" then
          .alertmanager_sns_api_url = $ep | .alertmanager_sns_access_key = $ak
          | .alertmanager_sns_secret_key = $sk | .alertmanager_group_wait = $gw
          | .alertmanager_heartbeat_interval = $hb
          | .prometheus_extra_args = (.prometheus_extra_args // []) + ["--rules.alert.resend-delay=" + $rd]
        else . end
      | .prometheus_scrape_interval = $si | .prometheus_evaluation_interval = $si
      | .prometheus_federate_scrape_interval = $si | .prometheus_federate_scrape_timeout = "10s"' \
      "$WORK/vars/$name.json" > "$WORK/vars/$name.json.new"
    mv "$WORK/vars/$name.json.new" "$WORK/vars/$name.json"
  done
  chmod 0600 "$WORK/vars/"*.json
  # Each primary's certificate and key: the checks talk to Alertmanager (API and gossip)
  # over mutual TLS as that primary would.
  install -d -m 0700 "$WORK/tls"
  for name in "${E2E_HOSTS[@]}"; do
    is_primary "$name" || continue
    jq -er .promfed_tls_cert_pem "$WORK/vars/$name.json" > "$WORK/tls/$name.pem"
    # The key is a secret: it reaches the host through SSM (the manifest's parameters file).
    (umask 077 && jq -er 'to_entries[] | select(.key | endswith("/tls-key")) | .value' \
      "$OUTDIR/$(manifest_host "$name" parameters)" > "$WORK/tls/$name-key.pem")
  done
  printf 'user = "%s:%s"\n' "$(jq -er .web_username "$OUTDIR/manifest.json")" \
    "$(jq -er .web_password "$OUTDIR/manifest.json")" > "$WORK/curl-auth"
  chmod 0600 "$WORK/curl-auth"
}

# provision_prepare: like the Pulumi program, the ready step and the tree copy on every host
# (the ready step starts as soon as sshd answers, while the host may still be booting),
# then the variables and the archive server. The playbook itself runs in converge_all.
provision_prepare() {
  local name
  tar -C "$E2E_ANSIBLE_DIR" --exclude-vcs --exclude='*.retry' -cf "$WORK/ansible.tar" .
  timer_start ready+copy
  for name in "${E2E_HOSTS[@]}"; do
    check "ready-command-$name" ready "$name"
    check "tree-copy-$name" tree_copy "$name"
  done
  timer_stop ready+copy
  prepare_vars
}
