package playbook

import (
	"fmt"

	"github.com/promfed/promfed/internal/contract"
)

// RemoteTreeDir is where the Ansible tree of a given hash is copied on a
// host: a new directory per tree version, in the provisioning user's home.
func RemoteTreeDir(treeHash string) string {
	return "/home/" + contract.SSHUser + "/promfed-ansible-" + treeHash[:16]
}

// ReadyCommand waits until first boot has finished: cloud-init installed
// the keys, Ansible and the data volume. Exit 2 means cloud-init finished
// with recoverable errors, which the playbook can still handle.
const ReadyCommand = `set -u
rc=0
sudo cloud-init status --wait >/dev/null || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
  sudo cloud-init status --long >&2
  exit "$rc"
fi
command -v ansible-playbook >/dev/null`

// Command runs the playbook on the host itself. The variables
// (secrets included) arrive on standard input and live only in a 0600 file
// removed on exit: they never appear on a command line. Older tree copies
// are removed after a successful run.
func Command(treeHash string) string {
	dir := RemoteTreeDir(treeHash)
	return fmt.Sprintf(`set -eu
umask 077
d=%[1]s
# A copy retried onto an existing directory lands one level down.
[ -f "$d/site.yml" ] || d="$d/ansible"
vars=$(mktemp)
trap 'rm -f "$vars"' EXIT
cat > "$vars"
sudo ANSIBLE_CONFIG="$d/ansible.cfg" ansible-playbook -c local -i localhost, "$d/site.yml" -e "@$vars"
find /home/%[2]s -maxdepth 1 -name 'promfed-ansible-*' ! -name '%[3]s' -exec rm -rf {} +`, dir, contract.SSHUser, dir[len("/home/"+contract.SSHUser+"/"):])
}
