// Package chaos provides the Experiments component: AWS Fault Injection
// Service experiment templates for the game days of docs/dr.md (setting
// faultInjection): stop one secondary, stop one primary replica, cut one
// private subnet off the network. Each stops by itself when the endpoint
// alarm fires, and runs as a role that can touch only the stack's tagged
// instances and its own VPC's network ACLs. Templates do nothing until an
// operator starts one (aws fis start-experiment).
package chaos

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/fis"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/iamrole"
	"github.com/promfed/promfed/internal/tagging"
)

// ExperimentsArgs configures the templates.
type ExperimentsArgs struct {
	// Stack is the value of the promfed:stack tag on the stack's resources.
	Stack string
	// StopAlarmArn is the CloudWatch alarm that ends every experiment: the
	// endpoint has no healthy target.
	StopAlarmArn pulumi.StringInput
	// SubnetArn is the private subnet the network experiment cuts off;
	// VpcArn its VPC.
	SubnetArn, VpcArn pulumi.StringInput
	// Duration of each fault, ISO 8601 (PT10M).
	Duration string
	IAM      iamrole.Scope
	Tags     map[string]string
}

// Experiments is the role and the templates.
type Experiments struct {
	pulumi.ResourceState

	// TemplateIDs maps each experiment to its template id.
	TemplateIDs pulumi.StringMap
}

// Experiment names, in the order they are created.
const (
	StopSecondary = "stop-secondary"
	StopPrimary   = "stop-primary-replica"
	CutSubnet     = "cut-private-subnet"
)

// NewExperiments creates the role and the three templates.
func NewExperiments(ctx *pulumi.Context, name string, args *ExperimentsArgs, opts ...pulumi.ResourceOption) (*Experiments, error) {
	if args == nil || args.StopAlarmArn == nil || args.SubnetArn == nil || args.VpcArn == nil || args.Stack == "" {
		return nil, fmt.Errorf("experiments %s: the stack, a stop alarm, a subnet and its VPC are required", name)
	}
	duration := args.Duration
	if duration == "" {
		duration = "PT10M"
	}
	e := &Experiments{TemplateIDs: pulumi.StringMap{}}
	if err := ctx.RegisterComponentResource("promfed:chaos:Experiments", name, e, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(e)
	role, err := args.IAM.NewServiceRole(ctx, name, "fis", "fis.amazonaws.com", args.Tags, parent)
	if err != nil {
		return nil, err
	}
	policy := args.VpcArn.ToStringOutput().ApplyT(func(vpc string) string { return Policy(args.Stack, vpc) }).(pulumi.StringOutput)
	grant, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, parent)
	if err != nil {
		return nil, err
	}
	stop := fis.ExperimentTemplateStopConditionArray{fis.ExperimentTemplateStopConditionArgs{
		Source: pulumi.String("aws:cloudwatch:alarm"), Value: args.StopAlarmArn,
	}}
	instances := func(role contract.Role) fis.ExperimentTemplateTargetArray {
		return fis.ExperimentTemplateTargetArray{fis.ExperimentTemplateTargetArgs{
			Name: pulumi.String("instance"), ResourceType: pulumi.String("aws:ec2:instance"),
			// One at random among the running instances of that role.
			SelectionMode: pulumi.String("COUNT(1)"),
			ResourceTags: fis.ExperimentTemplateTargetResourceTagArray{
				fis.ExperimentTemplateTargetResourceTagArgs{Key: pulumi.String(contract.TagStack), Value: pulumi.String(args.Stack)},
				fis.ExperimentTemplateTargetResourceTagArgs{Key: pulumi.String(contract.TagRole), Value: pulumi.String(string(role))},
			},
			Filters: fis.ExperimentTemplateTargetFilterArray{fis.ExperimentTemplateTargetFilterArgs{
				Path: pulumi.String("State.Name"), Values: pulumi.StringArray{pulumi.String("running")},
			}},
		}}
	}
	stopInstance := fis.ExperimentTemplateActionArray{fis.ExperimentTemplateActionArgs{
		Name: pulumi.String("stop"), ActionId: pulumi.String("aws:ec2:stop-instances"),
		Description: pulumi.String("Stop the instance, start it again after the duration (or when the experiment stops)"),
		Parameters: fis.ExperimentTemplateActionParameterArray{fis.ExperimentTemplateActionParameterArgs{
			Key: pulumi.String("startInstancesAfterDuration"), Value: pulumi.String(duration),
		}},
		Target: fis.ExperimentTemplateActionTargetArgs{Key: pulumi.String("Instances"), Value: pulumi.String("instance")},
	}}
	templates := []struct {
		what, description string
		actions           fis.ExperimentTemplateActionArray
		targets           fis.ExperimentTemplateTargetArray
	}{
		{StopSecondary, "Stop one secondary: FederationFailing and SecondaryAggregatesStale fire, the shard's aggregates go stale, nothing else moves", stopInstance, instances(contract.RoleSecondary)},
		{StopPrimary, "Stop one primary replica: PrimaryPeerDown fires on the other, the ALB serves from it, alerts are still sent once", stopInstance, instances(contract.RolePrimary)},
		{CutSubnet, "Cut one private subnet off the network: its hosts are unreachable (federation and peer alerts), the other zone serves", fis.ExperimentTemplateActionArray{fis.ExperimentTemplateActionArgs{
			Name: pulumi.String("cut"), ActionId: pulumi.String("aws:network:disrupt-connectivity"),
			Description: pulumi.String("Deny all traffic of the subnet for the duration (a temporary network ACL)"),
			Parameters: fis.ExperimentTemplateActionParameterArray{
				fis.ExperimentTemplateActionParameterArgs{Key: pulumi.String("duration"), Value: pulumi.String(duration)},
				fis.ExperimentTemplateActionParameterArgs{Key: pulumi.String("scope"), Value: pulumi.String("all")},
			},
			Target: fis.ExperimentTemplateActionTargetArgs{Key: pulumi.String("Subnets"), Value: pulumi.String("subnet")},
		}}, fis.ExperimentTemplateTargetArray{fis.ExperimentTemplateTargetArgs{
			Name: pulumi.String("subnet"), ResourceType: pulumi.String("aws:ec2:subnet"),
			SelectionMode: pulumi.String("ALL"), ResourceArns: pulumi.StringArray{args.SubnetArn},
		}}},
	}
	for _, t := range templates {
		tpl, err := fis.NewExperimentTemplate(ctx, name+"-"+t.what, &fis.ExperimentTemplateArgs{
			Description: pulumi.String(t.description), RoleArn: role.Arn,
			Actions: t.actions, Targets: t.targets, StopConditions: stop,
			Tags: tagging.Named(args.Tags, name+"-"+t.what),
		}, parent, pulumi.DependsOn([]pulumi.Resource{grant}))
		if err != nil {
			return nil, err
		}
		e.TemplateIDs[t.what] = tpl.ID().ToStringOutput()
	}
	return e, ctx.RegisterResourceOutputs(e, pulumi.Map{"templateIds": e.TemplateIDs})
}

// Policy is what the experiments' role may do: stop and start the stack's
// instances (by tag), and, for the subnet cut, make, use and remove the
// temporary network ACL FIS tags managedByFIS, in the stack's VPC only.
func Policy(stack, vpcArn string) string {
	partition := "aws"
	if parts := strings.SplitN(vpcArn, ":", 3); len(parts) == 3 {
		partition = parts[1]
	}
	instances, acls := "arn:"+partition+":ec2:*:*:instance/*", "arn:"+partition+":ec2:*:*:network-acl/*"
	byStack := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + contract.TagStack: stack}}
	fisACL := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/managedByFIS": "true"}}
	return iampolicy.Document(
		iampolicy.Statement{"Sid": "StopAndStartTheStacksInstances", "Effect": "Allow",
			"Action": []string{"ec2:StopInstances", "ec2:StartInstances"}, "Resource": instances, "Condition": byStack},
		// Describe calls support no resource scoping.
		iampolicy.Statement{"Sid": "FindTargets", "Effect": "Allow",
			"Action":   []string{"ec2:DescribeInstances", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeNetworkAcls", "ec2:DescribeManagedPrefixLists", "ec2:GetManagedPrefixListEntries"},
			"Resource": "*"},
		iampolicy.Statement{"Sid": "CreateTheTemporaryAcl", "Effect": "Allow", "Action": "ec2:CreateNetworkAcl",
			"Resource":  acls,
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:RequestTag/managedByFIS": "true"}}},
		iampolicy.Statement{"Sid": "CreateItInTheStacksVpc", "Effect": "Allow", "Action": "ec2:CreateNetworkAcl",
			"Resource": vpcArn},
		iampolicy.Statement{"Sid": "TagTheTemporaryAcl", "Effect": "Allow", "Action": "ec2:CreateTags",
			"Resource":  acls,
			"Condition": map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "CreateNetworkAcl", "aws:RequestTag/managedByFIS": "true"}}},
		iampolicy.Statement{"Sid": "FillAndRemoveTheTemporaryAcl", "Effect": "Allow",
			"Action": []string{"ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"}, "Resource": acls, "Condition": fisACL},
		iampolicy.Statement{"Sid": "SwapAclsInTheStacksVpc", "Effect": "Allow", "Action": "ec2:ReplaceNetworkAclAssociation",
			"Resource":  acls,
			"Condition": map[string]any{"StringEquals": map[string]any{"ec2:Vpc": vpcArn}}},
	)
}
