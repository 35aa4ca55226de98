// Package stackoutput reads what `pulumi stack output --json` prints for a
// promfed stack (the exports of stack.go), for the commands that work from
// it (cmd/inventory, cmd/promfed). Each command checks the fields it needs.
package stackoutput

import (
	"encoding/json"
	"fmt"
	"io"
)

// Outputs are the stack's exports the commands read.
type Outputs struct {
	URL            string          `json:"url"`
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
}

// Read decodes the JSON document.
func Read(in io.Reader) (*Outputs, error) {
	var o Outputs
	if err := json.NewDecoder(in).Decode(&o); err != nil {
		return nil, fmt.Errorf("reading stack outputs (pipe `pulumi stack output --json`): %w", err)
	}
	return &o, nil
}
