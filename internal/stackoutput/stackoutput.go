// Package stackoutput reads what `pulumi stack output --json` prints for a
// promfed stack (the exports of stack.go), for the commands that work from
// it (cmd/inventory, cmd/promfed). Each command checks the fields it needs.
package stackoutput

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Outputs are the stack's exports the commands read.
type Outputs struct {
	URL            string          `json:"url"`
	Region         string          `json:"region"`
	BastionIP      string          `json:"bastionIp"`
	BastionHostKey string          `json:"bastionHostKey"`
	SSHUser        string          `json:"sshUser"`
	CACertificate  string          `json:"caCertificate"`
	Hosts          map[string]Host `json:"hosts"`
}

// Host is one entry of the hosts export.
type Host struct {
	Fqdn       string `json:"fqdn"`
	PrivateIP  string `json:"privateIp"`
	InstanceID string `json:"instanceId"`
	Role       string `json:"role"`
	Shard      string `json:"shard"`
	HostKey    string `json:"hostKey"`
	// DataVolumeID is the EBS volume holding the host's TSDB.
	DataVolumeID string `json:"dataVolumeId"`
	// Region is where the host runs (a shard may run in another region
	// than the stack's); empty in outputs of earlier versions.
	Region string `json:"region"`
}

// Read decodes the JSON document.
func Read(in io.Reader) (*Outputs, error) {
	var o Outputs
	if err := json.NewDecoder(in).Decode(&o); err != nil {
		return nil, fmt.Errorf("reading stack outputs (pipe `pulumi stack output --json`): %w", err)
	}
	return &o, nil
}

// HostNames are the hosts' names, sorted.
func (o *Outputs) HostNames() []string {
	names := make([]string, 0, len(o.Hosts))
	for n := range o.Hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// KnownHosts is a known_hosts file that pins the bastion's and every host's
// key, by the addresses the SSH options below connect to.
func (o *Outputs) KnownHosts() (string, error) {
	if o.BastionIP == "" || o.BastionHostKey == "" || o.SSHUser == "" {
		return "", fmt.Errorf("stack outputs lack bastionIp, bastionHostKey or sshUser: is this a promfed stack after `pulumi up`?")
	}
	lines := []string{o.BastionIP + " " + o.BastionHostKey}
	for _, n := range o.HostNames() {
		h := o.Hosts[n]
		if h.PrivateIP == "" || h.HostKey == "" {
			return "", fmt.Errorf("host %s has no privateIp or hostKey in the outputs", n)
		}
		lines = append(lines, h.PrivateIP+" "+h.HostKey)
	}
	return strings.Join(lines, "\n") + "\n", nil
}

// SSHOptions are the ssh options that reach a host through the bastion with
// both keys checked against knownHosts (the user's own when empty). The
// bastion hop is a ProxyCommand rather than -J: options given on the
// command line do not apply to -J's jump connection, so its key would be
// checked against the default files instead.
func (o *Outputs) SSHOptions(knownHosts string) []string {
	pin := "-o StrictHostKeyChecking=yes"
	if knownHosts != "" {
		pin += " -o UserKnownHostsFile=" + knownHosts
	}
	return append(strings.Fields(pin),
		"-o", fmt.Sprintf("ProxyCommand=ssh %s -W %%h:%%p %s@%s", pin, o.SSHUser, o.BastionIP))
}
