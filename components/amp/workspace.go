// Package amp provides the Workspace component: an Amazon Managed Service
// for Prometheus workspace as the federation's long-term store, encrypted
// with a key of its own, logging to CloudWatch, and writable by the named
// instance roles only.
package amp

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/amp"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/stackkey"
	"github.com/promfed/promfed/internal/tagging"
)

// WorkspaceArgs configures the workspace.
type WorkspaceArgs struct {
	// Alias names the workspace and its key (<namePrefix>-<stack>).
	Alias string
	// Writers are the instance roles that remote_write to it: host name to
	// role name.
	Writers map[string]pulumi.StringInput
	// LogRetentionDays keeps the workspace's logs (a CloudWatch value).
	LogRetentionDays int
	Tags             map[string]string
}

// Workspace is the AMP workspace and what it needs.
type Workspace struct {
	pulumi.ResourceState

	Arn pulumi.StringOutput
	// RemoteWriteURL is where Prometheus sends (SigV4, service aps).
	RemoteWriteURL pulumi.StringOutput
	// QueryURL is the Prometheus-compatible query API (SigV4).
	QueryURL pulumi.StringOutput
}

// NewWorkspace creates the workspace name.
func NewWorkspace(ctx *pulumi.Context, name string, args *WorkspaceArgs, opts ...pulumi.ResourceOption) (*Workspace, error) {
	if args == nil || args.Alias == "" || len(args.Writers) == 0 {
		return nil, fmt.Errorf("amp workspace %s: an alias and at least one writer are required", name)
	}
	w := &Workspace{}
	if err := ctx.RegisterComponentResource("promfed:amp:Workspace", name, w, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(w)
	key, err := stackkey.New(ctx, name, stackkey.Args{
		Alias: args.Alias + "-amp", Description: pulumi.String("AMP workspace " + args.Alias), Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	// AMP delivers its logs as vended logs: a group under
	// /aws/vendedlogs/ keeps the account's log resource policy short.
	logs, err := cloudwatch.NewLogGroup(ctx, name, &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/aws/vendedlogs/prometheus/" + args.Alias),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		Tags:            tagging.Named(args.Tags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	ws, err := amp.NewWorkspace(ctx, name, &amp.WorkspaceArgs{
		Alias:     pulumi.String(args.Alias),
		KmsKeyArn: key.Arn,
		LoggingConfiguration: &amp.WorkspaceLoggingConfigurationArgs{
			// AMP wants the group's ARN with its stream wildcard.
			LogGroupArn: logs.Arn.ApplyT(func(a string) string { return strings.TrimSuffix(a, ":*") + ":*" }).(pulumi.StringOutput),
		},
		Tags: tagging.Named(args.Tags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	hosts := make([]string, 0, len(args.Writers))
	for h := range args.Writers {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		if _, err := iam.NewRolePolicy(ctx, name+"-write-"+h, &iam.RolePolicyArgs{
			Role: args.Writers[h], Policy: ws.Arn.ApplyT(WritePolicy).(pulumi.StringOutput),
		}, parent); err != nil {
			return nil, err
		}
	}
	w.Arn = ws.Arn
	w.RemoteWriteURL = ws.PrometheusEndpoint.ApplyT(func(e string) string { return strings.TrimSuffix(e, "/") + "/api/v1/remote_write" }).(pulumi.StringOutput)
	w.QueryURL = ws.PrometheusEndpoint.ApplyT(func(e string) string { return strings.TrimSuffix(e, "/") + "/api/v1/query" }).(pulumi.StringOutput)
	return w, ctx.RegisterResourceOutputs(w, pulumi.Map{"arn": w.Arn, "remoteWriteUrl": w.RemoteWriteURL, "queryUrl": w.QueryURL})
}

// WritePolicy allows remote_write to one workspace, nothing else: not
// queries, not other workspaces.
func WritePolicy(workspaceArn string) string {
	return iampolicy.Document(iampolicy.Statement{
		"Sid": "RemoteWrite", "Effect": "Allow", "Action": []string{"aps:RemoteWrite"}, "Resource": workspaceArn,
	})
}
