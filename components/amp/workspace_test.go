package amp

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func TestWorkspaceEncryptedLoggedAndWritableByItsWritersOnly(t *testing.T) {
	var w *Workspace
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		var err error
		w, err = NewWorkspace(ctx, "promfed-amp", &WorkspaceArgs{
			Alias: "promfed-prod", LogRetentionDays: 90, Tags: map[string]string{"promfed:stack": "prod"},
			Writers: map[string]pulumi.StringInput{"primary-b": pulumi.String("role-b"), "primary-a": pulumi.String("role-a")},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ws := m.Named(t, "aws:amp/workspace:Workspace", "promfed-amp")
	key := m.Named(t, "aws:kms/key:Key", "promfed-amp")
	if ws.Str("kmsKeyArn") != "arn:aws:mock:eu-west-1:123456789012:key/promfed-amp" || key.Get("enableKeyRotation") != true {
		t.Errorf("workspace key %q, rotation %v", ws.Str("kmsKeyArn"), key.Get("enableKeyRotation"))
	}
	logs := m.Named(t, "aws:cloudwatch/logGroup:LogGroup", "promfed-amp")
	if logs.Str("name") != "/aws/vendedlogs/prometheus/promfed-prod" || logs.Get("retentionInDays") != float64(90) {
		t.Errorf("log group %v", logs.Inputs)
	}
	if lc, _ := ws.Get("loggingConfiguration").(map[string]any); lc["logGroupArn"] != "arn:aws:mock:eu-west-1:123456789012:loggroup/promfed-amp:*" {
		t.Errorf("logging %v", ws.Get("loggingConfiguration"))
	}
	if ws.Tags()["promfed:stack"] != "prod" || ws.Tags()["Name"] != "promfed-amp" {
		t.Errorf("tags %v", ws.Tags())
	}
	policies := m.OfType("aws:iam/rolePolicy:RolePolicy")
	if len(policies) != 2 {
		t.Fatalf("%d role policies", len(policies))
	}
	for _, host := range []string{"primary-a", "primary-b"} {
		p := m.Named(t, "aws:iam/rolePolicy:RolePolicy", "promfed-amp-write-"+host)
		doc := p.JSON(t, "policy")
		st := doc["Statement"].([]any)
		if p.Name != "promfed-amp-write-"+host || p.Str("role") != "role-"+host[len(host)-1:] || len(st) != 1 {
			t.Fatalf("policy %s on %s: %v", p.Name, p.Str("role"), doc)
		}
		s := st[0].(map[string]any)
		if acts := s["Action"].([]any); len(acts) != 1 || acts[0] != "aps:RemoteWrite" || s["Resource"] != "arn:aws:mock:eu-west-1:123456789012:workspace/promfed-amp" {
			t.Errorf("%s may %v on %v", host, s["Action"], s["Resource"])
		}
	}
	done := make(chan string)
	w.RemoteWriteURL.ApplyT(func(u string) string { done <- u; return u })
	if u := <-done; u != "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-promfed-amp/api/v1/remote_write" {
		t.Errorf("remote write URL %s", u)
	}
}

func TestWorkspaceNeedsWriters(t *testing.T) {
	_, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewWorkspace(ctx, "amp", &WorkspaceArgs{Alias: "promfed-dev"})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "at least one writer") {
		t.Errorf("got %v", err)
	}
}
