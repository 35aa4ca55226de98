package provision

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/playbook"
	"github.com/promfed/promfed/internal/playbook/playbooktest"
	"github.com/promfed/promfed/internal/testmocks"
)

// triggers runs NewHost for every host and returns each resource's triggers,
// keyed by resource name.
func triggers(t *testing.T, instanceIDs map[string]string, treeHash string, f *playbook.Fleet) (map[string]string, *testmocks.Mocks) {
	t.Helper()
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		for _, host := range f.Hosts {
			h := host.Name
			vars, err := f.VarsJSON(h)
			if err != nil {
				return err
			}
			params, digest, err := f.SecretInputs(h, func(s string) string { return "/promfed/dev/" + h + "/" + s })
			if err != nil {
				return err
			}
			if _, err := NewHost(ctx, h, &HostArgs{
				InstanceID: pulumi.String(instanceIDs[h]), Address: pulumi.String("10.40.2.10"),
				HostKey:   f.Keys.HostKey(h).PublicKey,
				Bastion:   Bastion{Address: pulumi.String("198.51.100.7"), HostKey: f.Keys.HostKey("bastion").PublicKey},
				ClientKey: pulumi.String(f.Keys.ClientKey().PrivateKey), VarsJSON: pulumi.String(vars),
				Region: "eu-west-1", Secrets: params, SecretsDigest: pulumi.String(digest),
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

var testIDs = map[string]string{"primary-a": "i-1", "primary-b": "i-5", "secondary-apps-1": "i-2", "secondary-apps-2": "i-3", "secondary-data-1": "i-4"}

func TestProvisioningRunsOnlyWhenNeeded(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	f := playbooktest.Fleet(t)
	base, _ := triggers(t, testIDs, hash, f)
	if len(base) != 15 {
		t.Fatalf("want 3 steps for 5 hosts, got %v", base)
	}

	same, _ := triggers(t, testIDs, hash, playbooktest.Fleet(t))
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

	f2 := playbooktest.Fleet(t)
	f2.WebPassword = "another-long-password"
	rotated, _ := triggers(t, testIDs, hash, f2)
	for name, tr := range base {
		if strings.HasSuffix(name, "-playbook") != (rotated[name] != tr) {
			t.Errorf("rotating the password: %s changed=%v", name, rotated[name] != tr)
		}
	}
	if strings.Contains(rotated["primary-a-playbook"], "another-long-password") || strings.Contains(base["primary-a-playbook"], "i-1") {
		t.Error("triggers carry raw values instead of hashes")
	}
}

// Editing one shard's targets or rules re-runs only that shard's playbooks.
func TestShardEditsStayInTheShard(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	cfg := playbooktest.LoadConfig(t, playbooktest.Shards)
	rules, err := playbook.LoadRules(playbooktest.MonitoringDir(t, "groups: []\n# apps v1\n"), cfg.Shards)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := triggers(t, testIDs, hash, playbooktest.FleetFor(t, cfg, rules))

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

	moreTargets := strings.Replace(playbooktest.Shards, `"10.60.1.10:9308"`, `"10.60.1.10:9308", "10.60.2.10:9308"`, 1)
	cfg2 := playbooktest.LoadConfig(t, moreTargets)
	after, _ := triggers(t, testIDs, hash, playbooktest.FleetFor(t, cfg2, rules))
	onlyChanged("a static target added to data", after, "secondary-data-")

	rules2, err := playbook.LoadRules(playbooktest.MonitoringDir(t, "groups: []\n# apps v2\n"), cfg.Shards)
	if err != nil {
		t.Fatal(err)
	}
	after, _ = triggers(t, testIDs, hash, playbooktest.FleetFor(t, cfg, rules2))
	onlyChanged("a rule of shard apps edited", after, "secondary-apps-")
}

func TestSecretsAndPinnedHostKeys(t *testing.T) {
	f := playbooktest.Fleet(t)
	_, m := triggers(t, testIDs, strings.Repeat("ab", 32), f)
	play := m.Named(t, "command:remote:Command", "primary-a-playbook")
	// The variables travel without secrets; the host reads those from SSM.
	stdin := play.Str("stdin")
	if !strings.Contains(stdin, `"promfed_host_name": "primary-a"`) || strings.Contains(stdin, "a-long-web-password") ||
		strings.Contains(stdin, "PRIVATE KEY") || strings.Contains(stdin, "prometheus_web_password\"") {
		t.Errorf("variables on stdin carry secrets:\n%s", stdin)
	}
	create := play.Str("create")
	for _, want := range []string{`cat > "$work/vars.json"`,
		`sudo sh "$work/ssm-get" '/promfed/dev/primary-a/web-password' > "$work/secrets/prometheus_web_password"`,
		`sudo sh "$work/ssm-get" '/promfed/dev/primary-a/tls-key' > "$work/secrets/promfed_tls_key_pem"`,
		`-e "@$work/vars.json" -e "@$work/secrets.json"`} {
		if !strings.Contains(create, want) {
			t.Errorf("playbook command lacks %s:\n%s", want, create)
		}
	}
	if strings.Contains(create, "a-long-web-password") || !play.IsSecret("triggers") {
		t.Errorf("the command holds a secret, or the secrets' digest is not secret")
	}
	if play.Str("logging") != "stdoutAndStderr" || play.Dependencies == nil {
		t.Errorf("logging=%s deps=%v", play.Str("logging"), play.Dependencies)
	}
	conn := play.Get("connection").(map[string]any)
	if conn["hostKey"] != f.Keys.HostKey("primary-a").PublicKey || conn["dialErrorLimit"] != float64(BootedDialLimit) {
		t.Errorf("connection host key %v dialErrorLimit %v", conn["hostKey"], conn["dialErrorLimit"])
	}
	if !play.Inputs["connection"].ContainsSecrets() {
		t.Error("connection private key is not secret")
	}
	proxy := conn["proxy"].(map[string]any)
	if proxy["host"] != "198.51.100.7" || proxy["hostKey"] != f.Keys.HostKey("bastion").PublicKey {
		t.Errorf("proxy %v", proxy["host"])
	}
	// Every step is bounded: the ready gate dials until its timeout (a
	// booting host), the later steps a bounded number of times, and each
	// has a create timeout.
	ready := m.Named(t, "command:remote:Command", "primary-a-ready")
	if ready.CreateTimeout != "20m" || ready.Get("connection").(map[string]any)["dialErrorLimit"] != float64(-1) {
		t.Errorf("ready gate timeout %q, connection %v", ready.CreateTimeout, ready.Get("connection"))
	}
	cp := m.Named(t, "command:remote:CopyToRemote", "primary-a-ansible")
	if cp.CreateTimeout != "10m" || play.CreateTimeout != "30m" || cp.Get("connection").(map[string]any)["dialErrorLimit"] != float64(BootedDialLimit) {
		t.Errorf("copy timeout %q dials %v, playbook timeout %q", cp.CreateTimeout, cp.Get("connection").(map[string]any)["dialErrorLimit"], play.CreateTimeout)
	}
	if cp.Str("remotePath") != "/home/promfed/promfed-ansible-abababababababab" {
		t.Errorf("remote path %s", cp.Str("remotePath"))
	}
}
