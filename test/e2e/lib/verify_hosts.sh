# shellcheck shell=bash
# Checks of the hosts themselves (issue 9): every daemon runs as its own system user under
# a hardened unit and reads only its own key material; unattended security upgrades are on.

# The highest `systemd-analyze security` exposure a promfed unit may have. "OK" ends at
# 4.9; the units measure 1.1-1.7 (ansible/README.md), the Debian units without the roles'
# drop-ins 4.0 (prometheus) and 9.2 (the exporters, Alertmanager), so a lost drop-in
# or a few dropped sandboxing options fail the check long before the unit stops being "OK".
E2E_EXPOSURE_MAX=${E2E_EXPOSURE_MAX:-2.0}

# The daemons of the roles, as "unit user"; host_units NAME prints those of one host.
host_units() {
  printf '%s\n' 'prometheus.service prometheus' \
    'prometheus-node-exporter.service prometheus-node-exporter'
  if is_primary "$1"; then
    printf '%s\n' 'prometheus-alertmanager.service prometheus-alertmanager'
  else
    printf '%s\n' 'prometheus-blackbox-exporter.service prometheus-blackbox-exporter'
  fi
}

# Key material: Prometheus' key and web password, the exporter's key, the root-only host key.
E2E_PROM_KEY=/etc/promfed/tls/prometheus-key.pem
E2E_NODE_KEY=/etc/promfed/tls/node-exporter-key.pem
E2E_AM_KEY=/etc/promfed/tls/alertmanager-key.pem
E2E_HOST_KEY=/etc/promfed/tls/host-key.pem
E2E_WEB_PASSWORD=/etc/prometheus/web-password

# exposure NAME UNIT: the unit's overall exposure (e.g. 1.2), printed.
exposure() {
  on "$1" "sudo systemd-analyze security --no-pager '$2'" </dev/null 2>/dev/null |
    sed -nE 's/.*Overall exposure level for [^:]+: ([0-9]+\.[0-9]+).*/\1/p' | tail -n 1
}

# unit_user NAME UNIT: "<uid> <gid> <user name>" of the unit's main process.
unit_user() {
  # shellcheck disable=SC2016 # expanded on the host
  on "$1" 'pid=$(systemctl show -p MainPID --value '"'$2'"') && [ "${pid:-0}" -gt 0 ] &&
    uid=$(sudo awk "/^Uid:/ {print \$2}" /proc/$pid/status) &&
    gid=$(sudo awk "/^Gid:/ {print \$2}" /proc/$pid/status) &&
    echo "$uid $gid $(getent passwd "$uid" | cut -d: -f1)"' </dev/null 2>/dev/null
}

# user_reads NAME USER FILE: USER can read FILE on the host (FILE must exist: a missing
# file would make every "cannot read" check pass).
user_reads() {
  on "$1" "sudo test -s '$3' || { echo '$3 missing'; exit 2; }
    sudo runuser -u '$2' -- cat '$3' >/dev/null 2>&1" </dev/null
}

# expect_read NAME USER FILE yes|no: one check line.
expect_read() {
  local name=$1 user=$2 file=$3 want=$4 rc=0 out
  out=$(user_reads "$name" "$user" "$file" 2>&1) || rc=$?
  if ((rc == 2)); then
    fail "reads-$want-$name-$user-${file##*/}" "${out:-$file missing}"
  elif [[ $want == yes && $rc == 0 ]] || [[ $want == no && $rc != 0 ]]; then
    pass "reads-$want-$name-$user-${file##*/} ($user $([[ $want == yes ]] && echo can || echo cannot) read $file)"
  else
    fail "reads-$want-$name-$user-${file##*/}" "$user $([[ $want == yes ]] && echo cannot || echo can) read $file"
  fi
}

# owner_of NAME PATH: "user:group mode" of a path on the host.
owner_of() { on "$1" "sudo stat -c '%U:%G %a' '$2'" </dev/null 2>/dev/null; }

# failed_collectors BODY: the collectors a node_exporter /metrics reports as failed, sorted.
failed_collectors() {
  sed -nE 's/^node_scrape_collector_success\{collector="([^"]+)"\} 0$/\1/p' <<<"$1" | sort
}

# node_baseline: the failed collectors of an unhardened node_exporter (the same package on
# a workload, plain HTTP, in the same kind of container) into NODE_BASELINE_FAILED. In a
# container some collectors fail anyway (no hardware, no bonding, no NFS; nspawn refuses
# the adjtimex(2) of timex): only a collector that fails on a stack host alone counts.
NODE_BASELINE_FAILED=
NODE_BASELINE_DONE=
node_baseline_body() {
  NODE_BASELINE_BODY=$(in_ctl curl -sf --max-time 10 "http://${HOST_IP[$1]}:$NODE_PORT/metrics" 2>/dev/null) &&
    grep -q '^node_scrape_collector_success' <<<"$NODE_BASELINE_BODY"
}
node_baseline() {
  [[ -n $NODE_BASELINE_DONE ]] && return 0
  local w=${E2E_WORKLOADS[-1]}
  retry_until 240 2 node_baseline_body "$w" || return 1
  NODE_BASELINE_FAILED=$(failed_collectors "$NODE_BASELINE_BODY")
  NODE_BASELINE_DONE=1
  printf 'FIGURE node_exporter collectors failing without the sandbox (%s): %s\n' "$w" \
    "$(paste -sd, - <<<"$NODE_BASELINE_FAILED")"
}

# check_node_collectors NAME: the sandbox leaves node_exporter what its collectors read
# (/proc, /sys, rtnetlink, adjtimex, the host's mount table): no collector fails that works
# without it, and the main series are there.
check_node_collectors() {
  local name=$1 body extra series missing=() filter
  if ! node_baseline; then
    fail "node-exporter-collectors-$name" "no baseline: node_exporter on ${E2E_WORKLOADS[-1]} not answering"
    return
  fi
  body=$(acurl "$name" "$NODE_PORT" /metrics 2>/dev/null) || body=
  extra=$(comm -23 <(failed_collectors "$body") <(printf '%s\n' "$NODE_BASELINE_FAILED") | paste -sd, -)
  for series in node_network_receive_bytes_total node_filesystem_avail_bytes node_load1 \
    node_memory_MemAvailable_bytes node_cpu_seconds_total node_uname_info; do
    grep -q "^$series" <<<"$body" || missing+=("$series")
  done
  # The host's mount table, not the sandbox's (where "/" is read-only).
  grep -q '^node_filesystem_readonly{[^}]*mountpoint="/"[^}]*} 0$' <<<"$body" ||
    missing+=('node_filesystem_readonly{mountpoint="/"} 0')
  if [[ -z $body ]]; then
    fail "node-exporter-collectors-$name" "no /metrics over TLS"
  elif [[ -n $extra || ${#missing[@]} -gt 0 ]]; then
    fail "node-exporter-collectors-$name" "failing only under the sandbox: ${extra:-none}; missing: ${missing[*]:-none}"
  else
    pass "node-exporter-collectors-$name (no collector fails that works unsandboxed; network, filesystem, load, memory, cpu series present; / not read-only)"
  fi
  # In a container timex fails either way; outside one it needs adjtimex(2) in the filter.
  filter=$(on "$name" 'systemctl show -p SystemCallFilter --value prometheus-node-exporter.service' </dev/null 2>/dev/null) || filter=
  if grep -qw adjtimex <<<"$filter"; then
    pass "node-exporter-adjtimex-allowed-$name"
  else
    fail "node-exporter-adjtimex-allowed-$name" "adjtimex is not in the unit's system call allow list (timex collector)"
  fi
}

check_hardening() {
  local name unit user e got uid ugid uname uids
  for name in "${E2E_HOSTS[@]}"; do
    uids=()
    while read -r unit user; do
      e=$(exposure "$name" "$unit")
      printf 'FIGURE systemd-analyze security %s on %s: exposure %s\n' "$unit" "$name" "${e:-?}"
      if [[ -n $e ]] && awk -v e="$e" -v m="$E2E_EXPOSURE_MAX" 'BEGIN {exit !(e <= m)}'; then
        pass "exposure-$name-$unit ($e <= $E2E_EXPOSURE_MAX)"
      else
        fail "exposure-$name-$unit" "exposure ${e:-unknown}, want <= $E2E_EXPOSURE_MAX"
      fi

      got=$(unit_user "$name" "$unit") || got=
      read -r uid ugid uname <<<"$got"
      if [[ -n ${uid:-} && $uname == "$user" && $uid != 0 ]]; then
        pass "own-user-$name-$unit (uid $uid $uname, gid $ugid)"
      else
        fail "own-user-$name-$unit" "main process runs as '${got:-?}', want $user"
      fi
      uids+=("${uid:-?}:${ugid:-?}")
    done < <(host_units "$name")
    if [[ $(printf '%s\n' "${uids[@]}" | sort -u | wc -l) == "${#uids[@]}" ]]; then
      pass "distinct-users-$name (${uids[*]})"
    else
      fail "distinct-users-$name" "two daemons share a uid or gid: ${uids[*]}"
    fi

    # Each daemon reads its own key material and nothing else.
    expect_read "$name" prometheus "$E2E_PROM_KEY" yes
    expect_read "$name" prometheus "$E2E_WEB_PASSWORD" yes
    expect_read "$name" prometheus "$E2E_NODE_KEY" no
    expect_read "$name" prometheus "$E2E_HOST_KEY" no
    expect_read "$name" prometheus-node-exporter "$E2E_NODE_KEY" yes
    expect_read "$name" prometheus-node-exporter "$E2E_PROM_KEY" no
    expect_read "$name" prometheus-node-exporter "$E2E_WEB_PASSWORD" no
    expect_read "$name" prometheus-node-exporter "$E2E_HOST_KEY" no
    if is_primary "$name"; then
      expect_read "$name" prometheus-alertmanager /etc/prometheus/alertmanager.yml yes
      expect_read "$name" prometheus-alertmanager "$E2E_AM_KEY" yes
      expect_read "$name" prometheus-alertmanager "$E2E_HOST_KEY" no
      expect_read "$name" prometheus "$E2E_AM_KEY" no
      expect_read "$name" prometheus-alertmanager "$E2E_PROM_KEY" no
      expect_read "$name" prometheus-alertmanager "$E2E_WEB_PASSWORD" no
      expect_read "$name" prometheus /etc/prometheus/alertmanager.yml no
      got=$(owner_of "$name" /var/lib/prometheus/alertmanager)
      if [[ $got == 'prometheus-alertmanager:prometheus-alertmanager 750' ]]; then
        pass "storage-owner-$name-alertmanager ($got)"
      else
        fail "storage-owner-$name-alertmanager" "/var/lib/prometheus/alertmanager is '$got'"
      fi
    else
      expect_read "$name" prometheus-blackbox-exporter /etc/prometheus/blackbox.yml yes
      expect_read "$name" prometheus-blackbox-exporter "$E2E_PROM_KEY" no
      expect_read "$name" prometheus-blackbox-exporter "$E2E_WEB_PASSWORD" no
      expect_read "$name" prometheus-blackbox-exporter "$E2E_NODE_KEY" no
      expect_read "$name" prometheus-blackbox-exporter "$E2E_HOST_KEY" no
    fi
    got=$(owner_of "$name" /var/lib/prometheus/metrics2)
    if [[ $got == 'prometheus:prometheus 750' ]]; then
      pass "storage-owner-$name-prometheus ($got)"
    else
      fail "storage-owner-$name-prometheus" "/var/lib/prometheus/metrics2 is '$got'"
    fi

    check_node_collectors "$name"
  done
}

# patching_state NAME: the host's unattended-upgrades settings, one "key value" per line.
patching_state() {
  # shellcheck disable=SC2016 # expanded on the host
  on "$1" 'echo "package $(dpkg-query -W -f="\${db:Status-Status}" unattended-upgrades 2>/dev/null)"
    echo "periodic $(apt-config dump APT::Periodic::Unattended-Upgrade | sed -nE "s/^APT::Periodic::Unattended-Upgrade \"(.*)\";/\1/p")"
    echo "lists $(apt-config dump APT::Periodic::Update-Package-Lists | sed -nE "s/^APT::Periodic::Update-Package-Lists \"(.*)\";/\1/p")"
    apt-config dump Unattended-Upgrade::Origins-Pattern | sed -nE "s/^Unattended-Upgrade::Origins-Pattern:: \"(.*)\";/origin \1/p"
    apt-config dump Unattended-Upgrade::Allowed-Origins | sed -nE "s/^Unattended-Upgrade::Allowed-Origins:: \"(.*)\";/allowed \1/p"
    for t in apt-daily.timer apt-daily-upgrade.timer; do
      echo "timer $t $(systemctl is-enabled $t 2>/dev/null) $(systemctl is-active $t 2>/dev/null)"
    done' </dev/null 2>/dev/null
}

# shellcheck disable=SC2016 # ${distro_codename} is apt's, not a shell variable
check_patching() {
  local name state origins bad
  for name in "${E2E_HOSTS[@]}"; do
    state=$(patching_state "$name") || state=
    if grep -qx 'package installed' <<<"$state"; then
      pass "unattended-upgrades-installed-$name"
    else
      fail "unattended-upgrades-installed-$name" "$(grep '^package' <<<"$state" || echo 'no answer')"
    fi
    if grep -qx 'periodic 1' <<<"$state" && grep -qx 'lists 1' <<<"$state"; then
      pass "unattended-upgrades-on-$name (APT::Periodic::Unattended-Upgrade 1, Update-Package-Lists 1)"
    else
      fail "unattended-upgrades-on-$name" "$(grep -E '^(periodic|lists)' <<<"$state" | paste -sd';' -)"
    fi
    # Security origins only: every pattern names a security archive, and the Debian
    # security suite is among them; no Allowed-Origins entry adds anything.
    origins=$(sed -n 's/^origin //p' <<<"$state")
    bad=$( { grep -viE -- '-security|label=Debian-Security' <<<"$origins" || true; sed -n 's/^allowed //p' <<<"$state"; } | paste -sd';' -)
    if [[ -n $origins && -z $bad ]] &&
      grep -qF 'origin=Debian,codename=${distro_codename}-security,label=Debian-Security' <<<"$origins"; then
      pass "unattended-upgrades-security-only-$name ($(paste -sd';' - <<<"$origins"))"
    else
      fail "unattended-upgrades-security-only-$name" "origins: $(paste -sd';' - <<<"$origins"); not security: ${bad:-none}"
    fi
    if grep -qx 'timer apt-daily-upgrade.timer enabled active' <<<"$state" &&
      grep -qx 'timer apt-daily.timer enabled active' <<<"$state"; then
      pass "apt-timers-$name (apt-daily.timer, apt-daily-upgrade.timer enabled and active)"
    else
      fail "apt-timers-$name" "$(grep '^timer' <<<"$state" | paste -sd';' -)"
    fi
  done
}

# host_key_facts NAME: facts about a host's SSH host key, one "key value" per line: its
# mode and owner, the fingerprint of the public key derived from the private key (not
# the .pub next to it), the boot unit's state this boot and when sshd started.
host_key_facts() {
  local key=/etc/ssh/ssh_host_ed25519_key
  on "$1" "echo \"mode \$(sudo stat -c '%a %U:%G' $key)\"
    echo \"fingerprint \$(sudo ssh-keygen -y -f $key | ssh-keygen -lf - | cut -d' ' -f2)\"
    systemctl show -p ActiveState,Result,ExecMainStatus,ExecMainExitTimestampMonotonic $E2E_KEY_UNIT | sed 's/=/ /'
    echo \"ssh-started \$(systemctl show -p ExecMainStartTimestampMonotonic --value ssh.service)\"" </dev/null 2>/dev/null
}

# fact KEY: the value of KEY in $facts (check_host_key's).
fact() { sed -n "s/^$1 //p" <<<"$facts"; }

# check_host_key NAME [TAG [READS_BEFORE]]: the key the boot unit installed from SSM is the generated one,
# 0600 root, and the unit succeeded this boot before sshd started; moto saw the host's
# GetParameter. TAG (e.g. after-reboot-) goes into the check names; with READS_BEFORE,
# moto must have seen more of them than that (the script ran again at this boot).
check_host_key() {
  local name=$1 tag=${2:-} before=${3:-} facts want got param region reads exited sshd
  facts=$(host_key_facts "$name") || facts=
  want=$(ssh-keygen -lf "$OUTDIR/$(manifest_host "$name" host_key_pub)" | cut -d' ' -f2)
  got=$(fact fingerprint)
  if [[ -n $want && $got == "$want" ]]; then
    pass "host-key-matches-$tag$name ($got)"
  else
    fail "host-key-matches-$tag$name" "installed key ${got:-unreadable}, generated $want"
  fi
  got=$(fact mode)
  if [[ $got == '600 root:root' ]]; then
    pass "host-key-mode-$tag$name ($got)"
  else
    fail "host-key-mode-$tag$name" "mode/owner '${got:-?}', want '600 root:root'"
  fi
  got="$(fact ActiveState) $(fact Result) $(fact ExecMainStatus)"
  exited=$(fact ExecMainExitTimestampMonotonic)
  sshd=$(fact ssh-started)
  # Monotonic microseconds since the machine booted (one clock for every container).
  if [[ $got == 'active success 0' && $exited =~ ^[0-9]+$ && $sshd =~ ^[0-9]+$ ]] && ((exited > 0 && sshd >= exited)); then
    pass "host-key-unit-$tag$name ($E2E_KEY_UNIT $got, before ssh.service)"
  else
    fail "host-key-unit-$tag$name" "$E2E_KEY_UNIT: '$got', exited at '$exited', ssh.service started at '$sshd'"
  fi
  param=$(manifest_host "$name" host_key_parameter)
  region=$(manifest_host "$name" region)
  reads=$(ssm_reads "$param" "$region") || reads=0
  if ((reads > ${before:-0})); then
    pass "host-key-read-from-ssm-$tag$name ($reads GetParameter $param in $region${before:+, $before before this boot})"
  else
    fail "host-key-read-from-ssm-$tag$name" "moto saw $reads GetParameter $param in $region${before:+, $before before this boot}"
  fi
}

# check_secrets_region NAME: every secret the host read (boot script and playbook
# command) was asked of its own region, where the program stores it: the edge shard runs
# in another region than the stack (test/e2e/shards.json).
check_secrets_region() {
  local name=$1 region prefix got
  region=$(manifest_host "$name" region)
  prefix=$(manifest_host "$name" host_key_parameter)
  prefix=${prefix%/*}/
  got=$(ssm_read_regions "$prefix")
  if [[ $got =~ ^$region=[0-9]+$ ]]; then
    pass "secrets-read-in-host-region-$name ($prefix*: $got)"
  else
    fail "secrets-read-in-host-region-$name" "reads of $prefix* by region: '${got:-none}', want $region only"
  fi
}

check_host_keys() {
  local name
  for name in "${E2E_HOSTS[@]}"; do check_host_key "$name"; done
  for name in "${E2E_HOSTS[@]}"; do check_secrets_region "$name"; done
}
