# shellcheck shell=bash
# The life of the local hosts, shared by run.sh (the suite) and demo.sh (left running):
# prerequisites, work dir, generated material, booting the hosts, removing it all again.
# The caller sets E2E_DIR, REPO_ROOT and E2E_PREFIX (names its namespaces and cgroups)
# first; sourcing this file loads the other libs.
# shellcheck disable=SC2034 # the settings below are read by the other libs

# shellcheck source=test/e2e/lib/common.sh
source "$E2E_DIR/lib/common.sh"
# shellcheck source=test/e2e/lib/image.sh
source "$E2E_DIR/lib/image.sh"
# shellcheck source=test/e2e/lib/hosts.sh
source "$E2E_DIR/lib/hosts.sh"
# shellcheck source=test/e2e/lib/converge.sh
source "$E2E_DIR/lib/converge.sh"
# shellcheck source=test/e2e/lib/verify.sh
source "$E2E_DIR/lib/verify.sh"
# shellcheck source=test/e2e/lib/queries.sh
source "$E2E_DIR/lib/queries.sh"
# shellcheck source=test/e2e/lib/verify_shards.sh
source "$E2E_DIR/lib/verify_shards.sh"
# shellcheck source=test/e2e/lib/verify_hosts.sh
source "$E2E_DIR/lib/verify_hosts.sh"
# shellcheck source=test/e2e/lib/verify_ready.sh
source "$E2E_DIR/lib/verify_ready.sh"
# shellcheck source=test/e2e/lib/verify_ha.sh
source "$E2E_DIR/lib/verify_ha.sh"
# shellcheck source=test/e2e/lib/verify_volume.sh
source "$E2E_DIR/lib/verify_volume.sh"
# shellcheck source=test/e2e/lib/verify_dashboards.sh
source "$E2E_DIR/lib/verify_dashboards.sh"
# shellcheck source=test/e2e/lib/verify_chaos.sh
source "$E2E_DIR/lib/verify_chaos.sh"
# shellcheck source=test/e2e/lib/verify_cli.sh
source "$E2E_DIR/lib/verify_cli.sh"
# shellcheck source=test/e2e/lib/verify_remote_write.sh
source "$E2E_DIR/lib/verify_remote_write.sh"
# shellcheck source=test/e2e/lib/aws.sh
source "$E2E_DIR/lib/aws.sh"
# shellcheck source=test/e2e/lib/workloads.sh
source "$E2E_DIR/lib/workloads.sh"

# Built images and roots, kept between runs (outside the repository).
E2E_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/promfed/e2e
E2E_STACK=e2e
E2E_ZONE=e2e.promfed.internal
# The stack's hosts: two primary replicas and one secondary per shard of
# test/e2e/shards.json (the generator derives the same names from that file; generate
# checks it). E2E_PRIMARY is the replica the single-primary checks and the demo use.
E2E_HOSTS=(primary-a primary-b secondary-apps-1 secondary-edge-1)
E2E_PRIMARY=primary-a
E2E_SHARDS_FILE=${E2E_SHARDS_FILE:-$E2E_DIR/shards.json}
E2E_ARCHIVE_HOST="secondary-edge-1"
E2E_SSH_USER=promfed
E2E_ANSIBLE_DIR=${E2E_ANSIBLE_DIR:-$REPO_ROOT/ansible}
WORK=
OUTDIR=
HTTP_PID=
HTTP_PID_START=
# Commands (and the Debian packages holding them) a caller needs besides the suite's.
E2E_EXTRA_CMDS=()
E2E_EXTRA_PACKAGES=()

# is_primary NAME: NAME is a primary replica (contract: primary-a, primary-b).
is_primary() { [[ $1 == primary-* ]]; }

# stack_changed: called whenever a namespace, mount or process was added; demo.sh saves
# its state here so that `demo.sh down` finds everything even after an interrupted `up`.
stack_changed() { :; }

# prerequisites: root and the commands the hosts need, plus E2E_EXTRA_CMDS.
prerequisites() {
  local missing=() cmd
  [[ $(id -u) == 0 ]] || die "run as root (network namespaces, tmpfs mounts, systemd-nspawn)"
  for cmd in mmdebstrap systemd-nspawn ip ssh curl jq dpkg-scanpackages dpkg-deb go python3 \
    tar flock setsid sha256sum od chroot nsenter unshare ssh-agent ssh-add prometheus "${E2E_EXTRA_CMDS[@]}"; do
    command -v "$cmd" >/dev/null || missing+=("$cmd")
  done
  if ((${#missing[@]})); then
    die "missing commands: ${missing[*]}; install with: apt-get install -y --no-install-recommends mmdebstrap systemd-container iproute2 openssh-client curl jq dpkg-dev python3 ca-certificates debian-archive-keyring${E2E_EXTRA_PACKAGES[*]:+ ${E2E_EXTRA_PACKAGES[*]}} (and Go)"
  fi
}

# work_create PREFIX: a fresh work dir (logs, roots, generated material).
work_create() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  OUTDIR="$WORK/out"
  mkdir -p "$WORK/logs" "$WORK/roots" "$WORK/vars" "$OUTDIR"
  stack_changed
  log "work dir $WORK"
}

# Material for the hosts, from the generator the Pulumi program shares.
generate() {
  random_seed > "$WORK/seed"
  chmod 0600 "$WORK/seed"
  # The SNS topic the fixture creates in moto (its account is always 123456789012) and
  # the webhook sink in the ctl namespace. The emulator's endpoint and dummy keys are
  # not the generator's business: prepare_vars patches them in.
  (cd "$REPO_ROOT" && go run ./test/e2e/hostvars -seed-file "$WORK/seed" -stack "$E2E_STACK" \
    -zone "$E2E_ZONE" -shards "$E2E_SHARDS_FILE" -out "$OUTDIR" -ansible "$E2E_ANSIBLE_DIR" \
    -monitoring "$REPO_ROOT/monitoring" \
    -sns-topic-arn "arn:aws:sns:$E2E_AWS_REGION:123456789012:$E2E_SNS_TOPIC" \
    -webhook-url "http://$CTL_IP:$SINK_PORT/alerts" \
    -heartbeat-url "http://$CTL_IP:$SINK_PORT$E2E_HEARTBEAT_PATH" \
    -amp aggregates -remote-write-url "$(rw_url)") > "$WORK/logs/hostvars.log" 2>&1 || {
    cat "$WORK/logs/hostvars.log" >&2
    die "host material generator failed"
  }
  local name got
  got=$(jq -r '[.hosts[].name] | join(" ")' "$OUTDIR/manifest.json")
  [[ $got == "${E2E_HOSTS[*]}" ]] ||
    die "the generator made hosts '$got' from $E2E_SHARDS_FILE; the suite expects '${E2E_HOSTS[*]}'"
  for name in "${E2E_HOSTS[@]}"; do
    manifest_host "$name" command >/dev/null || die "manifest.json lacks host $name"
  done
  E2E_SSH_USER=$(jq -er .ssh_user "$OUTDIR/manifest.json")
  # moto keeps instances and topics per region: seed the one the variables name.
  local regions
  regions=$(jq -rs '[.[] | (.prometheus_workload_jobs // [])[].ec2.region // empty,
      (.alertmanager_sns_region // empty)] | unique | join(" ")' "$OUTDIR"/*/vars.json)
  [[ $regions == "$E2E_AWS_REGION" ]] ||
    die "the variables name the AWS region(s) '$regions'; the suite seeds moto in '$E2E_AWS_REGION'"
}

# The webhook sink's path that receives the Watchdog heartbeats (alertmanager_heartbeat_url).
E2E_HEARTBEAT_PATH=/heartbeat

# A random 64-character seed for this run only.
random_seed() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

# hosts_up: namespaces, SSH client config, the AWS emulator and DNS server, roots, boot of
# the workloads and the stack's hosts; a check per host that SSH answers.
hosts_up() {
  local name
  net_setup
  stack_changed
  ssh_setup
  # moto starts while the roots are unpacked: the stack hosts read their SSH host key
  # from its SSM at boot.
  aws_up
  for name in "${E2E_HOSTS[@]}"; do
    root_prepare "$name"
    stack_changed
  done
  for name in "${E2E_WORKLOADS[@]}"; do
    workload_prepare "$name"
    stack_changed
  done
  # The workloads first: they install their exporters while the parameters go into moto.
  for name in "${E2E_WORKLOADS[@]}"; do
    host_boot "$name"
    stack_changed
  done
  check "moto-ssm-parameters" aws_seed_parameters
  for name in "${E2E_HOSTS[@]}"; do
    host_boot "$name"
    stack_changed
  done
  for name in "${E2E_HOSTS[@]}"; do
    check "boot-ssh-$name" host_wait_ssh "$name"
  done
  check "moto-seeded" aws_seed
  check "dns-resolver-answers" dns_ok
  check "webhook-sink-answers" retry_until 15 0.2 sink_ready
}

# stack_down: stop the archive server and the hosts, remove mounts, namespaces, cgroups,
# an interrupted image build and (unless E2E_KEEP_WORK=1) the work dir.
stack_down() {
  if [[ -n $HTTP_PID ]] && { [[ -z $HTTP_PID_START ]] || proc_same "$HTTP_PID" "$HTTP_PID_START"; }; then
    proc_stop "$HTTP_PID"
  fi
  HTTP_PID=
  aws_down
  hosts_teardown
  [[ -n ${BUILD_TMP:-} ]] && rm -rf "$BUILD_TMP"
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ ${E2E_KEEP_WORK:-0} == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  fi
  return 0
}
