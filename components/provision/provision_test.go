package provision

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/pki"
	"github.com/promfed/promfed/internal/testmocks"
)

func fleet(t *testing.T, hosts ...string) *Fleet {
	t.Helper()
	keys, err := pki.New("0123456789abcdef0123456789abcdef", "dev")
	if err != nil {
		t.Fatal(err)
	}
	return &Fleet{ //nolint:gosec // a test fixture password, not a credential
		Stack: "dev", InternalZone: "dev.promfed.internal", Hosts: hosts, WebUsername: "promfed", WebPassword: "a-long-web-password",
		RetentionTime: "15d", BlackboxTargets: []string{"https://prometheus.example.com/-/healthy"}, BlackboxModule: "https_auth_required", EC2SDRegion: "eu-west-1", Keys: keys,
	}
}

func TestVarsContract(t *testing.T) {
	f := fleet(t, "primary", "secondary-1", "secondary-2")
	p, err := f.Vars("primary")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p["prometheus_federate_targets"])
	if string(b) != `[{"address":"secondary-1.dev.promfed.internal:9090","name":"secondary-1"},{"address":"secondary-2.dev.promfed.internal:9090","name":"secondary-2"}]` {
		t.Errorf("primary federates %s", b)
	}
	s1, _ := f.Vars("secondary-1")
	s2, _ := f.Vars("secondary-2")
	if got := strings.Join(s1["prometheus_node_targets"].([]string), ","); got != "primary.dev.promfed.internal:9100,secondary-1.dev.promfed.internal:9100" {
		t.Errorf("secondary-1 scrapes %s", got)
	}
	if got := strings.Join(s2["prometheus_node_targets"].([]string), ","); got != "secondary-2.dev.promfed.internal:9100" {
		t.Errorf("secondary-2 scrapes %s", got)
	}
	if s1["prometheus_blackbox_module"] != "https_auth_required" {
		t.Errorf("the endpoint probe uses module %v", s1["prometheus_blackbox_module"])
	}
	if len(s2["prometheus_blackbox_targets"].([]string)) != 0 || len(s1["prometheus_blackbox_targets"].([]string)) != 1 {
		t.Error("the public endpoint must be probed by exactly one secondary")
	}
	labels := map[string]bool{}
	for _, v := range []map[string]any{p, s1, s2} {
		labels[v["prometheus_external_labels"].(map[string]string)["prometheus"]] = true
		if len(v["prometheus_web_password_salt"].(string)) != 22 {
			t.Error("bcrypt salt is not 22 characters")
		}
	}
	if len(labels) != 3 {
		t.Errorf("external labels are not distinct: %v", labels)
	}
	sd := s2["prometheus_ec2_sd"].(map[string]any)
	if b, _ := json.Marshal(sd["filters"]); !strings.Contains(string(b), `"tag:promfed:scrape-shard","values":["secondary-2"]`) {
		t.Errorf("secondary-2's EC2 discovery is not its own shard: %s", b)
	}
	if p["prometheus_ec2_sd"] != nil || p["prometheus_alertmanager_enabled"] != true || s1["prometheus_alertmanager_enabled"] != false {
		t.Error("only the primary runs alertmanager and no discovery")
	}
	if _, err := f.Vars("secondary-9"); err == nil {
		t.Error("an unknown host rendered")
	}
	a, _ := f.VarsJSON("secondary-1")
	bb, _ := fleet(t, "primary", "secondary-1", "secondary-2").VarsJSON("secondary-1")
	if a != bb {
		t.Error("variables are not deterministic")
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
		for _, h := range f.Hosts {
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

func TestProvisioningRunsOnlyWhenNeeded(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	ids := map[string]string{"primary": "i-1", "secondary-1": "i-2", "secondary-2": "i-3"}
	f := fleet(t, "primary", "secondary-1", "secondary-2")
	base, _ := triggers(t, ids, hash, f)
	if len(base) != 9 {
		t.Fatalf("want 3 steps for 3 hosts, got %v", base)
	}

	same, _ := triggers(t, ids, hash, fleet(t, "primary", "secondary-1", "secondary-2"))
	for name, tr := range base {
		if same[name] != tr {
			t.Errorf("no change, yet %s's triggers changed", name)
		}
	}

	replaced := map[string]string{"primary": "i-1", "secondary-1": "i-9", "secondary-2": "i-3"}
	after, _ := triggers(t, replaced, hash, f)
	for name, tr := range base {
		changed := after[name] != tr
		if changed != strings.HasPrefix(name, "secondary-1-") {
			t.Errorf("replacing secondary-1: %s changed=%v", name, changed)
		}
	}

	edited, _ := triggers(t, ids, strings.Repeat("cd", 32), f)
	for name, tr := range base {
		if strings.HasSuffix(name, "-ready") == (edited[name] != tr) {
			t.Errorf("editing the tree: %s changed=%v", name, edited[name] != tr)
		}
	}

	f2 := fleet(t, "primary", "secondary-1", "secondary-2")
	f2.WebPassword = "another-long-password"
	rotated, _ := triggers(t, ids, hash, f2)
	for name, tr := range base {
		if strings.HasSuffix(name, "-playbook") != (rotated[name] != tr) {
			t.Errorf("rotating the password: %s changed=%v", name, rotated[name] != tr)
		}
	}
	if strings.Contains(rotated["primary-playbook"], "another-long-password") || strings.Contains(base["primary-playbook"], "i-1") {
		t.Error("triggers carry raw values instead of hashes")
	}
}

func TestSecretsAndPinnedHostKeys(t *testing.T) {
	f := fleet(t, "primary", "secondary-1")
	_, m := triggers(t, map[string]string{"primary": "i-1", "secondary-1": "i-2"}, strings.Repeat("ab", 32), f)
	play := m.Named(t, "command:remote:Command", "primary-playbook")
	if !play.IsSecret("stdin") || !strings.Contains(play.Str("stdin"), `"promfed_host_name": "primary"`) {
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
