# shellcheck shell=bash
# The workloads' world: an AWS API emulator (moto, EC2 + SNS + SQS, and SSM for the stack
# hosts' SSH host keys), a DNS server (dnsmasq) and a webhook sink, all inside the test
# network.
#
# bookworm has no moto, so these run from a second, small Debian 13 (trixie) root, built
# with mmdebstrap and cached like the hosts' image ($E2E_CACHE/aws-<hash>/root.tar). It is
# unpacked onto tmpfs and run with a plain chroot inside a network namespace of the test
# (no systemd needed: moto_server and dnsmasq are single foreground processes).

E2E_AWS_SUITE=${E2E_AWS_SUITE:-trixie}
# moto_server does not start without flask-cors, which python3-moto does not depend on.
E2E_AWS_PACKAGES=(python3-moto python3-boto3 python3-flask-cors dnsmasq-base ca-certificates)
E2E_AWS_REGION=${E2E_AWS_REGION:-eu-west-1}
MOTO_PORT=5000
SINK_PORT=8025
# moto's request recorder (inside the trixie root): one JSON line per API request, which
# is how the checks see that each host read its own key parameter at boot.
MOTO_RECORDING=/var/tmp/moto-requests.jsonl
# Dummy credentials: moto accepts any; they only have to be well-formed for SigV4.
E2E_AWS_ACCESS_KEY=e2e-dummy-access-key-for-moto-only
E2E_AWS_SECRET_KEY=e2e-dummy-secret-key-for-moto-only-000000
# The SNS topic and SQS queue the fixture creates in moto.
E2E_SNS_TOPIC=promfed-e2e-alerts
# The DNS domain the resolver serves for the workloads (never leaves the test network).
E2E_DNS_DOMAIN=workloads.e2e.test

AWS_NS=
AWS_IP=
AWS_ROOT=
AWS_IMAGE_DIR=
declare -A SVC_PID=() SVC_PID_START=()

aws_apt_lines() {
  printf 'deb %s %s main\n' "$E2E_MIRROR" "$E2E_AWS_SUITE" "$E2E_MIRROR" "$E2E_AWS_SUITE-updates" \
    "$E2E_SECURITY_MIRROR" "$E2E_AWS_SUITE-security"
}

aws_image_key() {
  {
    declare -f aws_image_build aws_apt_lines
    printf '%s\n' "${E2E_AWS_PACKAGES[@]}"
    aws_apt_lines
  } | sha256sum | cut -c1-16
}

# aws_image_build DEST: DEST/root.tar, a trixie root with moto, boto3 and dnsmasq.
aws_image_build() {
  local dest=$1 include
  include=$(IFS=,; printf '%s' "${E2E_AWS_PACKAGES[*]}")
  mkdir -p "$dest/tmp"
  local -a lines
  mapfile -t lines < <(aws_apt_lines)
  # shellcheck disable=SC2016 # expanded by mmdebstrap's shell, where $1 is the new root
  TMPDIR="$dest/tmp" mmdebstrap --quiet --format=tar --variant=minbase \
    --include="$include" \
    --customize-hook='chroot "$1" apt-get clean' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
    "$E2E_AWS_SUITE" "$dest/root.tar" "${lines[@]}"
  rm -rf "$dest/tmp"
  # grep reads everything: with -q it would stop early and fail tar under pipefail.
  [[ $(tar -tf "$dest/root.tar" | grep -c 'usr/bin/moto_server$') == 1 ]] ||
    die "the trixie root lacks moto_server"
}

# aws_image_ensure: sets AWS_IMAGE_DIR to the cached trixie root (lib/image.sh's cache).
aws_image_ensure() {
  cache_ensure aws "$(aws_image_key)" "mmdebstrap, $E2E_AWS_SUITE, 1-2 minutes" aws_image_build
  AWS_IMAGE_DIR=$CACHE_DIR
}

# in_aws_root CMD...: run CMD from the trixie root inside the ctl namespace (boto3 clients).
in_aws_root() { ip netns exec "$CTL_NS" chroot "$AWS_ROOT" "$@"; }

# svc_start NAME NS CMD...: a long-running service in namespace NS, in a session of its own
# (like the containers); its pid and start time are recorded for the teardown.
svc_start() {
  local name=$1 ns=$2
  shift 2
  setsid ip netns exec "$ns" "$@" </dev/null >"$WORK/logs/$name.log" 2>&1 &
  SVC_PID[$name]=$!
  SVC_PID_START[$name]=$(proc_start "$!") || true
  stack_changed
}

svc_stop_all() {
  local name
  for name in "${!SVC_PID[@]}"; do
    if [[ -n ${SVC_PID[$name]} ]] && { [[ -z ${SVC_PID_START[$name]:-} ]] || proc_same "${SVC_PID[$name]}" "${SVC_PID_START[$name]}"; }; then
      proc_stop "${SVC_PID[$name]}"
    fi
    SVC_PID[$name]=
  done
}

# dns_records: dnsmasq options for the workloads' names: an A record per workload, a name
# with every workload's address, and SRV records, all under $E2E_DNS_DOMAIN.
dns_records() {
  local name
  for name in "${E2E_WORKLOADS[@]}"; do
    printf -- '--host-record=%s.%s,%s\n' "$name" "$E2E_DNS_DOMAIN" "${HOST_IP[$name]}"
  done
  # The edge shard's DNS jobs (test/e2e/shards.json): node_exporter of workload-2 and -3
  # through SRV, process-exporter of workload-3 through A.
  printf -- '--srv-host=_node._tcp.edge.%s,workload-2.%s,%s\n' "$E2E_DNS_DOMAIN" "$E2E_DNS_DOMAIN" "$NODE_PORT"
  printf -- '--srv-host=_node._tcp.edge.%s,workload-3.%s,%s\n' "$E2E_DNS_DOMAIN" "$E2E_DNS_DOMAIN" "$NODE_PORT"
  printf -- '--host-record=process.edge.%s,%s\n' "$E2E_DNS_DOMAIN" "${HOST_IP[workload-3]}"
}

# aws_up: unpack the trixie root, start moto and dnsmasq in their namespace and the
# webhook sink in the ctl namespace. Runs before the stack hosts boot: their boot unit
# reads the SSH host key from moto's SSM.
aws_up() {
  AWS_ROOT="$WORK/roots/aws"
  mkdir -p "$AWS_ROOT"
  mount -t tmpfs -o "size=1G,mode=0755" promfed-e2e-aws "$AWS_ROOT"
  E2E_MOUNTS+=("$AWS_ROOT")
  stack_changed
  tar --numeric-owner -xpf "$AWS_IMAGE_DIR/root.tar" -C "$AWS_ROOT"
  install -m 0644 "$E2E_DIR/lib/aws_fixture.py" "$AWS_ROOT/usr/local/lib/aws_fixture.py"
  printf '127.0.0.1\tlocalhost\n' > "$AWS_ROOT/etc/hosts"

  # One moto_server serves every service (moto 5 dispatches on the request's SigV4 scope).
  svc_start moto "$AWS_NS" chroot "$AWS_ROOT" env MOTO_ENABLE_RECORDING=1 \
    MOTO_RECORDER_FILEPATH="$MOTO_RECORDING" moto_server -H "$AWS_IP" -p "$MOTO_PORT"
  local -a records
  mapfile -t records < <(dns_records)
  # Authoritative for the test domain only; no upstream, no hosts file, no DHCP.
  svc_start dnsmasq "$AWS_NS" chroot "$AWS_ROOT" dnsmasq --keep-in-foreground --log-facility=- \
    --no-resolv --no-hosts --no-poll --listen-address="$AWS_IP" --bind-interfaces \
    --port=53 --user=root --local="/$E2E_DNS_DOMAIN/" "${records[@]}"

  mkdir -p "$WORK/sink"
  svc_start sink "$CTL_NS" python3 "$E2E_DIR/lib/webhook_sink.py" "$CTL_IP" "$SINK_PORT" \
    "$WORK/sink/notifications.jsonl"
  rw_up
}

moto_ready() { in_ctl curl -sf -o /dev/null --max-time 3 "http://$AWS_IP:$MOTO_PORT/moto-api/"; }
sink_ready() { in_ctl curl -sf -o /dev/null --max-time 3 "http://$CTL_IP:$SINK_PORT/"; }

# aws_fixture CMD [ARGS...]: the boto3 fixture (lib/aws_fixture.py) against moto, in
# FIXTURE_REGION (default: the stack's region; moto keeps most things per region).
aws_fixture() {
  local region=${FIXTURE_REGION:-$E2E_AWS_REGION}
  in_aws_root env AWS_ACCESS_KEY_ID="$E2E_AWS_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$E2E_AWS_SECRET_KEY" \
    AWS_DEFAULT_REGION="$region" python3 /usr/local/lib/aws_fixture.py \
    --endpoint "http://$AWS_IP:$MOTO_PORT" --region "$region" "$@"
}

# aws_seed: the EC2 instances standing for the workloads and the SNS topic with an SQS
# queue subscribed, and a queue that only the edge shard's notifications reach (as a
# shard's alertEmails do); writes $WORK/aws.json (the topic ARN, the queue URLs, the instances).
aws_seed() {
  retry_until 60 0.5 moto_ready || { printf 'moto did not answer on %s:%s\n' "$AWS_IP" "$MOTO_PORT"; return 1; }
  local -a args=()
  local name
  for name in "${E2E_WORKLOADS[@]}"; do
    args+=(--instance "$name=${HOST_IP[$name]}=${WORKLOAD_TEAM[$name]}")
  done
  aws_fixture seed --cidr "$E2E_NET.0/24" --topic "$E2E_SNS_TOPIC" --shard-queue edge "${args[@]}" > "$WORK/aws.json" || return 1
  log "moto: $(jq -c '{topic: .topic_arn, instances: [.instances[] | "\(.name)=\(.ip) Team=\(.team)"]}' "$WORK/aws.json")"
}

# aws_seed_parameters: the SSM parameters the program stores for each stack host, as
# SecureStrings, in the host's region (manifest: region; a shard may run in another
# region, whose hosts read their secrets there): its SSH host private key (manifest:
# host_key_parameter, value: the host_key file) and, when the manifest names a host's
# "parameters" file ({name: value}), the others it holds. The values reach the fixture on
# stdin, never on a command line.
aws_seed_parameters() {
  retry_until 60 0.5 moto_ready || { printf 'moto did not answer on %s:%s\n' "$AWS_IP" "$MOTO_PORT"; return 1; }
  local name file region
  local -A params=()
  for name in "${E2E_HOSTS[@]}"; do
    region=$(manifest_host "$name" region) || return 1
    params[$region]=$(jq --arg p "$(manifest_host "$name" host_key_parameter)" \
      --rawfile v "$OUTDIR/$(manifest_host "$name" host_key)" '. + {($p): $v}' <<<"${params[$region]:-"{}"}") || return 1
    file=$(jq -r --arg h "$name" '.hosts[] | select(.name == $h) | .parameters // empty' "$OUTDIR/manifest.json")
    if [[ -n $file ]]; then
      params[$region]=$(jq --slurpfile f "$OUTDIR/$file" '. + $f[0]' <<<"${params[$region]}") || return 1
    fi
  done
  for region in "${!params[@]}"; do
    printf '%s: ' "$region"
    FIXTURE_REGION=$region aws_fixture put-secure-parameters <<<"${params[$region]}" || return 1
  done
}

# ssm_reads PARAMETER [REGION]: how many GetParameter requests for PARAMETER moto has
# received from curl (the boot script and the playbook command; the fixture is boto3 and
# never sends GetParameter), signed for REGION when given (the credential scope of the
# Authorization header: moto answers from that region's parameters).
ssm_reads() {
  local file="$AWS_ROOT$MOTO_RECORDING"
  [[ -f $file ]] || { printf '0\n'; return 0; }
  jq -n --arg p "$1" --arg r "${2:-}" '[inputs | (.headers | with_entries(.key |= ascii_downcase)) as $h
    | select($h["x-amz-target"] == "AmazonSSM.GetParameter" and ($h["user-agent"] // "" | startswith("curl/")))
    | select($r == "" or ($h["authorization"] // "" | contains("/" + $r + "/ssm/aws4_request")))
    | (if .body_encoded then .body | @base64d else .body end) | fromjson? | select(.Name == $p)]
    | length' "$file"
}

# ssm_read_regions PREFIX: the regions that curl's GetParameter requests for parameters
# under PREFIX were signed for, with their counts ("us-east-1=3 ..."), sorted.
ssm_read_regions() {
  local file="$AWS_ROOT$MOTO_RECORDING"
  [[ -f $file ]] || return 0
  jq -nr --arg p "$1" '[inputs | (.headers | with_entries(.key |= ascii_downcase)) as $h
    | select($h["x-amz-target"] == "AmazonSSM.GetParameter" and ($h["user-agent"] // "" | startswith("curl/")))
    | select((if .body_encoded then .body | @base64d else .body end) | fromjson? | .Name | startswith($p))
    | $h["authorization"] // "" | capture("Credential=[^/]+/[0-9]+/(?<r>[^/]+)/ssm/").r]
    | group_by(.) | map("\(.[0])=\(length)") | join(" ")' "$file"
}

# dns_ok: the resolver answers the SRV and A names the edge shard discovers.
dns_ok() {
  local out
  out=$(ip netns exec "$CTL_NS" chroot "$AWS_ROOT" python3 - "$AWS_IP" "_node._tcp.edge.$E2E_DNS_DOMAIN" 2>&1 <<'PY'
import socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
msg = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + q + struct.pack(">HH", 33, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(msg, (server, 53))
data, _ = s.recvfrom(4096)
answers = struct.unpack(">H", data[6:8])[0]
print(answers)
sys.exit(0 if answers >= 2 else 1)
PY
  ) || { printf 'no SRV answer for _node._tcp.edge.%s: %s\n' "$E2E_DNS_DOMAIN" "$out"; return 1; }
}

aws_down() {
  svc_stop_all
  return 0
}
