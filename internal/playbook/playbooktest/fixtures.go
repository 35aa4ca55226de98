// Package playbooktest holds fixtures for the tests of the playbook's
// inputs and of the provisioning component: a two-shard configuration
// loaded the real way, its fleet, and a user rule folder.
package playbooktest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/pki"
	"github.com/promfed/promfed/internal/playbook"
)

// Shards has two shards, so that per-shard behavior shows; the fleet has
// two primary replicas, so that the replicas' cross-references show.
const Shards = `[
  {"name": "apps", "secondaries": 2, "labels": {"team": "apps"},
   "ec2": [{"job": "apps-node", "tags": {"Team": "apps", "Env": "dev"}, "ports": [9100, 9256], "labelTags": {"Service": "service"}}],
   "probes": [{"url": "https://www.example.com/", "module": "https_2xx"}]},
  {"name": "data", "secondaries": 1,
   "dns": [{"job": "pg", "names": ["_pg._tcp.data.example.internal"], "type": "SRV", "port": 9187}],
   "static": [{"job": "kafka", "targets": ["10.60.1.10:9308"], "labels": {"cluster": "events"}}]}
]`

// LoadConfig runs the real config loading for a shards setting.
func LoadConfig(t testing.TB, shards string) *config.Config {
	t.Helper()
	cfg, err := config.Load("promfed", "dev", "eu-west-1", config.MapSource{
		Values: map[string]string{ //nolint:gosec // test fixture values, not credentials
			"adminCidrs": `["203.0.113.10/32"]`, "allowedCidrs": `["198.51.100.0/24"]`, "domain": "prometheus.example.com",
			"route53ZoneId": "Z0123456789ABCDEFGHIJ", "webPassword": "a-long-web-password", "hostKeySeed": "0123456789abcdef0123456789abcdef",
			"shards": shards, "primaryReplicas": "2",
		},
		Secrets: map[string]bool{"webPassword": true, "hostKeySeed": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// FleetFor is the fleet the program would render for cfg.
func FleetFor(t testing.TB, cfg *config.Config, rules *playbook.Rules) *playbook.Fleet {
	t.Helper()
	keys, err := pki.New(cfg.HostKeySeed.Reveal(), cfg.Stack)
	if err != nil {
		t.Fatal(err)
	}
	volumes := map[string]string{}
	for i, h := range cfg.Hosts {
		volumes[h.Name] = fmt.Sprintf("vol-%017x", i+1)
	}
	return &playbook.Fleet{
		DataVolumeGiB: cfg.DataVolumeSizeGiB, DataVolumes: volumes,
		Stack: cfg.Stack, InternalZone: cfg.InternalZone, Hosts: cfg.Hosts, Shards: cfg.Shards,
		WebUsername: cfg.WebUsername, WebPassword: cfg.WebPassword.Reveal(), RetentionTime: "15d",
		EndpointProbe: "https://prometheus.example.com/-/healthy", Rules: rules, Keys: keys,
		Alerting: playbook.Alerting{SNSTopicArn: "arn:aws:sns:eu-west-1:123456789012:promfed-dev-alerts", SNSRegion: "eu-west-1"},
	}
}

// Fleet renders Shards without user rules.
func Fleet(t testing.TB) *playbook.Fleet {
	t.Helper()
	return FleetFor(t, LoadConfig(t, Shards), nil)
}

// JSON is v as compact JSON.
func JSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// WriteFile writes body to path, creating folders.
func WriteFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// MonitoringDir writes a user rule folder: shared recording rules, one
// shard's own rules and alerting rules.
func MonitoringDir(t testing.TB, appsRule string) string {
	t.Helper()
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "recording", "services.rules.yml"), "groups: []\n# recording\n")
	WriteFile(t, filepath.Join(dir, "shards", "apps", "apps.rules.yml"), appsRule)
	WriteFile(t, filepath.Join(dir, "alerting", "services.rules.yml"), "groups: []\n# alerting\n")
	WriteFile(t, filepath.Join(dir, "README.md"), "not a rule file\n")
	return dir
}
