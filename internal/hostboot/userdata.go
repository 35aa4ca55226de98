// Package hostboot holds what every EC2 host of the stack shares at boot:
// the AMI lookup and the cloud-init document that installs the derived SSH
// host key, the provisioning account and, on Prometheus hosts, the data volume.
package hostboot

import (
	"fmt"
	"strings"

	"github.com/promfed/promfed/internal/contract"
)

// DataMountPoint is where the TSDB volume is mounted; Prometheus keeps its
// data below it (the Ansible role's prometheus_storage_path).
const DataMountPoint = "/var/lib/prometheus"

// UserDataArgs is what cloud-init needs to prepare a host before Ansible.
type UserDataArgs struct {
	HostKeyPrivate  string // OpenSSH PEM
	HostKeyPublic   string
	ClientPublicKey string
	// VolumeID is the EBS id of the data volume, or "" for hosts without one
	// (the bastion).
	VolumeID string
	// Packages are installed on first boot.
	Packages []string
}

// RenderUserData renders the #cloud-config document. It is deterministic:
// the same inputs give the same bytes, so re-running the program never
// changes an instance.
func RenderUserData(a UserDataArgs) string {
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	// The host key is derived by the program and pinned by the SSH client, so
	// cloud-init must install it instead of generating random ones.
	b.WriteString("ssh_deletekeys: true\nssh_genkeytypes: []\nssh_keys:\n  ed25519_private: |\n")
	for _, line := range strings.Split(strings.TrimSpace(a.HostKeyPrivate), "\n") {
		b.WriteString("    " + line + "\n")
	}
	fmt.Fprintf(&b, "  ed25519_public: %s\n", a.HostKeyPublic)
	fmt.Fprintf(&b, "users:\n  - default\n  - name: %s\n    shell: /bin/bash\n    lock_passwd: true\n    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n    ssh_authorized_keys:\n      - %s\n", contract.SSHUser, a.ClientPublicKey)
	if len(a.Packages) > 0 {
		b.WriteString("package_update: true\npackages:\n")
		for _, p := range a.Packages {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
	}
	if a.VolumeID != "" {
		b.WriteString("write_files:\n  - path: /usr/local/sbin/promfed-mount-data\n    permissions: \"0755\"\n    owner: root:root\n    content: |\n")
		for _, line := range strings.Split(MountScript, "\n") {
			if line == "" {
				b.WriteString("\n")
				continue
			}
			b.WriteString("      " + line + "\n")
		}
		// runcmd finishes before `cloud-init status --wait` returns, so the
		// provisioning gate also waits for the data volume.
		fmt.Fprintf(&b, "runcmd:\n  - [/usr/local/sbin/promfed-mount-data, %q, %q]\n", a.VolumeID, DataMountPoint)
	}
	return b.String()
}

// MountScript finds the data volume by its EBS id (Nitro instances expose
// it as an NVMe disk whose serial is the volume id), formats it only if it
// has no filesystem, and mounts it by UUID through /etc/fstab. The volume is
// attached after the instance starts, so it waits for the device.
const MountScript = `#!/bin/sh
# Usage: promfed-mount-data VOLUME_ID MOUNT_POINT
set -eu
vol=$(printf '%s' "$1" | tr -d '-')
mnt=$2
wait=${PROMFED_DEVICE_WAIT:-360} # seconds; the attachment follows the instance's start
dev=""
i=0
while :; do
  for d in "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$vol" /dev/xvdf /dev/sdf; do
    if [ -b "$d" ]; then dev=$(readlink -f "$d"); break 2; fi
  done
  [ "$i" -lt "$wait" ] || break
  i=$((i + 2)); sleep 2
done
if [ -z "$dev" ]; then echo "promfed-mount-data: volume $1 did not appear" >&2; exit 1; fi
if ! blkid -o value -s TYPE "$dev" >/dev/null 2>&1; then
  mkfs.ext4 -q -L promfed-data "$dev"
fi
uuid=$(blkid -o value -s UUID "$dev")
mkdir -p "$mnt"
if ! grep -q "UUID=$uuid" /etc/fstab; then
  echo "UUID=$uuid $mnt ext4 defaults,nofail,noatime 0 2" >> /etc/fstab
fi
mountpoint -q "$mnt" || mount "$mnt"
`
