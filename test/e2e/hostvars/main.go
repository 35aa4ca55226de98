// Command hostvars writes, for the end-to-end suite, exactly what the Pulumi
// program gives each host: the derived SSH host key, the provisioning client
// key, the Ansible variables and the playbook command. The suite then plays
// the part of cloud-init and of pulumi-command on local test hosts.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/promfed/promfed/components/provision"
	"github.com/promfed/promfed/internal/pki"
)

type hostEntry struct {
	Name       string `json:"name"`
	Vars       string `json:"vars"`
	Command    string `json:"command"`
	HostKey    string `json:"host_key"`
	HostKeyPub string `json:"host_key_pub"`
}

type manifest struct {
	SSHUser      string      `json:"ssh_user"`
	ClientKey    string      `json:"client_key"`
	CA           string      `json:"ca"`
	WebUsername  string      `json:"web_username"`
	WebPassword  string      `json:"web_password"`
	TreeDir      string      `json:"tree_dir"`
	TreeHash     string      `json:"tree_hash"`
	ReadyCommand string      `json:"ready_command"`
	Hosts        []hostEntry `json:"hosts"`
}

func main() {
	seedFile := flag.String("seed-file", "", "file holding the seed (at least 32 bytes)")
	stack := flag.String("stack", "e2e", "stack name")
	zone := flag.String("zone", "e2e.promfed.internal", "internal zone")
	hosts := flag.String("hosts", "primary,secondary-1", "comma-separated host names")
	out := flag.String("out", "", "output directory")
	tree := flag.String("ansible", "ansible", "Ansible tree to hash")
	blackbox := flag.String("blackbox", "", "comma-separated URLs the first secondary probes")
	flag.Parse()
	if err := run(*seedFile, *stack, *zone, *hosts, *out, *tree, *blackbox); err != nil {
		fmt.Fprintln(os.Stderr, "hostvars:", err)
		os.Exit(1)
	}
}

func run(seedFile, stack, zone, hostList, out, tree, blackbox string) error {
	if seedFile == "" || out == "" {
		return fmt.Errorf("-seed-file and -out are required")
	}
	seed, err := os.ReadFile(seedFile)
	if err != nil {
		return err
	}
	keys, err := pki.New(strings.TrimSpace(string(seed)), stack)
	if err != nil {
		return err
	}
	treeHash, err := provision.TreeHash(tree)
	if err != nil {
		return err
	}
	password := "e2e-" + provision.Hash(string(seed))[:24]
	fleet := &provision.Fleet{
		Stack: stack, InternalZone: zone, Hosts: strings.Split(hostList, ","),
		WebUsername: "promfed", WebPassword: password, RetentionTime: "1d", Keys: keys,
	}
	if blackbox != "" {
		fleet.BlackboxTargets = strings.Split(blackbox, ",")
	}
	ca, err := keys.CA()
	if err != nil {
		return err
	}
	client := keys.ClientKey()
	m := manifest{
		SSHUser: provision.SSHUser, ClientKey: "client_ed25519", CA: "ca.pem",
		WebUsername: fleet.WebUsername, WebPassword: password,
		TreeDir: provision.RemoteTreeDir(treeHash), TreeHash: treeHash, ReadyCommand: provision.ReadyCommand,
	}
	files := map[string]string{
		"client_ed25519":     client.PrivateKey,
		"client_ed25519.pub": client.PublicKey + "\n",
		"ca.pem":             ca.PEM,
	}
	for _, h := range fleet.Hosts {
		vars, err := fleet.VarsJSON(h)
		if err != nil {
			return err
		}
		hk := keys.HostKey(h)
		files[h+"/vars.json"] = vars
		files[h+"/ssh_host_ed25519_key"] = hk.PrivateKey
		files[h+"/ssh_host_ed25519_key.pub"] = hk.PublicKey + "\n"
		m.Hosts = append(m.Hosts, hostEntry{
			Name: h, Vars: h + "/vars.json", Command: provision.PlaybookCommand(treeHash),
			HostKey: h + "/ssh_host_ed25519_key", HostKeyPub: h + "/ssh_host_ed25519_key.pub",
		})
	}
	mj, err := json.MarshalIndent(m, "", "  ") //nolint:gosec // client_key is a file name; the key itself goes to its own 0600 file
	if err != nil {
		return err
	}
	files["manifest.json"] = string(mj) + "\n"
	for name, body := range files {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}
