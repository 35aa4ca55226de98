package grafana

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/iamrole"
	"github.com/promfed/promfed/internal/testmocks"
)

func run(t *testing.T, ampArn pulumi.StringInput) *testmocks.Mocks {
	t.Helper()
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewWorkspace(ctx, "promfed-grafana", &WorkspaceArgs{
			IAM:             iamrole.Scope{NamePrefix: "promfed", Stack: "prod", Boundary: pulumi.String("arn:aws:iam::123456789012:policy/promfed-stack-boundary")},
			AMPWorkspaceArn: ampArn, Tags: map[string]string{"promfed:stack": "prod"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWorkspaceQueriesTheStacksAMPOnly(t *testing.T) {
	m := run(t, pulumi.String("arn:aws:aps:eu-west-1:123456789012:workspace/ws-1"))
	ws := m.Named(t, "aws:grafana/workspace:Workspace", "promfed-grafana")
	if ws.Str("permissionType") != "CUSTOMER_MANAGED" || ws.Str("accountAccessType") != "CURRENT_ACCOUNT" ||
		ws.Str("roleArn") != "arn:aws:mock:eu-west-1:123456789012:role/promfed-grafana" || ws.Tags()["promfed:stack"] != "prod" {
		t.Errorf("workspace %v", ws.Inputs)
	}
	if got := ws.Get("dataSources"); len(got.([]any)) != 1 || got.([]any)[0] != "PROMETHEUS" {
		t.Errorf("data sources %v", got)
	}
	role := m.Named(t, "aws:iam/role:Role", "promfed-grafana")
	if !strings.Contains(role.Str("assumeRolePolicy"), `"Service":"grafana.amazonaws.com"`) || role.Str("permissionsBoundary") == "" {
		t.Errorf("role trust %s, boundary %q", role.Str("assumeRolePolicy"), role.Str("permissionsBoundary"))
	}
	p := m.Named(t, "aws:iam/rolePolicy:RolePolicy", "promfed-grafana-amp-query").Str("policy")
	if p != `{"Statement":[{"Action":["aps:GetLabels","aps:GetMetricMetadata","aps:GetSeries","aps:QueryMetrics"],"Effect":"Allow","Resource":"arn:aws:aps:eu-west-1:123456789012:workspace/ws-1","Sid":"QueryTheStacksWorkspace"}],"Version":"2012-10-17"}` {
		t.Errorf("query policy %s", p)
	}
}

func TestWorkspaceWithoutAMPHasNoPolicy(t *testing.T) {
	m := run(t, nil)
	if n := len(m.OfType("aws:iam/rolePolicy:RolePolicy")); n != 0 {
		t.Errorf("%d policies without an AMP workspace", n)
	}
}
