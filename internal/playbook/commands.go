package playbook

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/promfed/promfed/internal/cloudinit"
	"github.com/promfed/promfed/internal/contract"
)

// RemoteTreeDir is where the Ansible tree of a given hash is copied on a
// host: a new directory per tree version, in the provisioning user's home.
func RemoteTreeDir(treeHash string) string {
	return "/home/" + contract.SSHUser + "/promfed-ansible-" + treeHash[:16]
}

// ReadyCommand waits until first boot has finished, then fails only on what
// the playbook cannot make up for: Ansible missing (first boot's package
// step failed). Other first-boot errors are printed and passed over: the
// SSH login that runs this proves the user and host key, and the
// playbook's data_volume role mounts the data volume itself, so a volume
// attached after first boot's wait no longer blocks provisioning forever.
const ReadyCommand = `set -u
rc=0
sudo cloud-init status --wait >/dev/null || rc=$?
if [ "$rc" -ne 0 ]; then
  sudo cloud-init status --long >&2 || true
  echo "promfed: first boot reported errors (above); the playbook mounts the data volume itself" >&2
fi
if ! command -v ansible-playbook >/dev/null; then
  echo "promfed: ansible-playbook is missing: first boot did not install its packages (see /var/log/cloud-init-output.log)" >&2
  exit 1
fi`

// Command runs the playbook on the host itself. The variables arrive on
// standard input without secrets; the host reads its secrets (variable ->
// SSM parameter name, from Secrets) from SSM Parameter Store as root with
// its own role, into 0600 files removed on exit: no secret travels with the
// command or appears on a command line. Older tree copies are removed
// after a successful run.
func Command(treeHash, region string, secrets map[string]string) string {
	dir := RemoteTreeDir(treeHash)
	var fetch strings.Builder
	for _, v := range slices.Sorted(maps.Keys(secrets)) {
		fmt.Fprintf(&fetch, "sudo sh \"$work/ssm-get\" %s > \"$work/secrets/%s\"\n", shellQuote(secrets[v]), v)
	}
	return fmt.Sprintf(`set -eu
umask 077
d=%[1]s
# A copy retried onto an existing directory lands one level down.
[ -f "$d/site.yml" ] || d="$d/ansible"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/vars.json"
mkdir "$work/secrets"
cat > "$work/ssm-get" <<'PROMFED_SSM_GET'
%[4]sPROMFED_SSM_GET
%[5]s# Secrets are never templated by Ansible (__ansible_unsafe).
python3 -c 'import json, os, sys
d = sys.argv[1]
print(json.dumps({n: {"__ansible_unsafe": open(os.path.join(d, n)).read().rstrip("\n")} for n in sorted(os.listdir(d))}))' "$work/secrets" > "$work/secrets.json"
sudo ANSIBLE_CONFIG="$d/ansible.cfg" ansible-playbook -c local -i localhost, "$d/site.yml" -e "@$work/vars.json" -e "@$work/secrets.json"
find /home/%[2]s -maxdepth 1 -name 'promfed-ansible-*' ! -name '%[3]s' -exec rm -rf {} +`, dir, contract.SSHUser, dir[len("/home/"+contract.SSHUser+"/"):],
		cloudinit.SSMGetScript(region), fetch.String())
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
