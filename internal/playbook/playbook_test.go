package playbook_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/playbook"
	"github.com/promfed/promfed/internal/playbook/playbooktest"
)

func TestVarsContract(t *testing.T) {
	f := playbooktest.Fleet(t)
	p, err := f.Vars("primary-a")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := f.Vars("primary-b")
	if err != nil {
		t.Fatal(err)
	}
	if got := playbooktest.JSON(pb["prometheus_federate_targets"]); got != playbooktest.JSON(p["prometheus_federate_targets"]) {
		t.Errorf("the replicas federate different shards: %s", got)
	}
	if got := playbooktest.JSON(p["prometheus_federate_targets"]); got != `[{"address":"secondary-apps-1.dev.promfed.internal:9090","name":"secondary-apps-1","shard":"apps"},`+
		`{"address":"secondary-apps-2.dev.promfed.internal:9090","name":"secondary-apps-2","shard":"apps"},`+
		`{"address":"secondary-data-1.dev.promfed.internal:9090","name":"secondary-data-1","shard":"data"}]` {
		t.Errorf("primary federates %s", got)
	}
	a1, _ := f.Vars("secondary-apps-1")
	a2, _ := f.Vars("secondary-apps-2")
	d1, _ := f.Vars("secondary-data-1")
	if got := strings.Join(a1["prometheus_node_targets"].([]string), ","); got != "primary-a.dev.promfed.internal:9100,primary-b.dev.promfed.internal:9100,secondary-apps-1.dev.promfed.internal:9100" {
		t.Errorf("secondary-apps-1 scrapes %s", got)
	}
	if got := strings.Join(d1["prometheus_node_targets"].([]string), ","); got != "secondary-data-1.dev.promfed.internal:9100" {
		t.Errorf("secondary-data-1 scrapes %s", got)
	}
	if got := playbooktest.JSON(a1["prometheus_probes"]); got != `[{"module":"https_auth_required","url":"https://prometheus.example.com/-/healthy"},{"module":"https_2xx","url":"https://www.example.com/"}]` {
		t.Errorf("the first secondary probes %s", got)
	}
	if got := playbooktest.JSON(a2["prometheus_probes"]); got != `[{"module":"https_2xx","url":"https://www.example.com/"}]` {
		t.Errorf("the endpoint must be probed by exactly one secondary; secondary-apps-2 probes %s", got)
	}
	if got := playbooktest.JSON(d1["prometheus_probes"]); got != `[]` {
		t.Errorf("the data shard probes nothing, yet %s", got)
	}
	if got := playbooktest.JSON(a1["prometheus_external_labels"]); got != `{"prometheus":"secondary-apps-1","shard":"apps","stack":"dev","team":"apps"}` {
		t.Errorf("secondary-apps-1 external labels %s", got)
	}
	if got := playbooktest.JSON(d1["prometheus_external_labels"]); got != `{"prometheus":"secondary-data-1","shard":"data","stack":"dev"}` {
		t.Errorf("secondary-data-1 external labels %s", got)
	}
	if got := playbooktest.JSON(p["prometheus_external_labels"]); got != `{"prometheus":"primary-a","replica":"a","stack":"dev"}` {
		t.Errorf("primary-a external labels %s", got)
	}
	if got := playbooktest.JSON(pb["prometheus_external_labels"]); got != `{"prometheus":"primary-b","replica":"b","stack":"dev"}` {
		t.Errorf("primary-b external labels %s", got)
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
	bb, _ := playbooktest.Fleet(t).VarsJSON("secondary-apps-1")
	if a != bb {
		t.Error("variables are not deterministic")
	}
}

// Each replica sends alerts to every Alertmanager, gossips with and watches
// the other replica only; secondaries do none of it.
func TestReplicasWatchEachOther(t *testing.T) {
	f := playbooktest.Fleet(t)
	want := map[string]string{
		"primary-a": `am=["primary-a.dev.promfed.internal:9093","primary-b.dev.promfed.internal:9093"] ` +
			`peers=[{"address":"primary-b.dev.promfed.internal:9090","name":"primary-b"}] gossip=["primary-b.dev.promfed.internal:9094"] ` +
			`nodes=["primary-a.dev.promfed.internal:9100","primary-b.dev.promfed.internal:9100"]`,
		"primary-b": `am=["primary-a.dev.promfed.internal:9093","primary-b.dev.promfed.internal:9093"] ` +
			`peers=[{"address":"primary-a.dev.promfed.internal:9090","name":"primary-a"}] gossip=["primary-a.dev.promfed.internal:9094"] ` +
			`nodes=["primary-a.dev.promfed.internal:9100","primary-b.dev.promfed.internal:9100"]`,
		"secondary-data-1": `am=[] peers=[] gossip=null nodes=["secondary-data-1.dev.promfed.internal:9100"]`,
	}
	for host, w := range want {
		v, err := f.Vars(host)
		if err != nil {
			t.Fatal(err)
		}
		got := "am=" + playbooktest.JSON(v["prometheus_alertmanager_targets"]) + " peers=" + playbooktest.JSON(v["prometheus_peer_targets"]) +
			" gossip=" + playbooktest.JSON(v["alertmanager_cluster_peers"]) + " nodes=" + playbooktest.JSON(v["prometheus_node_targets"])
		if got != w {
			t.Errorf("%s: %s\nwant %s", host, got, w)
		}
	}
	// One replica: its own Alertmanager, no peer, clustering off.
	cfg := playbooktest.LoadConfig(t, playbooktest.Shards)
	cfg.Hosts = slices.DeleteFunc(cfg.Hosts, func(h config.Host) bool { return h.Name == "primary-b" })
	v, err := playbooktest.FleetFor(t, cfg, nil).Vars("primary-a")
	if err != nil {
		t.Fatal(err)
	}
	if got := playbooktest.JSON(v["prometheus_alertmanager_targets"]) + playbooktest.JSON(v["prometheus_peer_targets"]) + playbooktest.JSON(v["alertmanager_cluster_peers"]); got != `["primary-a.dev.promfed.internal:9093"][][]` {
		t.Errorf("one replica: %s", got)
	}
}

// Each secondary scrapes only its shard's workloads, in the role's shape.
func TestWorkloadJobs(t *testing.T) {
	f := playbooktest.Fleet(t)
	a1, _ := f.Vars("secondary-apps-1")
	d1, _ := f.Vars("secondary-data-1")
	p, _ := f.Vars("primary-a")
	want := `[{"ec2":{"filters":[{"name":"instance-state-name","values":["running"]},{"name":"tag:Env","values":["dev"]},{"name":"tag:Team","values":["apps"]}],` +
		`"label_tags":[{"label":"service","tag":"Service"}],"ports":[9100,9256],"region":"eu-west-1"},"job":"apps-node","metrics_path":"/metrics","scheme":"http"}]`
	if got := playbooktest.JSON(a1["prometheus_workload_jobs"]); got != want {
		t.Errorf("apps jobs:\n got %s\nwant %s", got, want)
	}
	want = `[{"dns":{"names":["_pg._tcp.data.example.internal"],"port":9187,"type":"SRV"},"job":"pg","metrics_path":"/metrics","scheme":"http"},` +
		`{"job":"kafka","metrics_path":"/metrics","scheme":"http","static":{"labels":{"cluster":"events"},"targets":["10.60.1.10:9308"]}}]`
	if got := playbooktest.JSON(d1["prometheus_workload_jobs"]); got != want {
		t.Errorf("data jobs:\n got %s\nwant %s", got, want)
	}
	if got := playbooktest.JSON(p["prometheus_workload_jobs"]); got != `[]` {
		t.Errorf("the primary scrapes workloads: %s", got)
	}
}

func TestUserRulesGoWhereTheyBelong(t *testing.T) {
	cfg := playbooktest.LoadConfig(t, playbooktest.Shards)
	rules, err := playbook.LoadRules(playbooktest.MonitoringDir(t, "groups: []\n# apps\n"), cfg.Shards)
	if err != nil {
		t.Fatal(err)
	}
	f := playbooktest.FleetFor(t, cfg, rules)
	names := func(host string) string {
		v, err := f.Vars(host)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range v["prometheus_user_rules"].([]playbook.RuleFile) {
			out = append(out, r.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names("primary-a"); got != "alerting-services.rules.yml" {
		t.Errorf("primary carries %s", got)
	}
	// Rule files reach Ansible as unsafe text: their {{ $labels }} are
	// Prometheus templates, which Ansible must not render.
	if js, _ := f.VarsJSON("primary-a"); !strings.Contains(js, `"content": {
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

	stray := playbooktest.MonitoringDir(t, "groups: []\n")
	playbooktest.WriteFile(t, filepath.Join(stray, "shards", "web", "x.yml"), "groups: []\n")
	if r, err := playbook.LoadRules(stray, cfg.Shards); err != nil || len(r.Ignored) != 1 || !strings.HasSuffix(r.Ignored[0], "shards/web") || len(r.Shards["web"]) != 0 {
		t.Errorf("a folder for a shard of another stack: %v, ignored %v", err, r.Ignored)
	}
	bad := playbooktest.MonitoringDir(t, "groups: []\n")
	playbooktest.WriteFile(t, filepath.Join(bad, "recording", "My Rules.yml"), "groups: []\n")
	if _, err := playbook.LoadRules(bad, cfg.Shards); err == nil || !strings.Contains(err.Error(), "rule file names use lowercase") {
		t.Errorf("a file name with a space: %v", err)
	}
	if r, err := playbook.LoadRules(filepath.Join(t.TempDir(), "none"), cfg.Shards); err != nil || len(r.For(cfg.Hosts[1])) != 0 {
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
	h1, err := playbook.TreeHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	_ = os.Chtimes(filepath.Join(dir, "site.yml"), later, later)
	write(".cache/x", "ignored")
	if h2, _ := playbook.TreeHash(dir); h2 != h1 {
		t.Error("timestamps or hidden caches changed the hash")
	}
	write("roles/prometheus/tasks/main.yml", "---\n# edited\n")
	if h3, _ := playbook.TreeHash(dir); h3 == h1 {
		t.Error("editing a role did not change the hash")
	}
	if _, err := playbook.TreeHash(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing tree hashed")
	}
}

// The heartbeat URL is a secret of the primary: it travels through SSM,
// never with the variables.
func TestHeartbeatURLIsASecretOfThePrimary(t *testing.T) {
	f := playbooktest.Fleet(t)
	f.Alerting.HeartbeatURL = "https://hc-ping.example.com/0c1d"
	secrets, err := f.Secrets("primary-a")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range secrets {
		found = found || (s.Var == "alertmanager_heartbeat_url" && s.Name == "heartbeat-url" && s.Value == f.Alerting.HeartbeatURL)
	}
	vars, err := f.VarsJSON("primary-a")
	if err != nil {
		t.Fatal(err)
	}
	if !found || strings.Contains(vars, "hc-ping") {
		t.Errorf("heartbeat secret found=%v; variables carry it: %v", found, strings.Contains(vars, "hc-ping"))
	}
}
