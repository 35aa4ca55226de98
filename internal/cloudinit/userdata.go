// Package cloudinit renders what every EC2 host runs at first boot: the
// cloud-init document that fetches the derived SSH host key from SSM
// Parameter Store, creates the provisioning account and, on Prometheus
// hosts, mounts the data volume. User data holds no secret. Pure: the
// end-to-end generator uses the same scripts without compiling Pulumi.
package cloudinit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/promfed/promfed/internal/contract"
)

// DataMountPoint is where the TSDB volume is mounted; Prometheus keeps its
// data below it (the Ansible role's prometheus_storage_path).
const DataMountPoint = "/var/lib/prometheus"

// DataAttachDevice is the device name the data volume is attached as. Nitro
// instances show it as an NVMe disk whose serial is the volume id instead.
const DataAttachDevice = "/dev/sdf"

// nvmeByID is udev's name for an EBS volume on a Nitro instance, followed by
// the volume id without its dash.
const nvmeByID = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"

// DataDevices are the paths under which a data volume may appear, in the
// order the mount tries them: at first boot (MountScript) and in the
// playbook's data_volume role, which gets this list as data_volume_devices.
func DataDevices(volumeID string) []string {
	return []string{nvmeByID + strings.ReplaceAll(volumeID, "-", ""), "/dev/xvdf", DataAttachDevice}
}

// UserDataArgs is what cloud-init needs to prepare a host before Ansible.
type UserDataArgs struct {
	// HostKeyParameter is the SSM SecureString holding the SSH host private
	// key (OpenSSH PEM); Region is where it lives.
	HostKeyParameter string
	Region           string
	HostKeyPublic    string
	ClientPublicKey  string
	// VolumeID is the EBS id of the data volume, or "" for hosts without one
	// (the bastion).
	VolumeID string
	// Packages are installed on first boot.
	Packages []string
	// AutoUpgrades installs unattended-upgrades and turns on its daily
	// run (Debian's default origins: security updates only), for hosts
	// Ansible does not manage.
	AutoUpgrades bool
}

// RenderUserData renders the #cloud-config document. It is deterministic:
// the same inputs give the same bytes, so re-running the program never
// changes an instance.
func RenderUserData(a UserDataArgs) string {
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	// The host key is derived by the program and pinned by the SSH client:
	// cloud-init must neither generate nor delete keys. bootcmd runs on
	// every boot before cloud-init's ssh module and before sshd starts.
	b.WriteString("ssh_deletekeys: false\nssh_genkeytypes: []\nbootcmd:\n  - |\n")
	for _, line := range strings.Split(HostKeyScript(a.HostKeyParameter, a.Region, a.HostKeyPublic), "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString("    " + line + "\n")
	}
	fmt.Fprintf(&b, "users:\n  - default\n  - name: %s\n    shell: /bin/bash\n    lock_passwd: true\n    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n    ssh_authorized_keys:\n      - %s\n", contract.SSHUser, a.ClientPublicKey)
	packages := slices.Clone(a.Packages)
	if a.AutoUpgrades {
		packages = append(packages, "unattended-upgrades")
	}
	if len(packages) > 0 {
		b.WriteString("package_update: true\npackages:\n")
		for _, p := range packages {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
	}
	if a.AutoUpgrades || a.VolumeID != "" {
		b.WriteString("write_files:\n")
	}
	if a.AutoUpgrades {
		b.WriteString("  - path: /etc/apt/apt.conf.d/20auto-upgrades\n    permissions: \"0644\"\n    owner: root:root\n    content: |\n")
		b.WriteString("      APT::Periodic::Update-Package-Lists \"1\";\n      APT::Periodic::Unattended-Upgrade \"1\";\n")
	}
	if a.VolumeID != "" {
		b.WriteString("  - path: /usr/local/sbin/promfed-mount-data\n    permissions: \"0755\"\n    owner: root:root\n    content: |\n")
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

// ssmGet defines ssm_get NAME: print the decrypted value of one SSM
// SecureString parameter, with the instance role's credentials from
// IMDSv2, signed by curl's SigV4. A readable /etc/promfed/aws.env may set
// SSM_ENDPOINT and static credentials (the end-to-end tests' stand-in for
// AWS). Needs $region.
const ssmGet = `SSM_ENDPOINT=''
AWS_ACCESS_KEY_ID=''
AWS_SECRET_ACCESS_KEY=''
AWS_SESSION_TOKEN=''
# shellcheck disable=SC1091 # only on test hosts
if [ -r /etc/promfed/aws.env ]; then . /etc/promfed/aws.env; fi
field() {
  python3 -c 'import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1:]:
    d = d[k]
sys.stdout.write(d if d.endswith("\n") else d + "\n")' "$@"
}
ssm_get() {
  if [ -z "$AWS_ACCESS_KEY_ID" ]; then
    imds=http://169.254.169.254/latest
    tok=$(curl -sf --retry 10 --retry-connrefused -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/api/token")
    role=$(curl -sf -H "X-aws-ec2-metadata-token: $tok" "$imds/meta-data/iam/security-credentials/")
    creds=$(curl -sf -H "X-aws-ec2-metadata-token: $tok" "$imds/meta-data/iam/security-credentials/$role")
    AWS_ACCESS_KEY_ID=$(printf '%s' "$creds" | field AccessKeyId)
    AWS_SECRET_ACCESS_KEY=$(printf '%s' "$creds" | field SecretAccessKey)
    AWS_SESSION_TOKEN=$(printf '%s' "$creds" | field Token)
  fi
  # Credentials reach curl through a config on stdin, never a command line.
  {
    printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"
    if [ -n "$AWS_SESSION_TOKEN" ]; then printf 'header = "x-amz-security-token: %s"\n' "$AWS_SESSION_TOKEN"; fi
  } | curl -sf --retry 10 --retry-connrefused --max-time 60 -K - --aws-sigv4 "aws:amz:$region:ssm" \
    -H 'X-Amz-Target: AmazonSSM.GetParameter' -H 'Content-Type: application/x-amz-json-1.1' \
    --data "{\"Name\":\"$1\",\"WithDecryption\":true}" "${SSM_ENDPOINT:-https://ssm.$region.amazonaws.com}/" | field Parameter Value
}
`

// SSMGetScript prints the value of the parameter named by its argument:
// provisioning runs it (as root) for the secrets the playbook needs.
func SSMGetScript(region string) string {
	return "#!/bin/sh\n# promfed: print one host secret from SSM Parameter Store.\nset -eu\nregion=" + shellQuote(region) + "\n" + ssmGet + "ssm_get \"$1\"\n"
}

// HostKeyScript installs the host's SSH key pair: the private key from the
// SSM parameter, the public key as given. If SSM cannot be reached, an
// existing key is kept (a reboot without NAT still boots). No secret is in
// the script.
func HostKeyScript(parameter, region, publicKey string) string {
	return "#!/bin/sh\n# promfed: install this host's SSH host key from SSM Parameter Store.\nset -eu\n" +
		"param=" + shellQuote(parameter) + "\nregion=" + shellQuote(region) + "\npub=" + shellQuote(publicKey) + "\n" +
		ssmGet + hostKeyInstall
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

const hostKeyInstall = `key=/etc/ssh/ssh_host_ed25519_key
umask 077
tmp=$(mktemp /etc/ssh/.promfed-host-key.XXXXXX)
ssm_get "$param" > "$tmp" || true
if grep -q 'BEGIN OPENSSH PRIVATE KEY' "$tmp"; then
  mv "$tmp" "$key"
else
  rm -f "$tmp"
  echo "promfed: could not read $param from SSM Parameter Store; keeping the existing host key" >&2
  [ -s "$key" ]
fi
printf '%s\n' "$pub" > "$key.pub"
chmod 0600 "$key"
chmod 0644 "$key.pub"
`

// MountScript finds the data volume by its EBS id (Nitro instances expose
// it as an NVMe disk whose serial is the volume id), formats it only if it
// has no filesystem, and mounts it by UUID through /etc/fstab. The volume is
// attached after the instance starts, so it waits for the device. The
// playbook's data_volume role does the same on every run (and grows the
// filesystem), so a volume attached after this wait still gets mounted; a
// test keeps the two in step. Its bytes are part of every instance's user
// data: an edit here replaces every host.
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
