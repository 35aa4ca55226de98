# shellcheck shell=bash
# The data volume (the data_volume role): every stack host keeps its TSDB on its own
# ext4 volume, mounted by UUID as first boot does; a host replaced while its volume
# was grown, with the volume attached only after the playbook started, converges on the
# next run with its data intact and the filesystem at the new size.

# The host replaced in the volume-replace stage: the first secondary other than the
# archive host (whose install path other stages check).
volume_host() { secondaries | grep -vx "$E2E_ARCHIVE_HOST" | head -n 1; }

# volume_mount_ok NAME: the TSDB directory is on the host's ext4 data volume, labelled
# as the role makes it, mounted by UUID from fstab with first boot's options.
volume_mount_ok() {
  local name=$1 out
  # shellcheck disable=SC2016 # expanded on the host
  out=$(on "$name" 'set -e
    src=$(findmnt -n -o SOURCE --target /var/lib/prometheus/metrics2)
    fstype=$(findmnt -n -o FSTYPE --target /var/lib/prometheus/metrics2)
    target=$(findmnt -n -o TARGET --target /var/lib/prometheus/metrics2)
    uuid=$(sudo blkid -o value -s UUID "$src")
    label=$(sudo blkid -o value -s LABEL "$src")
    printf "%s %s %s %s\n" "$target" "$fstype" "$label" "$src"
    grep -E "^UUID=$uuid[[:space:]]+/var/lib/prometheus[[:space:]]+ext4[[:space:]]+defaults,nofail,noatime[[:space:]]+0[[:space:]]+2$" /etc/fstab' </dev/null 2>&1) ||
    { printf 'mount or fstab entry wrong: %s\n' "$out"; return 1; }
  [[ $out == "/var/lib/prometheus ext4 promfed-data /dev/"* ]] || { printf 'found: %s\n' "$out"; return 1; }
}

check_data_volume() {
  local name
  for name in "${E2E_HOSTS[@]}"; do
    check "data-volume-mounted-$name" volume_mount_ok "$name"
  done
}

# volume_size_bytes NAME: the size of the filesystem holding the TSDB, in bytes.
volume_size_bytes() { on "$1" 'df --output=size -B1 /var/lib/prometheus/metrics2 | tail -n 1' </dev/null | tr -d ' '; }

# past_samples NAME T: how many samples of `up` the host holds in the 10 minutes before
# T: the same number after a restart means its data survived.
past_samples() {
  acurl "$1" "$PROM_PORT" /api/v1/query --get --data-urlencode 'query=sum(count_over_time(up[10m]))' \
    --data-urlencode "time=$2" 2>/dev/null | jq -r '.data.result[0].value[1] // "none"'
}

# vars_patch NAME JQ_FILTER [JQ ARGS...]: edit a host's variables in place, as a config
# change would make the program render them.
vars_patch() {
  local name=$1 filter=$2
  shift 2
  jq "$@" "$filter" "$WORK/vars/$name.json" > "$WORK/vars/$name.json.new"
  mv "$WORK/vars/$name.json.new" "$WORK/vars/$name.json"
  chmod 0600 "$WORK/vars/$name.json"
}

# new_instance NAME LABEL ATTACHED: the host replaced by a new instance booted with its
# volume attached (1) or not yet (0), then the ready step and the tree copy, as the
# program runs them. Fails LABEL-boots-NAME when the instance does not come up.
new_instance() {
  local name=$1 label=$2
  root_replace "$name"
  # shellcheck disable=SC2034,SC2004 # hosts.sh's associative array, read by host_boot
  HOST_ATTACHED[$name]=$3
  host_boot "$name"
  stack_changed
  if ! host_wait "$name"; then
    fail "$label-boots-$name" "the new instance did not boot"
    return 1
  fi
  check "$label-ready-$name" ready "$name"
  check "$label-tree-copy-$name" tree_copy "$name"
}

# converged NAME RUN LABEL RC: the playbook run RUN succeeded (LABEL-converges-NAME);
# on failure its last lines are shown.
converged() {
  if (($4 == 0)) && recap "$1" "$2" | grep -q 'failed=0'; then
    pass "$3-converges-$1"
  else
    fail "$3-converges-$1" "exit $4; see logs/converge-$1-$2.log"
    converge_result "$1" "$2" "$4"
    return 1
  fi
}

check_volume_replace() {
  local name t0 before after size0 size1 gib rc=0 play_pid t_attach waited
  name=$(volume_host)
  t0=$(($(date +%s) - 30))
  before=$(past_samples "$name" "$t0")
  size0=$(volume_size_bytes "$name") || size0=0
  if [[ $before == none || $before == 0 ]]; then
    fail "volume-replace-$name" "no samples of up on $name before $t0 to compare with"
    return
  fi

  log "$name: replaced by a new instance while its volume grows by 2 GiB; attached late"
  host_stop "$name" TERM
  # The resize: EBS grows the volume (here: the file and the loop device), and
  # dataVolumeSizeGiB grows in the host's variables as the program would render them.
  gib=$(($(jq -er .data_volume_size_gib "$WORK/vars/$name.json") + 2))
  truncate -s "${gib}G" "$WORK/volumes/$name.img"
  losetup -c "${HOST_LOOP[$name]}"
  # shellcheck disable=SC2016 # a jq filter
  vars_patch "$name" '.data_volume_size_gib = $g' --argjson g "$gib"
  new_instance "$name" volume-replace 0 || return

  # The playbook starts before the volume is there: the role waits for it.
  provision "$name" replace &
  play_pid=$!
  sleep 20
  t_attach=$SECONDS
  if data_volume_attach "$name"; then
    pass "volume-attached-late-$name"
  else
    fail "volume-attached-late-$name" "could not make the device nodes in the container"
  fi
  wait "$play_pid" || rc=$?
  waited=$(grep -c 'RETRYING.*Wait for the data volume' "$WORK/logs/converge-$name-replace.log" || true)
  converged "$name" replace volume-replace "$rc" || return
  printf 'FIGURE volume late attach on %s: the role polled %d times (5 s apart) until the device appeared; the run ended %ds after the attach\n' \
    "$name" "$waited" $((SECONDS - t_attach))
  if ((waited >= 2)); then pass "volume-wait-bounded-$name"; else fail "volume-wait-bounded-$name" "the role did not wait for the device (polled $waited times)"; fi

  check "data-volume-mounted-after-replace-$name" volume_mount_ok "$name"
  size1=$(volume_size_bytes "$name") || size1=0
  printf 'FIGURE volume resize on %s: filesystem %d -> %d bytes (device %d GiB)\n' "$name" "$size0" "$size1" "$gib"
  # ext4 keeps a few percent for its metadata: 2 GiB more device is well over 1.5 GiB more.
  if ((size1 - size0 > 1610612736)); then
    pass "volume-grown-$name"
  else
    fail "volume-grown-$name" "filesystem $size0 -> $size1 bytes after growing the device by 2 GiB"
  fi

  if retry_until 120 2 prom_ready "$name"; then
    after=$(past_samples "$name" "$t0")
    if [[ $after == "$before" ]]; then
      pass "volume-data-intact-$name ($before samples of up before the replacement)"
    else
      fail "volume-data-intact-$name" "$before samples of up in the 10 min before $t0 before the replacement, $after after"
    fi
  else
    fail "volume-data-intact-$name" "Prometheus not ready within 120 s of the converge"
  fi
  if retry_until 120 5 primary_has_series_from "$name" "$E2E_PRIMARY"; then
    pass "volume-federates-after-replace-$name"
  else
    fail "volume-federates-after-replace-$name" "$E2E_PRIMARY has no fresh series from $name"
  fi

  provision "$name" replace-again || true
  local n
  n=$(changed_count "$name" replace-again)
  if [[ $n == 0 ]]; then
    pass "volume-idempotent-$name"
  else
    fail "volume-idempotent-$name" "changed=${n:-?} on the run after the replacement"
    changed_tasks "$name" replace-again >&2
  fi
}

# lost_window_samples NAME FROM TO: samples of `up` the host holds between two times.
lost_window_samples() {
  acurl "$1" "$PROM_PORT" /api/v1/query --get \
    --data-urlencode "query=sum(count_over_time(up[$(($3 - $2))s])) or vector(0)" \
    --data-urlencode "time=$3" 2>/dev/null | jq -r '.data.result[0].value[1] // "none"'
}

# The restore drill: a consistent copy of a running secondary's volume (fsfreeze holds
# writes while the file is copied: the local stand-in for an EBS snapshot), more data
# afterwards, then the host and its volume destroyed; a new volume from the copy (a new
# id, as restoreSnapshots makes one) and a new instance converge through the same
# playbook. Series from before the copy must be there, those written after it gone, and
# the primary must federate the host again.
check_restore() {
  local name t0 before t_snap t_lost lost_before lost_after rc=0 t_restore dur id vols
  name=$(volume_host)
  vols="$WORK/volumes"
  t0=$(($(date +%s) - 30))
  before=$(past_samples "$name" "$t0")
  if [[ $before == none || $before == 0 ]]; then
    fail "restore-$name" "no samples of up on $name before $t0 to compare with"
    return
  fi
  log "$name: snapshot of its volume, then the host and the volume destroyed"
  if on "$name" 'sudo fsfreeze -f /var/lib/prometheus' </dev/null; then
    cp --sparse=always "$vols/$name.img" "$vols/$name.snapshot"
    on "$name" 'sudo fsfreeze -u /var/lib/prometheus' </dev/null || true
    pass "restore-snapshot-taken-$name (fsfreeze, copy, thaw)"
  else
    fail "restore-snapshot-taken-$name" "fsfreeze failed"
    return
  fi
  t_snap=$(date +%s)
  # Data the snapshot does not hold: written after it, lost with the volume.
  sleep 45
  t_lost=$(date +%s)
  lost_before=$(lost_window_samples "$name" "$((t_snap + 5))" "$t_lost")

  host_stop "$name" TERM
  data_volume_destroy "$name"

  log "$name: restoring a new volume from the snapshot onto a new instance"
  t_restore=$SECONDS
  cp --sparse=always "$vols/$name.snapshot" "$vols/$name.img"
  # The restored volume's id, as the program passes it (restoreSnapshots makes a new one).
  id="vol-0e2e$(printf '%s' "$name" | sha256sum | cut -c1-13)"
  # shellcheck disable=SC2016 # a jq filter
  vars_patch "$name" '.data_volume_id = $id
    | .data_volume_devices[0] = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + ($id | sub("-"; ""))' --arg id "$id"
  new_instance "$name" restore 1 || return
  provision "$name" restore || rc=$?
  converged "$name" restore restore "$rc" || return
  if ! retry_until 120 2 prom_ready "$name"; then
    fail "restore-serves-$name" "Prometheus not ready within 120 s of the converge"
    return
  fi
  if retry_until 120 5 primary_has_series_from "$name" "$E2E_PRIMARY"; then
    dur=$((SECONDS - t_restore))
    pass "restore-federates-$name"
    printf 'FIGURE volume restore on %s: %ds from the new volume to the primary federating it again (new instance boot, ready step, copy, converge, WAL replay)\n' "$name" "$dur"
  else
    fail "restore-federates-$name" "$E2E_PRIMARY has no fresh series from $name"
  fi
  check "data-volume-mounted-after-restore-$name" volume_mount_ok "$name"
  local after
  after=$(past_samples "$name" "$t0")
  if [[ $after == "$before" ]]; then
    pass "restore-data-before-snapshot-$name ($before samples of up before $t0)"
  else
    fail "restore-data-before-snapshot-$name" "$before samples of up before $t0 before the drill, $after after the restore"
  fi
  lost_after=$(lost_window_samples "$name" "$((t_snap + 5))" "$t_lost")
  printf 'FIGURE volume restore on %s: samples of up written after the snapshot: %s before the loss, %s after the restore\n' \
    "$name" "$lost_before" "$lost_after"
  if [[ $lost_before =~ ^[0-9]+$ ]] && ((lost_before > 0)) && [[ $lost_after == 0 ]]; then
    pass "restore-lost-since-snapshot-$name"
  else
    fail "restore-lost-since-snapshot-$name" "expected samples after the snapshot before the loss and none after the restore: $lost_before, $lost_after"
  fi
  rm -f "$vols/$name.snapshot"
}
