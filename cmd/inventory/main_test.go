package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `{"bastionIp":"198.51.100.7","bastionHostKey":"ssh-ed25519 AAAAB bastion","sshUser":"promfed",
"hosts":{"primary":{"fqdn":"primary.dev.promfed.internal","privateIp":"10.40.2.10","instanceId":"i-1","role":"primary","hostKey":"ssh-ed25519 AAAAP primary"},
"secondary-1":{"fqdn":"secondary-1.dev.promfed.internal","privateIp":"10.40.3.11","instanceId":"i-2","role":"secondary","shard":"web-eu","hostKey":"ssh-ed25519 AAAAS secondary-1"}}}`

func TestInventoryFromOutputs(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	var out bytes.Buffer
	if err := run(strings.NewReader(sample), &out, kh); err != nil {
		t.Fatal(err)
	}
	known, _ := os.ReadFile(kh)
	if string(known) != "198.51.100.7 ssh-ed25519 AAAAB bastion\n10.40.2.10 ssh-ed25519 AAAAP primary\n10.40.3.11 ssh-ed25519 AAAAS secondary-1\n" {
		t.Errorf("known_hosts:\n%s", known)
	}
	// ansible-inventory must read it as Ansible would.
	inv := filepath.Join(t.TempDir(), "inv.yml")
	_ = os.WriteFile(inv, out.Bytes(), 0o600)
	res, err := exec.Command("ansible-inventory", "-i", inv, "--list").Output()
	if err != nil {
		t.Fatalf("ansible-inventory: %v", err)
	}
	var parsed map[string]any
	if err := json.Unmarshal(res, &parsed); err != nil {
		t.Fatal(err)
	}
	hv := parsed["_meta"].(map[string]any)["hostvars"].(map[string]any)["secondary-1"].(map[string]any)
	// The bastion hop checks the bastion's key against the same pinned file.
	wantArgs := "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + kh +
		" -o 'ProxyCommand=ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + kh + " -W %h:%p promfed@198.51.100.7'"
	if hv["ansible_host"] != "10.40.3.11" || hv["ansible_ssh_common_args"] != wantArgs {
		t.Errorf("hostvars %v", hv)
	}
	if hosts := parsed["secondary"].(map[string]any)["hosts"].([]any); len(hosts) != 1 || hosts[0] != "secondary-1" {
		t.Errorf("secondary group %v", parsed["secondary"])
	}
	if g, ok := parsed["shard_web_eu"].(map[string]any); !ok || len(g["hosts"].([]any)) != 1 || g["hosts"].([]any)[0] != "secondary-1" {
		t.Errorf("shard group %v", parsed["shard_web_eu"])
	}
}

func TestIncompleteOutputsRefused(t *testing.T) {
	if err := run(strings.NewReader(`{"hosts":{}}`), &bytes.Buffer{}, ""); err == nil || !strings.Contains(err.Error(), "lack bastionIp") {
		t.Fatalf("got %v", err)
	}
}
