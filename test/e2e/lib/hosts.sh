# shellcheck shell=bash
# Test hosts: one network namespace per host, a bridge in a "ctl" namespace, and a
# systemd-nspawn container booting each host's root from tmpfs. Nothing here routes to the
# outside: the only addresses used live inside the namespaces created below.

E2E_NET=${E2E_NET:-10.213.7}   # the private /24 used only inside the test namespaces
CTL_IP=$E2E_NET.1

declare -A HOST_IP=() HOST_NS=() HOST_ROOT=() HOST_PID=() HOST_PID_START=() HOST_CGROUPS=()
# A stack host's data volume: the loop device over a sparse file in the work dir, and
# whether it is attached (bound into the container at boot) or detached.
declare -A HOST_LOOP=() HOST_ATTACHED=()
E2E_LOOPS=()
E2E_NAMESPACES=()
E2E_MOUNTS=()

fqdn() { printf '%s.%s' "$1" "$E2E_ZONE"; }

# in_ctl CMD...: run a command inside the ctl namespace (where ssh, curl and the
# archive server run).
in_ctl() { ip netns exec "$CTL_NS" "$@"; }

# net_link NAME IP INDEX: a namespace for NAME with a veth into the bridge, address IP.
net_link() {
  local name=$1 ip=$2 i=$3 ns="$E2E_PREFIX-$1"
  HOST_NS[$name]=$ns
  HOST_IP[$name]=$ip
  ip netns add "$ns"
  E2E_NAMESPACES+=("$ns")
  # Both ends are created inside namespaces, so nothing appears in the host's own.
  ip -n "$CTL_NS" link add "vh$i" type veth peer name eth0 netns "$ns"
  ip -n "$CTL_NS" link set "vh$i" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  # A default route like in a VPC subnet (facts such as ansible_default_ipv4 need one);
  # the ctl namespace has no uplink, so nothing leaves the test network.
  ip -n "$ns" route add default via "$CTL_IP"
}

# net_setup: the bridge in the ctl namespace; the stack's hosts at .11, .12, ...; the
# workloads at .21, .22, ...; the AWS emulator and DNS server at .5.
net_setup() {
  local i name
  CTL_NS="$E2E_PREFIX-ctl"
  ip netns add "$CTL_NS"
  E2E_NAMESPACES+=("$CTL_NS")
  ip -n "$CTL_NS" link set lo up
  ip -n "$CTL_NS" link add br0 type bridge
  ip -n "$CTL_NS" addr add "$CTL_IP/24" dev br0
  ip -n "$CTL_NS" link set br0 up
  i=10
  for name in "${E2E_HOSTS[@]}"; do
    i=$((i + 1))
    net_link "$name" "$E2E_NET.$i" "$i"
  done
  i=20
  for name in "${E2E_WORKLOADS[@]}"; do
    i=$((i + 1))
    net_link "$name" "$E2E_NET.$i" "$i"
  done
  net_link aws "$E2E_NET.5" 5
  # shellcheck disable=SC2034 # read by lib/aws.sh
  AWS_NS=${HOST_NS[aws]}
  AWS_IP=${HOST_IP[aws]}
}

# hosts_file: /etc/hosts content shared by all hosts (stands in for the private zone).
hosts_file() {
  local name
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
  for name in "${E2E_HOSTS[@]}"; do
    printf '%s\t%s %s\n' "${HOST_IP[$name]}" "$(fqdn "$name")" "$name"
  done
}

# root_prepare NAME: unpack the image onto tmpfs and do what cloud-init does in production.
root_prepare() {
  local name=$1 root="$WORK/roots/$1" pub_key
  mkdir -p "$root"
  mount -t tmpfs -o "size=${E2E_ROOT_SIZE:-3G},mode=0755" "promfed-e2e-$name" "$root"
  E2E_MOUNTS+=("$root")
  HOST_ROOT[$name]=$root
  tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$IMAGE_DIR/rootfs.tar" -C "$root"
  rw_credentials "$root"

  printf '%s\n' "$name" > "$root/etc/hostname"
  hosts_file > "$root/etc/hosts"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$root/etc/machine-id"
  printf '\n' >> "$root/etc/machine-id"

  # The login user with passwordless sudo and the provisioning client's key.
  chroot "$root" useradd --create-home --shell /bin/bash --user-group "$E2E_SSH_USER"
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$E2E_SSH_USER" > "$root/etc/sudoers.d/90-promfed"
  chmod 0440 "$root/etc/sudoers.d/90-promfed"
  pub_key=$(cat "$OUTDIR/$(jq -r .client_key "$OUTDIR/manifest.json").pub")
  install -d -m 0700 "$root/home/$E2E_SSH_USER/.ssh"
  printf '%s\n' "$pub_key" > "$root/home/$E2E_SSH_USER/.ssh/authorized_keys"
  chmod 0600 "$root/home/$E2E_SSH_USER/.ssh/authorized_keys"
  chroot "$root" chown -R "$E2E_SSH_USER:$E2E_SSH_USER" "/home/$E2E_SSH_USER/.ssh"

  # No host key in the root: as in production, the host fetches it from SSM Parameter
  # Store (moto here) at every boot.
  host_key_boot_prepare "$name" "$root"
  printf 'HostKey /etc/ssh/ssh_host_ed25519_key\n' > "$root/etc/ssh/sshd_config.d/10-promfed.conf"

  mkdir -p "$root/var/lib/prometheus"
  data_volume_prepare "$name" "$root"
  # The VPC resolver: the test network's DNS server (lib/aws.sh), which answers for the
  # workloads' names; the stack's own names are in /etc/hosts.
  rm -f "$root/etc/resolv.conf"
  printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$AWS_IP" > "$root/etc/resolv.conf"

  # The provisioning's ready step asks cloud-init whether first boot is over. Its work
  # was done above, before boot; this stand-in reports "done" once systemd has started.
  cat > "$root/usr/local/bin/cloud-init" <<'STUB'
#!/bin/sh
# promfed e2e stand-in for `cloud-init status [--wait] [--long]`.
[ "${1:-}" = status ] || { echo "cloud-init (e2e stand-in): only 'status' exists" >&2; exit 1; }
shift
for arg in "$@"; do
  [ "$arg" = --wait ] && systemctl is-system-running --wait >/dev/null 2>&1
done
case $(systemctl is-system-running 2>/dev/null) in
  running | degraded) echo "status: done" ;;
  *) echo "status: running" ;;
esac
STUB
  chmod 0755 "$root/usr/local/bin/cloud-init"
}

# root_replace NAME: a new instance: the old root is gone, a fresh one is unpacked and
# prepared as cloud-init would (same host key from SSM, same name, same address).
root_replace() {
  local name=$1 root=${HOST_ROOT[$1]} m
  umount "$root" || umount -l "$root"
  local -a kept=()
  for m in "${E2E_MOUNTS[@]}"; do [[ $m == "$root" ]] || kept+=("$m"); done
  E2E_MOUNTS=("${kept[@]}")
  root_prepare "$name"
}

# data_volume_prepare NAME ROOT: the host's EBS data volume: a sparse file of the size
# the generated variables give (data_volume_size_gib) behind a loop device, attached at
# boot as /dev/sdf (one of the paths the data_volume role tries; the NVMe by-id name
# needs udev). The same device node is also bound under its own name: with no udev in
# a container, libblkid finds a filesystem by UUID only by scanning /proc/partitions'
# names. A second call (a replaced host) keeps the existing volume; after
# data_volume_destroy it makes a new one, from the file if one is there (a restore).
#
# In a container (read-only /sys) systemd's fstab generator skips block-device entries,
# so a unit does at boot what systemd does on an instance: mount the fstab's ext4
# entries (the one the role wrote) before local-fs.target; nofail as on an instance.
data_volume_prepare() {
  local name=$1 root=$2 gib img
  if [[ -z ${HOST_LOOP[$name]:-} ]]; then
    gib=$(jq -er .data_volume_size_gib "$OUTDIR/$(manifest_host "$name" vars)")
    mkdir -p "$WORK/volumes"
    img="$WORK/volumes/$name.img"
    # An existing file is a volume restored from a snapshot: used as it is.
    [[ -e $img ]] || truncate -s "${gib}G" "$img"
    HOST_LOOP[$name]=$(losetup --find --show "$img")
    E2E_LOOPS+=("${HOST_LOOP[$name]}")
  fi
  HOST_ATTACHED[$name]=1
  cat > "$root/etc/systemd/system/promfed-e2e-fstab.service" <<'UNIT'
[Unit]
Description=promfed e2e: mount fstab's ext4 entries (systemd skips them in a container)
DefaultDependencies=no
After=systemd-remount-fs.service
Before=local-fs.target umount.target
Conflicts=umount.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=-/bin/mount -a -t ext4
ExecStop=-/bin/umount -a -t ext4

[Install]
WantedBy=local-fs.target
UNIT
  mkdir -p "$root/etc/systemd/system/local-fs.target.wants"
  ln -sf ../promfed-e2e-fstab.service "$root/etc/systemd/system/local-fs.target.wants/promfed-e2e-fstab.service"
}

# data_volume_attach NAME: attach a detached volume to the running host (as AWS does
# after the instance started): the same two device nodes, made inside the container.
data_volume_attach() {
  local name=$1 loop=${HOST_LOOP[$1]} leader major minor
  leader=$(container_leader "$name") || return 1
  major=$((16#$(stat -c %t "$loop")))
  minor=$((16#$(stat -c %T "$loop")))
  nsenter -t "$leader" -m -- sh -c "mknod -m 0660 /dev/sdf b $major $minor && mknod -m 0660 $loop b $major $minor"
  HOST_ATTACHED[$name]=1
}

# data_volume_destroy NAME: the volume is gone (its host stopped first): the loop device
# and its file are removed; the next data_volume_prepare makes a new one.
data_volume_destroy() {
  local name=$1 loop=${HOST_LOOP[$1]:-} l
  local -a kept=()
  [[ -n $loop ]] || return 0
  losetup -d "$loop"
  for l in "${E2E_LOOPS[@]}"; do [[ $l == "$loop" ]] || kept+=("$l"); done
  E2E_LOOPS=("${kept[@]}")
  HOST_LOOP[$name]=
  rm -f "$WORK/volumes/$name.img"
}

# container_leader NAME: the pid of the container's init (the nspawn process's child).
container_leader() {
  local pid=${HOST_PID[$1]:-}
  [[ -n $pid ]] || return 1
  pgrep -P "$pid" | head -n 1
}

E2E_KEY_UNIT=promfed-host-key.service
E2E_KEY_SCRIPT=/usr/local/sbin/promfed-host-key

# host_key_boot_prepare NAME ROOT: the generator's host key boot script (byte for byte what
# the user data's bootcmd runs), a unit that runs it on every boot before sshd (it stands
# in for cloud-init's bootcmd: these hosts have no cloud-init), and the script's test hook
# /etc/promfed/aws.env: moto's address and dummy keys instead of AWS and IMDS credentials.
host_key_boot_prepare() {
  local name=$1 root=$2
  install -m 0755 "$OUTDIR/$(manifest_host "$name" boot_script)" "$root$E2E_KEY_SCRIPT"
  cat > "$root/etc/systemd/system/$E2E_KEY_UNIT" <<EOF
[Unit]
Description=promfed e2e: SSH host key from SSM Parameter Store (cloud-init bootcmd stand-in)
Wants=network-online.target
After=network-online.target
Before=ssh.service ssh.socket

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=$E2E_KEY_SCRIPT
# Its curl retries on its own; a bound makes a dead emulator a failed unit, not a hang.
TimeoutStartSec=120

[Install]
WantedBy=multi-user.target
EOF
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -sf "../$E2E_KEY_UNIT" "$root/etc/systemd/system/multi-user.target.wants/$E2E_KEY_UNIT"
  install -d -m 0755 "$root/etc/promfed"
  (
    umask 077
    printf 'SSM_ENDPOINT=%s\nAWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' \
      "http://$AWS_IP:$MOTO_PORT" "$E2E_AWS_ACCESS_KEY" "$E2E_AWS_SECRET_KEY" > "$root/etc/promfed/aws.env"
  )
  chmod 0600 "$root/etc/promfed/aws.env"
}

# Without a systemd on the machine, nspawn --keep-unit puts the container's cgroup tree
# (payload/, supervisor/) under the caller's own cgroup: containers started from one
# shell would share it and their systemds would manage each other's units (seen as a
# failed systemd-user-sessions.service leaving /run/nologin, so SSH logins were refused).
# Each container therefore starts from a cgroup of its own, in every hierarchy systemd uses.

# cgroup_dirs NAME: the cgroup directories of a host (they may not exist yet).
cgroup_dirs() {
  local line hier path mnt
  while IFS= read -r line; do
    hier=${line#*:}
    path=${hier#*:}
    hier=${hier%%:*}
    mnt=
    if [[ $hier == name=systemd ]]; then
      mnt=/sys/fs/cgroup/systemd
    elif [[ -z $hier ]]; then
      if [[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
        mnt=/sys/fs/cgroup/unified
      elif [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
        mnt=/sys/fs/cgroup
      fi
    fi
    [[ -n $mnt && -d $mnt ]] && printf '%s\n' "$mnt${path%/}/$E2E_PREFIX-$1"
  done < /proc/self/cgroup
  return 0
}

# cgroup_remove NAME: remove a host's cgroups, innermost first (empty once nspawn is gone):
# those recorded when it booted (another process may be removing them) and those this
# process would create.
cgroup_remove() {
  local dir
  while IFS= read -r dir; do
    [[ -n $dir && -d $dir ]] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
  done < <({ printf '%s\n' "${HOST_CGROUPS[$1]:-}"; cgroup_dirs "$1"; } | sort -u)
  return 0
}

# host_boot NAME: start the container in the background; records its nspawn pid.
host_boot() {
  local name=$1 dir
  local -a dirs volume=()
  cgroup_remove "$name"
  mapfile -t dirs < <(cgroup_dirs "$name")
  HOST_CGROUPS[$name]=$(printf '%s\n' "${dirs[@]}")
  (
    for dir in "${dirs[@]}"; do
      mkdir -p "$dir" && printf '%s\n' "$BASHPID" > "$dir/cgroup.procs"
    done
    if [[ -n ${HOST_LOOP[$name]:-} && ${HOST_ATTACHED[$name]:-} == 1 ]]; then
      volume=(--bind="${HOST_LOOP[$name]}" --bind="${HOST_LOOP[$name]}:/dev/sdf")
    fi
    exec setsid systemd-nspawn --boot --quiet -D "${HOST_ROOT[$name]}" -M "$name" \
      --register=no --keep-unit --network-namespace-path="/run/netns/${HOST_NS[$name]}" \
      --bind-ro="$IMAGE_DIR/repo:/srv/repo" "${volume[@]}" --console=read-only --link-journal=no \
      --resolv-conf=off --timezone=off
  ) </dev/null >>"$WORK/logs/nspawn-$name.log" 2>&1 &
  HOST_PID[$name]=$!
  # shellcheck disable=SC2034 # saved by demo.sh, which checks it before stopping the host
  HOST_PID_START[$name]=$(proc_start "$!") || true
}

# host_stop NAME [TERM|KILL]: TERM is a clean poweroff; falls back to KILL after 20 s.
host_stop() {
  local name=$1 sig=${2:-TERM} pid=${HOST_PID[$1]:-} i
  [[ -n $pid ]] || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop within 20 s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  HOST_PID[$name]=
}

# ssh_config/known_hosts: strict host key checking against the generated public keys.
ssh_setup() {
  local name key
  : > "$WORK/known_hosts"
  {
    printf 'Host *\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n' \
      "$E2E_SSH_USER" "$WORK/client_key"
    printf '  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n' "$WORK/known_hosts"
    printf '  StrictHostKeyChecking yes\n  CheckHostIP no\n  BatchMode yes\n'
    printf '  ConnectTimeout 5\n  ServerAliveInterval 10\n  LogLevel ERROR\n'
    for name in "${E2E_HOSTS[@]}"; do
      printf 'Host %s\n  HostName %s\n  HostKeyAlias %s\n' \
        "$(fqdn "$name")" "${HOST_IP[$name]}" "$(fqdn "$name")"
    done
  } > "$WORK/ssh_config"
  for name in "${E2E_HOSTS[@]}"; do
    key=$(cut -d' ' -f1,2 "$OUTDIR/$(manifest_host "$name" host_key_pub)")
    printf '%s %s\n' "$(fqdn "$name")" "$key" >> "$WORK/known_hosts"
  done
  install -m 0600 "$OUTDIR/$(jq -r .client_key "$OUTDIR/manifest.json")" "$WORK/client_key"
}

# on NAME CMD: run a shell command on a host as the login user.
on() {
  local name=$1
  shift
  in_ctl ssh -F "$WORK/ssh_config" "$(fqdn "$name")" "$@"
}

# host_wait_ssh NAME: wait until sshd answers with the pinned host key.
host_wait_ssh() {
  if ! retry_until 90 0.5 on "$1" true </dev/null 2>/dev/null; then
    log "$1: last console lines:"
    tail -n 20 "$WORK/logs/nspawn-$1.log" | tr -d '\r' >&2
    printf 'no SSH login within 90 s of boot (console: logs/nspawn-%s.log)\n' "$1"
    return 1
  fi
}

# host_wait NAME: wait for sshd, then for systemd to finish booting.
host_wait() {
  local name=$1 state
  host_wait_ssh "$name" || return 1
  state=$(on "$name" 'timeout 90 systemctl is-system-running --wait' </dev/null 2>/dev/null) || true
  if [[ $state != running ]]; then
    log "$name: system state '$state'; failed units:"
    on "$name" 'systemctl --failed --no-legend' </dev/null >&2 || true
  fi
}

hosts_teardown() {
  local name ns root
  for name in "${!HOST_PID[@]}"; do
    [[ -n ${HOST_PID[$name]} ]] && kill -TERM "${HOST_PID[$name]}" 2>/dev/null
  done
  for name in "${!HOST_PID[@]}"; do
    host_stop "$name" TERM
    cgroup_remove "$name"
  done
  for root in "${E2E_LOOPS[@]}"; do
    losetup -d "$root" 2>/dev/null || log "could not detach $root"
  done
  E2E_LOOPS=()
  for root in "${E2E_MOUNTS[@]}"; do
    umount "$root" 2>/dev/null || umount -l "$root" 2>/dev/null || log "could not unmount $root"
  done
  E2E_MOUNTS=()
  for ns in "${E2E_NAMESPACES[@]}"; do
    ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"
  done
  E2E_NAMESPACES=()
}
