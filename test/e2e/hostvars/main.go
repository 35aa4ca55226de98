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

	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/cloudinit"
	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/pki"
	"github.com/promfed/promfed/internal/playbook"
)

type hostEntry struct {
	Name       string `json:"name"`
	Role       string `json:"role"`
	Shard      string `json:"shard"`
	Vars       string `json:"vars"`
	Command    string `json:"command"`
	HostKey    string `json:"host_key"`
	HostKeyPub string `json:"host_key_pub"`
	// HostKeyParameter is the SSM parameter holding HostKey's content, and
	// BootScript the script that installs it at boot (production: the
	// user data's bootcmd), both exactly as the program makes them.
	HostKeyParameter string `json:"host_key_parameter"`
	BootScript       string `json:"boot_script"`
	// Parameters is a JSON file {parameter name: value} of every SSM
	// parameter the program stores for the host (the host key included):
	// what the AWS stand-in must hold before the host boots.
	Parameters string `json:"parameters"`
	// Region is where the host runs: the SSM region its boot script and
	// playbook command read its secrets from.
	Region string `json:"region"`
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
	shards := flag.String("shards", "", "JSON file with the shards setting, as in a stack file")
	out := flag.String("out", "", "output directory")
	tree := flag.String("ansible", "ansible", "Ansible tree to hash")
	monitoring := flag.String("monitoring", "monitoring", "the user's rule folder")
	topic := flag.String("sns-topic-arn", "", "SNS topic the primary's Alertmanager publishes to")
	webhook := flag.String("webhook-url", "", "webhook receiver URL (the e2e sink; plain http is allowed here)")
	heartbeat := flag.String("heartbeat-url", "", "dead-man's-switch URL the Watchdog alert goes to (the e2e sink)")
	probe := flag.String("endpoint-probe", "", "URL the first secondary probes as the public endpoint")
	replicas := flag.String("primary-replicas", "2", "primary replicas (the primaryReplicas setting)")
	ampMode := flag.String("amp", "", "the ampRemoteWrite setting")
	rwURL := flag.String("remote-write-url", "", "where the writers send (the suite's stand-in for the AMP workspace)")
	flag.Parse()
	a := args{*seedFile, *stack, *zone, *shards, *out, *tree, *monitoring, *topic, *webhook, *heartbeat, *probe, *replicas, *ampMode, *rwURL}
	if err := run(a); err != nil {
		fmt.Fprintln(os.Stderr, "hostvars:", err)
		os.Exit(1)
	}
}

type args struct {
	seedFile, stack, zone, shards, out, tree, monitoring, topic, webhook, heartbeat, probe, replicas, amp, remoteWriteURL string
}

// region is the stack region of the e2e fleet; moto answers for any.
const region = "eu-west-1"

func run(a args) error {
	if a.seedFile == "" || a.out == "" || a.shards == "" {
		return fmt.Errorf("-seed-file, -shards and -out are required")
	}
	seed, err := os.ReadFile(a.seedFile)
	if err != nil {
		return err
	}
	shards, err := os.ReadFile(a.shards)
	if err != nil {
		return err
	}
	password := "e2e-" + playbook.Hash(string(seed))[:24]
	regionCidrs, err := regionVpcCidrs(shards)
	if err != nil {
		return err
	}
	// The shards go through the program's own loading and validation, with
	// placeholders for the settings the hosts never see.
	cfg, err := config.Load("promfed", a.stack, region, config.MapSource{
		Values: map[string]string{
			"shards": string(shards), "internalZone": a.zone, "domain": "prometheus.e2e.example.com",
			"route53ZoneId": "ZE2E", "adminCidrs": `["192.0.2.1/32"]`, "allowedCidrs": `["192.0.2.0/24"]`,
			"webPassword": password, "hostKeySeed": strings.TrimSpace(string(seed)), "primaryReplicas": a.replicas,
			"ampRemoteWrite": a.amp, "regionVpcCidrs": regionCidrs,
		},
		Secrets: map[string]bool{"webPassword": true, "hostKeySeed": true},
	})
	if err != nil {
		return err
	}
	keys, err := pki.New(cfg.HostKeySeed.Reveal(), a.stack)
	if err != nil {
		return err
	}
	treeHash, err := playbook.TreeHash(a.tree)
	if err != nil {
		return err
	}
	rules, err := playbook.LoadRules(a.monitoring, cfg.Shards)
	if err != nil {
		return err
	}
	// Stand-ins for the EBS ids: the suite attaches each host's loop-backed
	// data device as /dev/sdf, one of the paths the role tries.
	volumes := map[string]string{}
	for i, h := range cfg.Hosts {
		volumes[h.Name] = fmt.Sprintf("vol-0e2e%013x", i+1)
	}
	fleet := &playbook.Fleet{
		DataVolumeGiB: cfg.DataVolumeSizeGiB, DataVolumes: volumes,
		Stack: a.stack, InternalZone: cfg.InternalZone, Hosts: cfg.Hosts, Shards: cfg.Shards,
		WebUsername: cfg.WebUsername, WebPassword: password, RetentionTime: "1d",
		EndpointProbe: a.probe, Rules: rules, Keys: keys,
		Alerting: playbook.Alerting{SNSTopicArn: a.topic, SNSRegion: region, WebhookURL: a.webhook, HeartbeatURL: a.heartbeat},
	}
	if cfg.AMP != nil {
		// The program's checks and rendering; only the URL is the suite's.
		recorded, err := playbook.RecordedNames(a.tree, rules)
		if err != nil {
			return err
		}
		if err := playbook.CheckAMPMatch(cfg.AMP, recorded); err != nil {
			return err
		}
		fleet.RemoteWrite = &playbook.RemoteWrite{AMP: cfg.AMP, URL: a.remoteWriteURL, Region: region}
	}
	ca, err := keys.CA()
	if err != nil {
		return err
	}
	client := keys.ClientKey()
	m := manifest{
		SSHUser: contract.SSHUser, ClientKey: "client_ed25519", CA: "ca.pem",
		WebUsername: fleet.WebUsername, WebPassword: password,
		TreeDir: playbook.RemoteTreeDir(treeHash), TreeHash: treeHash, ReadyCommand: playbook.ReadyCommand,
	}
	files := map[string]string{
		"client_ed25519":     client.PrivateKey,
		"client_ed25519.pub": client.PublicKey + "\n",
		"ca.pem":             ca.PEM,
	}
	for _, h := range cfg.Hosts {
		vars, err := fleet.VarsJSON(h.Name)
		if err != nil {
			return err
		}
		hk := keys.HostKey(h.Name)
		param := contract.SecretParameter(cfg.NamePrefix, a.stack, h.Name, contract.SecretSSHHostKey)
		paramOf := func(secret string) string { return contract.SecretParameter(cfg.NamePrefix, a.stack, h.Name, secret) }
		secretVars, _, err := fleet.SecretInputs(h.Name, paramOf)
		if err != nil {
			return err
		}
		secrets, err := fleet.Secrets(h.Name)
		if err != nil {
			return err
		}
		values := map[string]string{param: hk.PrivateKey}
		for _, s := range secrets {
			values[paramOf(s.Name)] = s.Value
		}
		pj, err := json.MarshalIndent(values, "", "  ")
		if err != nil {
			return err
		}
		files[h.Name+"/ssm-parameters.json"] = string(pj) + "\n"
		files[h.Name+"/boot-host-key.sh"] = cloudinit.HostKeyScript(param, h.Region, hk.PublicKey)
		files[h.Name+"/vars.json"] = vars
		files[h.Name+"/ssh_host_ed25519_key"] = hk.PrivateKey
		files[h.Name+"/ssh_host_ed25519_key.pub"] = hk.PublicKey + "\n"
		m.Hosts = append(m.Hosts, hostEntry{
			Name: h.Name, Role: string(h.Role), Shard: h.Shard, Vars: h.Name + "/vars.json", Command: playbook.Command(treeHash, h.Region, secretVars),
			HostKey: h.Name + "/ssh_host_ed25519_key", HostKeyPub: h.Name + "/ssh_host_ed25519_key.pub",
			HostKeyParameter: param, BootScript: h.Name + "/boot-host-key.sh", Parameters: h.Name + "/ssm-parameters.json",
			Region: h.Region,
		})
	}
	mj, err := json.MarshalIndent(m, "", "  ") //nolint:gosec // client_key is a file name; the key itself goes to its own 0600 file
	if err != nil {
		return err
	}
	files["manifest.json"] = string(mj) + "\n"
	for name, body := range files {
		path := filepath.Join(a.out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// regionVpcCidrs gives each other region a shard names a VPC CIDR, as the
// stack file must: the local hosts have no VPC, so any free block will do.
func regionVpcCidrs(shards []byte) (string, error) {
	var list []struct {
		Region string `json:"region"`
	}
	if err := json.Unmarshal(shards, &list); err != nil {
		return "", fmt.Errorf("shards file: %w", err)
	}
	type entry struct {
		Region  string `json:"region"`
		VpcCidr string `json:"vpcCidr"`
	}
	out := []entry{}
	seen := map[string]bool{region: true, "": true}
	for _, s := range list {
		if !seen[s.Region] {
			seen[s.Region] = true
			out = append(out, entry{s.Region, fmt.Sprintf("10.%d.0.0/16", 41+len(out))})
		}
	}
	b, err := json.Marshal(out)
	return string(b), err
}
