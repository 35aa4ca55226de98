// Package grafana provides the Workspace component: an Amazon Managed
// Grafana workspace for the stack's dashboards, signed in through IAM
// Identity Center, with a role of its own that may read the stack's AMP
// workspace (when there is one) and nothing else.
package grafana

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/grafana"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/iamrole"
	"github.com/promfed/promfed/internal/tagging"
)

// WorkspaceArgs configures the workspace.
type WorkspaceArgs struct {
	// IAM is where the workspace's role is created.
	IAM iamrole.Scope
	// AMPWorkspaceArn, when set, is the AMP workspace it may query.
	AMPWorkspaceArn pulumi.StringInput
	Tags            map[string]string
}

// Workspace is the Grafana workspace and its role.
type Workspace struct {
	pulumi.ResourceState

	Endpoint pulumi.StringOutput
	RoleArn  pulumi.StringOutput
}

// AMPQueryActions are what Grafana's Prometheus data source calls on AMP.
var AMPQueryActions = []string{"aps:GetLabels", "aps:GetMetricMetadata", "aps:GetSeries", "aps:QueryMetrics"}

// NewWorkspace creates the workspace name.
func NewWorkspace(ctx *pulumi.Context, name string, args *WorkspaceArgs, opts ...pulumi.ResourceOption) (*Workspace, error) {
	if args == nil || args.IAM.Stack == "" {
		return nil, fmt.Errorf("grafana workspace %s: arguments with an IAM scope are required", name)
	}
	w := &Workspace{}
	if err := ctx.RegisterComponentResource("promfed:grafana:Workspace", name, w, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(w)
	role, err := args.IAM.NewServiceRole(ctx, name, "grafana", "grafana.amazonaws.com", args.Tags, parent)
	if err != nil {
		return nil, err
	}
	sources := pulumi.StringArray{}
	if args.AMPWorkspaceArn != nil {
		sources = append(sources, pulumi.String("PROMETHEUS"))
		if _, err := iam.NewRolePolicy(ctx, name+"-amp-query", &iam.RolePolicyArgs{
			Role: role.Name,
			Policy: args.AMPWorkspaceArn.ToStringOutput().ApplyT(func(arn string) string {
				return iampolicy.Document(iampolicy.Statement{"Sid": "QueryTheStacksWorkspace", "Effect": "Allow", "Action": AMPQueryActions, "Resource": arn})
			}).(pulumi.StringOutput),
		}, parent); err != nil {
			return nil, err
		}
	}
	// CUSTOMER_MANAGED: the workspace gets exactly the role above, not the
	// broad policies AMG attaches to a service-managed one.
	ws, err := grafana.NewWorkspace(ctx, name, &grafana.WorkspaceArgs{
		Name:                    pulumi.String(args.IAM.Name("grafana")),
		Description:             pulumi.String("Dashboards of promfed stack " + args.IAM.Stack),
		AccountAccessType:       pulumi.String("CURRENT_ACCOUNT"),
		AuthenticationProviders: pulumi.StringArray{pulumi.String("AWS_SSO")},
		PermissionType:          pulumi.String("CUSTOMER_MANAGED"),
		RoleArn:                 role.Arn,
		DataSources:             sources,
		Tags:                    tagging.Named(args.Tags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	w.Endpoint, w.RoleArn = ws.Endpoint, role.Arn
	return w, ctx.RegisterResourceOutputs(w, pulumi.Map{"endpoint": w.Endpoint, "roleArn": w.RoleArn})
}
