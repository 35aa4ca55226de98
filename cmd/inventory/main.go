// Command inventory turns `pulumi stack output --json` into an Ansible inventory
// (JSON in the YAML inventory layout): hosts by private IP through the bastion, host keys pinned from
// the stack's outputs. It replaces the old script that asked EC2 for
// (changing) public IPs.
//
//	pulumi stack output --json | go run ./cmd/inventory -known-hosts ~/.ssh/known_hosts.promfed > inventory.yml
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/promfed/promfed/internal/stackoutput"
)

func main() {
	knownHosts := flag.String("known-hosts", "", "write the pinned host keys to this known_hosts file")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *knownHosts); err != nil {
		fmt.Fprintln(os.Stderr, "inventory:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, knownHostsPath string) error {
	o, err := stackoutput.Read(in)
	if err != nil {
		return err
	}
	if len(o.Hosts) == 0 {
		return fmt.Errorf("stack outputs lack bastionIp, sshUser or hosts: is this a promfed stack after `pulumi up`?")
	}
	known, err := o.KnownHosts()
	if err != nil {
		return err
	}
	sshArgs := shellJoin(o.SSHOptions(knownHostsPath))
	groups, shards := map[string]map[string]any{}, map[string]map[string]any{}
	for _, n := range o.HostNames() {
		h := o.Hosts[n]
		if groups[h.Role] == nil {
			groups[h.Role] = map[string]any{}
		}
		groups[h.Role][n] = map[string]any{
			"ansible_host": h.PrivateIP, "ansible_user": o.SSHUser, "promfed_fqdn": h.Fqdn, "promfed_instance_id": h.InstanceID,
			"ansible_ssh_common_args": sshArgs,
		}
		if h.Shard != "" {
			// Ansible group names allow letters, digits and underscores.
			g := "shard_" + strings.ReplaceAll(h.Shard, "-", "_")
			if shards[g] == nil {
				shards[g] = map[string]any{}
			}
			shards[g][n] = map[string]any{}
		}
	}
	// The YAML inventory layout (JSON is YAML), read by Ansible's default
	// yaml inventory plugin: all > prometheus > primary | secondary, and a
	// shard_<name> group per shard.
	children := map[string]any{}
	for role, hosts := range groups {
		children[role] = map[string]any{"hosts": hosts}
	}
	for g, hosts := range shards {
		children[g] = map[string]any{"hosts": hosts}
	}
	inv := map[string]any{"all": map[string]any{"children": map[string]any{"prometheus": map[string]any{"children": children}}}}
	if knownHostsPath != "" {
		if err := os.WriteFile(knownHostsPath, []byte(known), 0o600); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(inv)
}

// shellJoin quotes the arguments that hold spaces the way Ansible's shlex
// split of ansible_ssh_common_args undoes.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if strings.ContainsAny(a, " '") {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'"'"'`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}
