package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/promfed/promfed/internal/testmocks"
)

// remoteWriteOf is the prometheus_remote_write variable a host's playbook
// receives.
func remoteWriteOf(t *testing.T, m *testmocks.Mocks, host string) []map[string]any {
	t.Helper()
	var vars struct {
		RemoteWrite []map[string]any `json:"prometheus_remote_write"`
	}
	if err := json.Unmarshal([]byte(m.Named(t, "command:remote:Command", host+"-playbook").Str("stdin")), &vars); err != nil {
		t.Fatal(err)
	}
	return vars.RemoteWrite
}

// ampRemoteWrite aggregates: one workspace, encrypted and logged; the
// primaries may write to it and do, the secondaries neither.
func TestAMPAggregatesFromThePrimaries(t *testing.T) {
	m, err := runStack(t, "prod", func(c map[string]string) { c["promfed:ampRemoteWrite"] = "aggregates" })
	if err != nil {
		t.Fatal(err)
	}
	ws := m.Named(t, "aws:amp/workspace:Workspace", "promfed-amp")
	if ws.Str("alias") != "promfed-prod" || ws.Str("kmsKeyArn") == "" || ws.Tags()["promfed:stack"] != "prod" {
		t.Errorf("workspace %v", ws.Inputs)
	}
	writers := map[string]bool{}
	for _, p := range m.OfType("aws:iam/rolePolicy:RolePolicy") {
		if host, ok := strings.CutPrefix(p.Name, "promfed-amp-write-"); ok {
			writers[host] = true
			if !strings.Contains(p.Str("policy"), `"Action":["aps:RemoteWrite"],"Effect":"Allow","Resource":"arn:aws:mock:eu-west-1:123456789012:workspace/promfed-amp"`) {
				t.Errorf("%s: %s", p.Name, p.Str("policy"))
			}
		}
	}
	if len(writers) != 2 || !writers["primary-a"] || !writers["primary-b"] {
		t.Errorf("writers %v", writers)
	}
	rw := remoteWriteOf(t, m, "primary-b")
	if len(rw) != 1 || rw[0]["url"] != "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-promfed-amp/api/v1/remote_write" ||
		rw[0]["sigv4"].(map[string]any)["region"] != "eu-west-1" {
		t.Fatalf("primary-b remote_write %v", rw)
	}
	relabel, _ := json.Marshal(rw[0]["write_relabel_configs"])
	for _, want := range []string{
		`{"action":"keep","regex":"federate:.+","source_labels":["__name__"]}`,
		`{"action":"replace","regex":"primary-a|primary-b","replacement":"","source_labels":["prometheus"],"target_label":"prometheus"}`,
		`{"action":"labeldrop","regex":"replica"}`,
		`{"action":"replace","replacement":"prod-primaries","target_label":"cluster"}`,
		`{"action":"replace","replacement":"primary-b","target_label":"__replica__"}`,
	} {
		if !strings.Contains(string(relabel), want) {
			t.Errorf("primary-b's relabeling lacks %s:\n%s", want, relabel)
		}
	}
	if rw := remoteWriteOf(t, m, "secondary-apps-1"); len(rw) != 0 {
		t.Errorf("a secondary writes: %v", rw)
	}
}

// ampRemoteWrite raw: the secondaries write their series (up always among
// them), one AMP cluster per shard, the primaries not at all.
func TestAMPRawFromTheSecondaries(t *testing.T) {
	m, err := runStack(t, "prod", func(c map[string]string) {
		c["promfed:ampRemoteWrite"], c["promfed:ampWriteMatch"] = "raw", "node_.+"
	})
	if err != nil {
		t.Fatal(err)
	}
	if rw := remoteWriteOf(t, m, "primary-a"); len(rw) != 0 {
		t.Errorf("a primary writes: %v", rw)
	}
	rw := remoteWriteOf(t, m, "secondary-apps-2")
	relabel, _ := json.Marshal(rw[0]["write_relabel_configs"])
	for _, want := range []string{
		`{"action":"keep","regex":"up|(?:node_.+)","source_labels":["__name__"]}`,
		`{"action":"labeldrop","regex":"prometheus"}`,
		`{"action":"replace","replacement":"prod-apps","target_label":"cluster"}`,
		`{"action":"replace","replacement":"secondary-apps-2","target_label":"__replica__"}`,
	} {
		if !strings.Contains(string(relabel), want) {
			t.Errorf("secondary-apps-2's relabeling lacks %s:\n%s", want, relabel)
		}
	}
	n := 0
	for _, p := range m.OfType("aws:iam/rolePolicy:RolePolicy") {
		if strings.HasPrefix(p.Name, "promfed-amp-write-secondary-") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d secondaries may write, want 3", n)
	}
}

// Without the setting there is no workspace and nobody writes.
func TestNoAMPByDefault(t *testing.T) {
	m := mustRun(t, "dev")
	if len(m.OfType("aws:amp/workspace:Workspace")) != 0 || len(remoteWriteOf(t, m, "primary-a")) != 0 {
		t.Error("a workspace or remote_write without ampRemoteWrite")
	}
}

// A selection that keeps none of the stack's recorded series is refused
// before anything is registered.
func TestAMPSelectionThatSendsNothingIsRefused(t *testing.T) {
	m, err := runStack(t, "dev", func(c map[string]string) {
		c["promfed:ampRemoteWrite"], c["promfed:ampWriteMatch"] = "aggregates", "node_cpu_seconds_total"
	})
	if err == nil || !strings.Contains(err.Error(), `ampWriteMatch "node_cpu_seconds_total" matches none of the stack's recorded series (federate:heartbeat:time,`) || len(m.Resources) != 0 {
		t.Errorf("got %v (%d resources)", err, len(m.Resources))
	}
}

// grafanaWorkspace: the Grafana workspace's role may query the stack's AMP
// workspace, and only that.
func TestGrafanaWorkspaceReadsTheStacksAMP(t *testing.T) {
	m, err := runStack(t, "dev", func(c map[string]string) {
		c["promfed:ampRemoteWrite"], c["promfed:grafanaWorkspace"] = "aggregates", "true"
	})
	if err != nil {
		t.Fatal(err)
	}
	ws := m.Named(t, "aws:grafana/workspace:Workspace", "promfed-grafana")
	if ws.Str("name") != "promfed-dev-grafana" || ws.Str("permissionType") != "CUSTOMER_MANAGED" {
		t.Errorf("workspace %v", ws.Inputs)
	}
	if p := m.Named(t, "aws:iam/rolePolicy:RolePolicy", "promfed-grafana-amp-query").Str("policy"); !strings.Contains(p, `"Resource":"arn:aws:mock:eu-west-1:123456789012:workspace/promfed-amp"`) {
		t.Errorf("query policy %s", p)
	}
	if n := len(mustRun(t, "dev").OfType("aws:grafana/workspace:Workspace")); n != 0 {
		t.Errorf("%d Grafana workspaces without the setting", n)
	}
}
