# shellcheck shell=bash
# Image and offline apt repo: built with mmdebstrap, cached outside the repository under
# $E2E_CACHE/image-<hash of the inputs>/ (rootfs.tar, repo/, the release-style archive).

# The hosts' Debian release: trixie (Debian 13, the default AMI family) or bookworm
# (Debian 12, still offered; make e2e gives it a smoke pass).
E2E_SUITE=${E2E_SUITE:-trixie}
E2E_MIRROR=${E2E_MIRROR:-http://deb.debian.org/debian}
E2E_SECURITY_MIRROR=${E2E_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# Installed in the image: what the AMI plus cloud-init give a host before Pulumi runs the
# provisioning command: systemd, sshd, python3, sudo, and the packages the user data
# installs on first boot (keep in step with Packages in components/prometheus/server.go).
# curl is in Debian's cloud images; the host key boot script fetches the key with it.
# e2fsprogs too (their root is ext4): the data volume is formatted and grown with it.
E2E_IMAGE_PACKAGES=(
  systemd systemd-sysv dbus libpam-systemd openssh-server python3 python3-apt sudo
  iproute2 ca-certificates curl e2fsprogs
  ansible python3-passlib
)
# Downloaded (with their dependencies and recommends) into the image's local apt repo, so
# the playbook's apt tasks do real installs inside the offline hosts.
# prometheus-process-exporter is for the workload hosts only (a second kind of exporter
# next to node_exporter, installed by the harness, not by the playbook).
# unattended-upgrades is installed by the host_patching role.
E2E_REPO_PACKAGES=(
  prometheus prometheus-node-exporter prometheus-blackbox-exporter prometheus-alertmanager
  prometheus-process-exporter unattended-upgrades
)

# image_name: the hosts' release for headings, e.g. "Debian 13 (trixie)".
image_name() {
  case $E2E_SUITE in
    bookworm) printf 'Debian 12 (bookworm)\n' ;;
    trixie) printf 'Debian 13 (trixie)\n' ;;
    *) printf 'Debian %s\n' "$E2E_SUITE" ;;
  esac
}

image_apt_lines() {
  printf 'deb %s %s main\n' "$E2E_MIRROR" "$E2E_SUITE" "$E2E_MIRROR" "$E2E_SUITE-updates" \
    "$E2E_SECURITY_MIRROR" "$E2E_SUITE-security"
}

# The cache key covers everything the image is made from: this recipe, the package lists
# and the apt sources.
image_key() {
  {
    declare -f image_build image_build_archive image_apt_lines
    printf '%s\n' "${E2E_IMAGE_PACKAGES[@]}" -- "${E2E_REPO_PACKAGES[@]}"
    image_apt_lines
  } | sha256sum | cut -c1-16
}

# image_build DEST: writes DEST/rootfs.tar and DEST/repo/ (a flat, trusted apt repo).
image_build() {
  local dest=$1 include
  include=$(IFS=,; printf '%s' "${E2E_IMAGE_PACKAGES[*]}")
  mkdir -p "$dest/repo" "$dest/tmp"
  local -a lines
  mapfile -t lines < <(image_apt_lines)
  # The hooks are expanded by mmdebstrap's shell, where $1 is the new root.
  # shellcheck disable=SC2016
  TMPDIR="$dest/tmp" mmdebstrap --quiet --format=tar --variant=minbase \
    --include="$include" \
    --customize-hook='chroot "$1" apt-get clean' \
    --customize-hook="chroot \"\$1\" apt-get -y -q -o APT::Install-Recommends=true install --download-only ${E2E_REPO_PACKAGES[*]}" \
    --customize-hook="sync-out /var/cache/apt/archives $dest/repo" \
    --customize-hook='chroot "$1" apt-get clean' \
    --customize-hook='rm -f "$1"/etc/ssh/ssh_host_* && : > "$1/etc/machine-id"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/etc/apt/sources.list.d/*' \
    --customize-hook='echo "deb [trusted=yes] file:/srv/repo ./" > "$1/etc/apt/sources.list"' \
    "$E2E_SUITE" "$dest/rootfs.tar" "${lines[@]}"
  rm -rf "$dest/tmp" "$dest/repo/partial" "$dest/repo/lock"
  (cd "$dest/repo" && dpkg-scanpackages --multiversion . 2>/dev/null > Packages)
  grep -q '^Package: prometheus$' "$dest/repo/Packages" || die "local repo lacks prometheus"
}

# image_build_archive DIR: a release-style prometheus-<ver>.linux-amd64.tar.gz made from the
# Debian packages' binaries; prints nothing, writes DIR/archive.env with its facts.
# Up to bookworm the prometheus package holds promtool; from trixie on promtool is a
# package of its own (which prometheus depends on, so it is in the repo too) and comes
# from there, of the same version.
image_build_archive() {
  local dir=$1 deb tooldeb ver x name
  deb=$(find "$dir/repo" -maxdepth 1 -name 'prometheus_*_amd64.deb' | sort | tail -n 1)
  [[ -n $deb ]] || die "no prometheus .deb in $dir/repo"
  ver=$(dpkg-deb -f "$deb" Version)
  x=$(mktemp -d "$dir/x.XXXXXX")
  dpkg-deb -x "$deb" "$x/deb"
  if [[ ! -f $x/deb/usr/bin/promtool ]]; then
    tooldeb=$(find "$dir/repo" -maxdepth 1 -name 'promtool_*_amd64.deb' | sort | tail -n 1)
    [[ -n $tooldeb ]] || die "$deb lacks promtool and $dir/repo has no promtool .deb"
    [[ $(dpkg-deb -f "$tooldeb" Version) == "$ver" ]] ||
      die "$tooldeb is not of the version of $deb ($ver)"
    dpkg-deb -x "$tooldeb" "$x/deb"
  fi
  ver=${ver%%+*}
  ver=${ver%%-*}
  name="prometheus-$ver.linux-amd64"
  mkdir -p "$x/$name"
  install -m 0755 "$x/deb/usr/bin/prometheus" "$x/deb/usr/bin/promtool" "$x/$name/"
  tar -C "$x" --owner=0 --group=0 --numeric-owner -czf "$dir/$name.tar.gz" "$name"
  rm -rf "$x"
  {
    printf 'ARCHIVE_VERSION=%s\n' "$ver"
    printf 'ARCHIVE_FILE=%s\n' "$name.tar.gz"
    printf 'ARCHIVE_SHA256=%s\n' "$(sha256sum "$dir/$name.tar.gz" | cut -d' ' -f1)"
  } > "$dir/archive.env"
}

# cache_ensure KIND KEY WHAT BUILD_FN: sets CACHE_DIR to $E2E_CACHE/KIND-KEY, complete, running
# BUILD_FN TMPDIR (log in logs/KIND.log) when it is missing. Builds hold one lock, so two
# runs never build at once; entries of KIND unused for two weeks (older inputs) are pruned.
cache_ensure() {
  local kind=$1 key=$2 what=$3 build=$4 lockfd tmp old
  CACHE_DIR="$E2E_CACHE/$kind-$key"
  mkdir -p "$E2E_CACHE"
  exec {lockfd}> "$E2E_CACHE/.image.lock"
  flock "$lockfd"
  if [[ ${E2E_REBUILD_IMAGE:-0} == 1 ]]; then rm -rf "$CACHE_DIR"; fi
  if [[ -f $CACHE_DIR/complete ]]; then
    log "$kind: reusing $CACHE_DIR"
  else
    # mmdebstrap verifies the mirror with Debian's keyring (not installed by default on
    # Ubuntu, e.g. hosted CI runners).
    [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] ||
      die "building the image needs Debian's archive keyring: apt-get install debian-archive-keyring"
    log "$kind: building $CACHE_DIR ($what)"
    tmp="$E2E_CACHE/.build-$kind-$key.$$"
    # Removed by stack_down if the build is interrupted.
    # shellcheck disable=SC2034
    BUILD_TMP=$tmp
    rm -rf "$tmp"
    if ! "$build" "$tmp" > "$WORK/logs/$kind.log" 2>&1; then
      tail -n 30 "$WORK/logs/$kind.log" >&2
      die "$kind build failed (log above)"
    fi
    touch "$tmp/complete"
    rm -rf "$CACHE_DIR"
    mv "$tmp" "$CACHE_DIR"
    # shellcheck disable=SC2034
    BUILD_TMP=
  fi
  touch "$CACHE_DIR/last-used"
  find "$E2E_CACHE" -mindepth 2 -maxdepth 2 -path "$E2E_CACHE/$kind-*/last-used" -mtime +14 \
    -printf '%h\n' | while read -r old; do
    [[ $old == "$CACHE_DIR" ]] || { log "$kind: pruning $old"; rm -rf "$old"; }
  done
  flock -u "$lockfd"
  exec {lockfd}>&-
}

image_build_all() { image_build "$1" && image_build_archive "$1"; }

# image_ensure: sets IMAGE_DIR to the hosts' cached image and apt repo.
image_ensure() {
  cache_ensure image "$(image_key)" "mmdebstrap, 2-4 minutes" image_build_all
  # shellcheck disable=SC2034 # read by hosts.sh, converge.sh and demo.sh
  IMAGE_DIR=$CACHE_DIR
}
