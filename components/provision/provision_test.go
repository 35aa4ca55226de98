package provision

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/pki"
	"github.com/promfed/promfed/internal/testmocks"
)

// testShards has two shards, so that per-shard behavior shows.
const testShards = `[
  {"name": "apps", "secondaries": 2, "labels": {"team": "apps"},
   "ec2": [{"job": "apps-node", "tags": {"Team": "apps", "Env": "dev"}, "ports": [9100, 9256], "labelTags": {"Service": "service"}}],
   "probes": [{"url": "https://www.example.com/", "module": "https_2xx"}]},
  {"name": "data", "secondaries": 1,
   "dns": [{"job": "pg", "names": ["_pg._tcp.data.example.internal"], "type": "SRV", "port": 9187}],
   "static": [{"job": "kafka", "targets": ["10.60.1.10:9308"], "labels": {"cluster": "events"}}]}
]`

// loadConfig runs the real config loading for a shards setting.
func loadConfig(t *testing.T, shards string) *config.Config {
	t.Helper()
	cfg, err := config.Load("promfed", "dev", "eu-west-1", config.MapSource{
		Values: map[string]string{ //nolint:gosec // test fixture values, not credentials
			"adminCidrs": `["203.0.113.10/32"]`, "allowedCidrs": `["198.51.100.0/24"]`, "domain": "prometheus.example.com",
			"route53ZoneId": "Z0123456789ABCDEFGHIJ", "webPassword": "a-long-web-password", "hostKeySeed": "0123456789abcdef0123456789abcdef",
			"shards": shards,
		},
		Secrets: map[string]bool{"webPassword": true, "hostKeySeed": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func fleetFor(t *testing.T, cfg *config.Config, rules *Rules) *Fleet {
	t.Helper()
	keys, err := pki.New(cfg.HostKeySeed.Reveal(), cfg.Stack)
	if err != nil {
		t.Fatal(err)
	}
	return &Fleet{
		Stack: cfg.Stack, InternalZone: cfg.InternalZone, Hosts: cfg.Hosts, Shards: cfg.Shards,
		WebUsername: cfg.WebUsername, WebPassword: cfg.WebPassword.Reveal(), RetentionTime: "15d",
		EndpointProbe: "https://prometheus.example.com/-/healthy", Rules: rules, Keys: keys,
		Alerting: Alerting{SNSTopicArn: "arn:aws:sns:eu-west-1:123456789012:promfed-dev-alerts", SNSRegion: "eu-west-1"},
	}
}

func fleet(t *testing.T) *Fleet { t.Helper(); return fleetFor(t, loadConfig(t, testShards), nil) }

func asJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestVarsContract(t *testing.T) {
	f := fleet(t)
	p, err := f.Vars("primary")
	if err != nil {
		t.Fatal(err)
	}
	if got := asJSON(p["prometheus_federate_targets"]); got != `[{"address":"secondary-apps-1.dev.promfed.internal:9090","name":"secondary-apps-1","shard":"apps"},`+
		`{"address":"secondary-apps-2.dev.promfed.internal:9090","name":"secondary-apps-2","shard":"apps"},`+
		`{"address":"secondary-data-1.dev.promfed.internal:9090","name":"secondary-data-1","shard":"data"}]` {
		t.Errorf("primary federates %s", got)
	}
	a1, _ := f.Vars("secondary-apps-1")
	a2, _ := f.Vars("secondary-apps-2")
	d1, _ := f.Vars("secondary-data-1")
	if got := strings.Join(a1["prometheus_node_targets"].([]string), ","); got != "primary.dev.promfed.internal:9100,secondary-apps-1.dev.promfed.internal:9100" {
		t.Errorf("secondary-apps-1 scrapes %s", got)
	}
	if got := strings.Join(d1["prometheus_node_targets"].([]string), ","); got != "secondary-data-1.dev.promfed.internal:9100" {
		t.Errorf("secondary-data-1 scrapes %s", got)
	}
	if got := asJSON(a1["prometheus_probes"]); got != `[{"module":"https_auth_required","url":"https://prometheus.example.com/-/healthy"},{"module":"https_2xx","url":"https://www.example.com/"}]` {
		t.Errorf("the first secondary probes %s", got)
	}
	if got := asJSON(a2["prometheus_probes"]); got != `[{"module":"https_2xx","url":"https://www.example.com/"}]` {
		t.Errorf("the endpoint must be probed by exactly one secondary; secondary-apps-2 probes %s", got)
	}
	if got := asJSON(d1["prometheus_probes"]); got != `[]` {
		t.Errorf("the data shard probes nothing, yet %s", got)
	}
	if got := asJSON(a1["prometheus_external_labels"]); got != `{"prometheus":"secondary-apps-1","shard":"apps","stack":"dev","team":"apps"}` {
		t.Errorf("secondary-apps-1 external labels %s", got)
	}
	if got := asJSON(d1["prometheus_external_labels"]); got != `{"prometheus":"secondary-data-1","shard":"data","stack":"dev"}` {
		t.Errorf("secondary-data-1 external labels %s", got)
	}
	if got := asJSON(p["prometheus_external_labels"]); got != `{"prometheus":"primary","stack":"dev"}` {
		t.Errorf("primary external labels %s", got)
	}
	if p["prometheus_alertmanager_enabled"] != true || a1["prometheus_alertmanager_enabled"] != false ||
		p["alertmanager_sns_topic_arn"] != "arn:aws:sns:eu-west-1:123456789012:promfed-dev-alerts" || a1["alertmanager_sns_topic_arn"] != nil {
		t.Error("only the primary runs alertmanager, publishing to the topic")
	}
	if p["promfed_shard"] != "" || a1["promfed_shard"] != "apps" || d1["promfed_role"] != "secondary" {
		t.Errorf("shard/role: %v %v %v", p["promfed_shard"], a1["promfed_shard"], d1["promfed_role"])
	}
	if _, err := f.Vars("secondary-9"); err == nil {
		t.Error("an unknown host rendered")
	}
	a, _ := f.VarsJSON("secondary-apps-1")
	bb, _ := fleet(t).VarsJSON("secondary-apps-1")
	if a != bb {
		t.Error("variables are not deterministic")
	}
}

// Each secondary scrapes only its shard's workloads, in the role's shape.
func TestWorkloadJobs(t *testing.T) {
	f := fleet(t)
	a1, _ := f.Vars("secondary-apps-1")
	d1, _ := f.Vars("secondary-data-1")
	p, _ := f.Vars("primary")
	want := `[{"ec2":{"filters":[{"name":"instance-state-name","values":["running"]},{"name":"tag:Env","values":["dev"]},{"name":"tag:Team","values":["apps"]}],` +
		`"label_tags":[{"label":"service","tag":"Service"}],"ports":[9100,9256],"region":"eu-west-1"},"job":"apps-node","metrics_path":"/metrics","scheme":"http"}]`
	if got := asJSON(a1["prometheus_workload_jobs"]); got != want {
		t.Errorf("apps jobs:\n got %s\nwant %s", got, want)
	}
	want = `[{"dns":{"names":["_pg._tcp.data.example.internal"],"port":9187,"type":"SRV"},"job":"pg","metrics_path":"/metrics","scheme":"http"},` +
		`{"job":"kafka","metrics_path":"/metrics","scheme":"http","static":{"labels":{"cluster":"events"},"targets":["10.60.1.10:9308"]}}]`
	if got := asJSON(d1["prometheus_workload_jobs"]); got != want {
		t.Errorf("data jobs:\n got %s\nwant %s", got, want)
	}
	if got := asJSON(p["prometheus_workload_jobs"]); got != `[]` {
		t.Errorf("the primary scrapes workloads: %s", got)
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// monitoringDir writes a user rule folder: shared recording rules, one
// shard's own rules and alerting rules.
func monitoringDir(t *testing.T, appsRule string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "recording", "services.rules.yml"), "groups: []\n# recording\n")
	writeFile(t, filepath.Join(dir, "shards", "apps", "apps.rules.yml"), appsRule)
	writeFile(t, filepath.Join(dir, "alerting", "services.rules.yml"), "groups: []\n# alerting\n")
	writeFile(t, filepath.Join(dir, "README.md"), "not a rule file\n")
	return dir
}

func TestUserRulesGoWhereTheyBelong(t *testing.T) {
	cfg := loadConfig(t, testShards)
	rules, err := LoadRules(monitoringDir(t, "groups: []\n# apps\n"), cfg.Shards)
	if err != nil {
		t.Fatal(err)
	}
	f := fleetFor(t, cfg, rules)
	names := func(host string) string {
		v, err := f.Vars(host)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range v["prometheus_user_rules"].([]RuleFile) {
			out = append(out, r.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names("primary"); got != "alerting-services.rules.yml" {
		t.Errorf("primary carries %s", got)
	}
	// Rule files reach Ansible as unsafe text: their {{ $labels }} are
	// Prometheus templates, which Ansible must not render.
	if js, _ := f.VarsJSON("primary"); !strings.Contains(js, `"content": {
        "__ansible_unsafe": "groups: []\n# alerting\n"
      }`) {
		_, rest, _ := strings.Cut(js, "prometheus_user_rules")
		t.Errorf("rule contents are not marked unsafe:\n%s", rest)
	}
	if got := names("secondary-apps-2"); got != "recording-services.rules.yml,shard-apps-apps.rules.yml" {
		t.Errorf("secondary-apps-2 carries %s", got)
	}
	if got := names("secondary-data-1"); got != "recording-services.rules.yml" {
		t.Errorf("secondary-data-1 carries %s", got)
	}

	stray := monitoringDir(t, "groups: []\n")
	writeFile(t, filepath.Join(stray, "shards", "web", "x.yml"), "groups: []\n")
	if r, err := LoadRules(stray, cfg.Shards); err != nil || len(r.Ignored) != 1 || !strings.HasSuffix(r.Ignored[0], "shards/web") || len(r.Shards["web"]) != 0 {
		t.Errorf("a folder for a shard of another stack: %v, ignored %v", err, r.Ignored)
	}
	bad := monitoringDir(t, "groups: []\n")
	writeFile(t, filepath.Join(bad, "recording", "My Rules.yml"), "groups: []\n")
	if _, err := LoadRules(bad, cfg.Shards); err == nil || !strings.Contains(err.Error(), "rule file names use lowercase") {
		t.Errorf("a file name with a space: %v", err)
	}
	if r, err := LoadRules(filepath.Join(t.TempDir(), "none"), cfg.Shards); err != nil || len(r.For(cfg.Hosts[1])) != 0 {
		t.Errorf("no monitoring folder: %v %v", r, err)
	}
}

func TestTreeHash(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		_ = os.MkdirAll(filepath.Dir(p), 0o750)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("site.yml", "- hosts: all\n")
	write("roles/prometheus/tasks/main.yml", "---\n")
	h1, err := TreeHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	_ = os.Chtimes(filepath.Join(dir, "site.yml"), later, later)
	write(".cache/x", "ignored")
	if h2, _ := TreeHash(dir); h2 != h1 {
		t.Error("timestamps or hidden caches changed the hash")
	}
	write("roles/prometheus/tasks/main.yml", "---\n# edited\n")
	if h3, _ := TreeHash(dir); h3 == h1 {
		t.Error("editing a role did not change the hash")
	}
	if _, err := TreeHash(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing tree hashed")
	}
}

// triggers runs NewHost for every host and returns each resource's triggers,
// keyed by resource name.
func triggers(t *testing.T, instanceIDs map[string]string, treeHash string, f *Fleet) (map[string]string, *testmocks.Mocks) {
	t.Helper()
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		for _, host := range f.Hosts {
			h := host.Name
			vars, err := f.VarsJSON(h)
			if err != nil {
				return err
			}
			if _, err := NewHost(ctx, h, &HostArgs{
				InstanceID: pulumi.String(instanceIDs[h]), Address: pulumi.String("10.40.2.10"),
				HostKey:   f.Keys.HostKey(h).PublicKey,
				Bastion:   Bastion{Address: pulumi.String("198.51.100.7"), HostKey: f.Keys.HostKey("bastion").PublicKey},
				ClientKey: pulumi.String(f.Keys.ClientKey().PrivateKey), VarsJSON: pulumi.String(vars),
				AnsibleDir: "testdata", TreeHash: treeHash,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range m.Resources {
		if tr, ok := r.Inputs["triggers"]; ok {
			b, _ := json.Marshal(testmocks.Value(tr))
			out[r.Name] = string(b)
		}
	}
	return out, m
}

var testIDs = map[string]string{"primary": "i-1", "secondary-apps-1": "i-2", "secondary-apps-2": "i-3", "secondary-data-1": "i-4"}

func TestProvisioningRunsOnlyWhenNeeded(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	f := fleet(t)
	base, _ := triggers(t, testIDs, hash, f)
	if len(base) != 12 {
		t.Fatalf("want 3 steps for 4 hosts, got %v", base)
	}

	same, _ := triggers(t, testIDs, hash, fleet(t))
	for name, tr := range base {
		if same[name] != tr {
			t.Errorf("no change, yet %s's triggers changed", name)
		}
	}

	replaced := map[string]string{}
	for k, v := range testIDs {
		replaced[k] = v
	}
	replaced["secondary-apps-1"] = "i-9"
	after, _ := triggers(t, replaced, hash, f)
	for name, tr := range base {
		changed := after[name] != tr
		if changed != strings.HasPrefix(name, "secondary-apps-1-") {
			t.Errorf("replacing secondary-apps-1: %s changed=%v", name, changed)
		}
	}

	edited, _ := triggers(t, testIDs, strings.Repeat("cd", 32), f)
	for name, tr := range base {
		if strings.HasSuffix(name, "-ready") == (edited[name] != tr) {
			t.Errorf("editing the tree: %s changed=%v", name, edited[name] != tr)
		}
	}

	f2 := fleet(t)
	f2.WebPassword = "another-long-password"
	rotated, _ := triggers(t, testIDs, hash, f2)
	for name, tr := range base {
		if strings.HasSuffix(name, "-playbook") != (rotated[name] != tr) {
			t.Errorf("rotating the password: %s changed=%v", name, rotated[name] != tr)
		}
	}
	if strings.Contains(rotated["primary-playbook"], "another-long-password") || strings.Contains(base["primary-playbook"], "i-1") {
		t.Error("triggers carry raw values instead of hashes")
	}
}

// Editing one shard's targets or rules re-runs only that shard's playbooks.
func TestShardEditsStayInTheShard(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	cfg := loadConfig(t, testShards)
	rules, err := LoadRules(monitoringDir(t, "groups: []\n# apps v1\n"), cfg.Shards)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := triggers(t, testIDs, hash, fleetFor(t, cfg, rules))

	onlyChanged := func(what string, after map[string]string, prefix string) {
		t.Helper()
		for name, tr := range base {
			changed := after[name] != tr
			want := strings.HasPrefix(name, prefix) && strings.HasSuffix(name, "-playbook")
			if changed != want {
				t.Errorf("%s: %s changed=%v, want %v", what, name, changed, want)
			}
		}
	}

	moreTargets := strings.Replace(testShards, `"10.60.1.10:9308"`, `"10.60.1.10:9308", "10.60.2.10:9308"`, 1)
	cfg2 := loadConfig(t, moreTargets)
	after, _ := triggers(t, testIDs, hash, fleetFor(t, cfg2, rules))
	onlyChanged("a static target added to data", after, "secondary-data-")

	rules2, err := LoadRules(monitoringDir(t, "groups: []\n# apps v2\n"), cfg.Shards)
	if err != nil {
		t.Fatal(err)
	}
	after, _ = triggers(t, testIDs, hash, fleetFor(t, cfg, rules2))
	onlyChanged("a rule of shard apps edited", after, "secondary-apps-")
}

func TestSecretsAndPinnedHostKeys(t *testing.T) {
	f := fleet(t)
	_, m := triggers(t, testIDs, strings.Repeat("ab", 32), f)
	play := m.Named(t, "command:remote:Command", "primary-playbook")
	if !play.IsSecret("stdin") || !strings.Contains(play.Str("stdin"), `"promfed_host_name": "primary"`) ||
		!strings.Contains(play.Str("stdin"), `"prometheus_web_password": {
    "__ansible_unsafe": "a-long-web-password"
  }`) {
		t.Error("variables are not passed as secret stdin")
	}
	if strings.Contains(play.Str("create"), "a-long-web-password") || !strings.Contains(play.Str("create"), `cat > "$vars"`) {
		t.Errorf("playbook command: %s", play.Str("create"))
	}
	if play.Str("logging") != "stdoutAndStderr" || play.Dependencies == nil {
		t.Errorf("logging=%s deps=%v", play.Str("logging"), play.Dependencies)
	}
	conn := play.Get("connection").(map[string]any)
	if conn["hostKey"] != f.Keys.HostKey("primary").PublicKey || conn["dialErrorLimit"] != float64(-1) {
		t.Errorf("connection host key %v dialErrorLimit %v", conn["hostKey"], conn["dialErrorLimit"])
	}
	if !play.Inputs["connection"].ContainsSecrets() {
		t.Error("connection private key is not secret")
	}
	proxy := conn["proxy"].(map[string]any)
	if proxy["host"] != "198.51.100.7" || proxy["hostKey"] != f.Keys.HostKey("bastion").PublicKey {
		t.Errorf("proxy %v", proxy["host"])
	}
	ready := m.Named(t, "command:remote:Command", "primary-ready")
	if ready.CreateTimeout != "20m" {
		t.Errorf("ready gate timeout %q", ready.CreateTimeout)
	}
	cp := m.Named(t, "command:remote:CopyToRemote", "primary-ansible")
	if cp.Str("remotePath") != "/home/promfed/promfed-ansible-abababababababab" {
		t.Errorf("remote path %s", cp.Str("remotePath"))
	}
}
