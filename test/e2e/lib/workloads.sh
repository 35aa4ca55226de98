# shellcheck shell=bash
# shellcheck disable=SC2034,SC2004 # the arrays are read by the other libs (HOST_ROOT is associative)
# Workload hosts: the user's own machines that the shards monitor. They are NOT
# provisioned by the playbook: they boot the same image and install node_exporter and
# process-exporter from the offline repo on first boot, serving plain HTTP (:9100, :9256)
# like a typical fleet. EC2 (moto), DNS (dnsmasq) and static configuration point the
# secondaries at them.

E2E_WORKLOADS=(workload-1 workload-2 workload-3)
# The Team tag of each workload's EC2 instance: the apps shard discovers Team=apps only.
declare -A WORKLOAD_TEAM=([workload-1]=apps [workload-2]=apps [workload-3]=other)
WORKLOAD_PACKAGES=(prometheus-node-exporter prometheus-process-exporter)
PROCESS_PORT=9256

# workload_prepare NAME: unpack the image onto tmpfs; a first-boot unit installs and
# starts the exporters (apt from the bound offline repo, as an operator would).
workload_prepare() {
  local name=$1 root="$WORK/roots/$1"
  mkdir -p "$root"
  mount -t tmpfs -o "size=${E2E_ROOT_SIZE:-3G},mode=0755" "promfed-e2e-$name" "$root"
  E2E_MOUNTS+=("$root")
  HOST_ROOT[$name]=$root
  tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$IMAGE_DIR/rootfs.tar" -C "$root"
  printf '%s\n' "$name" > "$root/etc/hostname"
  printf '127.0.0.1\tlocalhost %s\n' "$name" > "$root/etc/hosts"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$root/etc/machine-id"
  printf '\n' >> "$root/etc/machine-id"
  # Nothing logs in to a workload: no sshd (the image has no host keys either).
  rm -f "$root"/etc/systemd/system/multi-user.target.wants/ssh.service \
    "$root"/etc/systemd/system/sshd.service

  mkdir -p "$root/etc/promfed-e2e"
  # process-exporter needs to be told which processes to group: every command name.
  cat > "$root/etc/promfed-e2e/process-exporter.yml" <<'EOF'
process_names:
  - name: "{{.Comm}}"
    cmdline:
      - ".+"
EOF
  cat > "$root/usr/local/sbin/promfed-e2e-exporters" <<EOF
#!/bin/sh
# promfed e2e: install this workload's exporters from the offline repo and start them.
set -eu
export DEBIAN_FRONTEND=noninteractive
# The packages' postinst would start the services from inside this boot job; start them
# afterwards instead, without waiting (--no-block), so no job waits on another.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
apt-get -q update
apt-get -q -y --no-install-recommends install ${WORKLOAD_PACKAGES[*]}
rm -f /usr/sbin/policy-rc.d
echo 'ARGS="-config.path /etc/promfed-e2e/process-exporter.yml"' > /etc/default/prometheus-process-exporter
systemctl --no-block start prometheus-node-exporter.service prometheus-process-exporter.service
EOF
  chmod 0755 "$root/usr/local/sbin/promfed-e2e-exporters"
  cat > "$root/etc/systemd/system/promfed-e2e-exporters.service" <<'EOF'
[Unit]
Description=promfed e2e: install and start the workload's exporters
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/promfed-e2e-exporters

[Install]
WantedBy=multi-user.target
EOF
  ln -sf /etc/systemd/system/promfed-e2e-exporters.service \
    "$root/etc/systemd/system/multi-user.target.wants/promfed-e2e-exporters.service"
}

# workload_exporters_ok NAME: both exporters answer over plain HTTP from the ctl namespace.
workload_exporters_ok() {
  local ip=${HOST_IP[$1]} port
  for port in "$NODE_PORT" "$PROCESS_PORT"; do
    in_ctl curl -sf -o /dev/null --max-time 3 "http://$ip:$port/metrics" || return 1
  done
}

workload_wait() {
  retry_until 240 2 workload_exporters_ok "$1" && return 0
  printf 'node_exporter or process-exporter not answering on %s within 240 s (console: logs/nspawn-%s.log)\n' \
    "${HOST_IP[$1]}" "$1"
  return 1
}

# workload_init_pid NAME: the pid (on this machine) of the workload's systemd.
workload_init_pid() {
  local pid
  for pid in $(ip netns pids "${HOST_NS[$1]}"); do
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd ]] &&
      grep -qE '^NSpid:\s+[0-9]+\s+1$' "/proc/$pid/status" 2>/dev/null; then
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 1
}

# workload_exec NAME CMD...: run CMD inside the workload container (its namespaces).
workload_exec() {
  local pid
  pid=$(workload_init_pid "$1") || { printf 'no systemd found in %s\n' "$1"; return 1; }
  shift
  nsenter -t "$pid" -m -u -i -n -p "$@"
}
