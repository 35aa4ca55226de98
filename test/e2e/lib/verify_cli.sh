# shellcheck shell=bash
# The operator CLI (cmd/promfed) against the converged hosts, fed a stack-outputs document
# made the way `pulumi stack output --json` shapes it: status reads the primary's API with
# the stack CA, ssh reaches a secondary through a jump host with both keys pinned (here
# primary-a plays the bastion: the suite provisions without one), snapshot asks the AWS
# emulator for an EBS snapshot of a data volume.

# cli_outputs FILE [BASTION_KEY] [HOST_KEY_OF_APPS_1]: the outputs document; the optional keys
# replace the pinned ones (for the refusals). With a bastion key, the primary playing the
# bastion is left out of the hosts: its own line would pin its address to the right key.
cli_outputs() {
  local out=$1 bastion_key=${2:-} apps_key=${3:-} name hosts='{}' key volume
  for name in "${E2E_HOSTS[@]}"; do
    [[ -n $bastion_key && $name == "$E2E_PRIMARY" ]] && continue
    key=$(cut -d' ' -f1,2 "$OUTDIR/$(manifest_host "$name" host_key_pub)")
    [[ $name == secondary-apps-1 && -n $apps_key ]] && key=$apps_key
    volume=
    [[ $name == secondary-apps-1 ]] && volume=$CLI_VOLUME
    hosts=$(jq -c --arg n "$name" --arg ip "${HOST_IP[$name]}" --arg fqdn "$(fqdn "$name")" --arg key "$key" \
      --arg role "$(manifest_host "$name" role)" --arg shard "$(manifest_host "$name" shard)" --arg vol "$volume" \
      '.[$n] = {fqdn: $fqdn, privateIp: $ip, instanceId: ("i-" + $n), role: $role, shard: $shard,
        hostKey: $key, dataVolumeId: $vol}' <<<"$hosts")
  done
  [[ -n $bastion_key ]] || bastion_key=$(cut -d' ' -f1,2 "$OUTDIR/$(manifest_host "$E2E_PRIMARY" host_key_pub)")
  jq -n --argjson hosts "$hosts" --arg url "https://$(fqdn "$E2E_PRIMARY"):$PROM_PORT" \
    --arg region "$E2E_AWS_REGION" --arg bastion "${HOST_IP[$E2E_PRIMARY]}" --arg bkey "$bastion_key" \
    --arg user "$E2E_SSH_USER" --rawfile ca "$OUTDIR/ca.pem" \
    '{url: $url, region: $region, bastionIp: $bastion, bastionHostKey: $bkey, sshUser: $user,
      caCertificate: $ca, hosts: $hosts}' > "$out"
}

# cli OUTPUTS ARGS...: the CLI in the ctl namespace, with the private zone's names in its
# own /etc/hosts (a mount namespace of its own), the web password, the emulator's
# endpoint, and an agent holding the client key (the operator's own key in production).
# setsid: no terminal, so ssh can never stop to ask for a password.
cli() {
  local outputs=$1
  shift
  in_ctl env PROMFED_WEB_USER="$(jq -r .web_username "$OUTDIR/manifest.json")" \
    PROMFED_WEB_PASSWORD="$(jq -r .web_password "$OUTDIR/manifest.json")" \
    AWS_ENDPOINT_URL="http://$AWS_IP:$MOTO_PORT" AWS_ACCESS_KEY_ID="$E2E_AWS_ACCESS_KEY" \
    AWS_SECRET_ACCESS_KEY="$E2E_AWS_SECRET_KEY" \
    unshare --mount bash -c "$(declare -f cli_inner); cli_inner \"\$@\"" _ \
    "$WORK/cli-hosts" "$WORK/client_key" "$WORK/promfed" "$@" < "$outputs"
}

# cli_inner HOSTS KEY COMMAND...: runs inside cli's mount namespace.
cli_inner() {
  mount --bind "$1" /etc/hosts || return 1
  local key=$2 rc
  shift 2
  eval "$(ssh-agent -s)" >/dev/null || return 1
  ssh-add -q "$key" 2>/dev/null || { ssh-agent -k >/dev/null; return 1; }
  setsid -w "$@"
  rc=$?
  ssh-agent -k >/dev/null
  return $rc
}

CLI_VOLUME=

cli_status_json() {
  local st=$1 want_hosts want_shards
  want_hosts=$(printf '%s\n' "${E2E_HOSTS[@]}" | sort | paste -sd' ')
  want_shards=$(for name in "${E2E_HOSTS[@]}"; do manifest_host "$name" shard; done | grep -v '^$' | sort -u | paste -sd' ')
  jq -e --arg hosts "$want_hosts" --arg shards "$want_shards" '
    ([.hosts[].name] | join(" ")) == $hosts
    and ([.shards[].name] | join(" ")) == $shards
    and all(.shards[]; .targetsKnown > 0 and .targetsUp > 0 and .unfederated == 0)
    and all(.hosts[] | select(.role == "secondary"); .federationLagSeconds >= 0 and .federationLagSeconds < 120)
    and ([.firing[].name] | index("FederationFailing") == null)' "$st" >/dev/null
}

cli_status_ok() {
  cli "$WORK/cli-outputs.json" status -json > "$WORK/cli-status.json" 2> "$WORK/logs/cli-status.log" &&
    cli_status_json "$WORK/cli-status.json"
}

check_cli() {
  if ! (cd "$REPO_ROOT" && go build -o "$WORK/promfed" ./cmd/promfed) > "$WORK/logs/cli-build.log" 2>&1; then
    fail "cli-build" "$(tail -5 "$WORK/logs/cli-build.log")"
    return
  fi
  hosts_file > "$WORK/cli-hosts"
  CLI_VOLUME=$(aws_fixture volume --size 8) || CLI_VOLUME=
  cli_outputs "$WORK/cli-outputs.json"

  # status: retried briefly, as the aggregates need an evaluation after the earlier stages.
  if retry_until 60 5 cli_status_ok; then
    pass "cli-status-json: $(jq -c '[.shards[] | "\(.name) \(.targetsUp)/\(.targetsKnown) lag \(.lagMaxSeconds)s"]' "$WORK/cli-status.json")"
  else
    fail "cli-status-json" "$(cat "$WORK/logs/cli-status.log" "$WORK/cli-status.json" 2>/dev/null | tail -20)"
  fi
  local table
  table=$(cli "$WORK/cli-outputs.json" status 2>&1) || true
  if grep -q '^HOST  *ROLE  *SHARD  *INSTANCE  *ADDRESS  *FEDERATION LAG' <<<"$table" &&
    grep -Eq "^secondary-apps-1 +secondary +apps +i-secondary-apps-1 +${HOST_IP[secondary-apps-1]//./\\.} +[0-9]+s" <<<"$table"; then
    pass "cli-status-table"
  else
    fail "cli-status-table" "$table"
  fi

  # ssh through the jump host: the answer comes from the secondary itself.
  local got want
  want=$(on secondary-apps-1 cat /etc/machine-id </dev/null) || true
  got=$(cli "$WORK/cli-outputs.json" ssh secondary-apps-1 -- cat /etc/machine-id 2> "$WORK/logs/cli-ssh.log") || true
  if [[ -n $want && $got == "$want" ]]; then
    pass "cli-ssh-through-bastion"
  else
    fail "cli-ssh-through-bastion" "got '$got', want '$want': $(tail -5 "$WORK/logs/cli-ssh.log")"
  fi
  # A wrong pin, on the jump host or on the target, stops the connection.
  local other
  other=$(cut -d' ' -f1,2 "$OUTDIR/$(manifest_host secondary-edge-1 host_key_pub)")
  cli_outputs "$WORK/cli-bad-bastion.json" "$other"
  cli_outputs "$WORK/cli-bad-host.json" "" "$other"
  local which
  for which in bastion host; do
    if got=$(cli "$WORK/cli-bad-$which.json" ssh secondary-apps-1 -- cat /etc/machine-id 2>&1); then
      fail "cli-ssh-refuses-wrong-$which-key" "connected: $got"
    elif grep -q 'Host key verification failed' <<<"$got"; then
      pass "cli-ssh-refuses-wrong-$which-key"
    else
      fail "cli-ssh-refuses-wrong-$which-key" "failed for another reason: $got"
    fi
  done

  # snapshot: an EBS snapshot of the host's data volume, tagged, completed.
  if [[ -z $CLI_VOLUME ]]; then
    fail "cli-snapshot" "the emulator made no volume"
    return
  fi
  local res snaps id
  if res=$(cli "$WORK/cli-outputs.json" snapshot -json secondary-apps-1 2> "$WORK/logs/cli-snapshot.log") &&
    id=$(jq -er --arg v "$CLI_VOLUME" 'select(.volumeId == $v and .state == "completed") | .snapshotId' <<<"$res") &&
    snaps=$(aws_fixture snapshots --volume "$CLI_VOLUME") &&
    jq -e --arg id "$id" '.[] | select(.id == $id) | .tags == {"Name": "secondary-apps-1-data", "promfed:host": "secondary-apps-1"}' <<<"$snaps" >/dev/null; then
    pass "cli-snapshot: $id of $CLI_VOLUME"
  else
    fail "cli-snapshot" "$res $(tail -5 "$WORK/logs/cli-snapshot.log") ${snaps:-}"
  fi
}
