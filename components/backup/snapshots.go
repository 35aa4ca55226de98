// Package backup provides the Snapshots component: daily EBS snapshots of
// the TSDB volumes by AWS Data Lifecycle Manager, selected by tag.
package backup

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dlm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/iamrole"
	"github.com/promfed/promfed/internal/tagging"
)

// SnapshotsArgs configures the policy.
type SnapshotsArgs struct {
	// TargetTags select the volumes; every tag must match.
	TargetTags  map[string]string
	RetainCount int
	// Time is the daily start time, UTC "HH:MM".
	Time string
	// CopyRegion, when set, is a second region each snapshot is copied to
	// (encrypted with that region's default EBS key), kept RetainCount
	// days: a restore is possible when the home region is lost.
	CopyRegion string
	// IAM is where DLM's service role is created (path, name, boundary).
	IAM  iamrole.Scope
	Tags map[string]string
}

// Snapshots is a DLM policy and its service role.
type Snapshots struct {
	pulumi.ResourceState

	PolicyArn pulumi.StringOutput
}

// NewSnapshots creates the policy.
func NewSnapshots(ctx *pulumi.Context, name string, args *SnapshotsArgs, opts ...pulumi.ResourceOption) (*Snapshots, error) {
	s := &Snapshots{}
	if err := ctx.RegisterComponentResource("promfed:backup:Snapshots", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	role, err := args.IAM.NewServiceRole(ctx, name, "snapshots", "dlm.amazonaws.com", args.Tags, parent)
	if err != nil {
		return nil, err
	}
	// AWS's managed policy for DLM snapshot management: scoped by AWS to
	// snapshot actions only.
	if _, err := iam.NewRolePolicyAttachment(ctx, name, &iam.RolePolicyAttachmentArgs{
		Role: role.Name, PolicyArn: pulumi.String("arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"),
	}, parent); err != nil {
		return nil, err
	}
	target := pulumi.StringMap{}
	for k, v := range args.TargetTags {
		target[k] = pulumi.String(v)
	}
	var copies dlm.LifecyclePolicyPolicyDetailsScheduleCrossRegionCopyRuleArray
	if args.CopyRegion != "" {
		copies = append(copies, dlm.LifecyclePolicyPolicyDetailsScheduleCrossRegionCopyRuleArgs{
			Target:    pulumi.String(args.CopyRegion),
			Encrypted: pulumi.Bool(true),
			CopyTags:  pulumi.Bool(true),
			RetainRule: dlm.LifecyclePolicyPolicyDetailsScheduleCrossRegionCopyRuleRetainRuleArgs{
				Interval: pulumi.Int(args.RetainCount), IntervalUnit: pulumi.String("DAYS"),
			},
		})
	}
	policy, err := dlm.NewLifecyclePolicy(ctx, name, &dlm.LifecyclePolicyArgs{
		Description:      pulumi.String("promfed TSDB volumes, daily"),
		ExecutionRoleArn: role.Arn,
		State:            pulumi.String("ENABLED"),
		PolicyDetails: dlm.LifecyclePolicyPolicyDetailsArgs{
			ResourceTypes: pulumi.StringArray{pulumi.String("VOLUME")},
			TargetTags:    target,
			Schedules: dlm.LifecyclePolicyPolicyDetailsScheduleArray{dlm.LifecyclePolicyPolicyDetailsScheduleArgs{
				Name:       pulumi.String("daily"),
				CopyTags:   pulumi.Bool(true),
				CreateRule: dlm.LifecyclePolicyPolicyDetailsScheduleCreateRuleArgs{Interval: pulumi.Int(24), IntervalUnit: pulumi.String("HOURS"), Times: pulumi.String(args.Time)},
				RetainRule: dlm.LifecyclePolicyPolicyDetailsScheduleRetainRuleArgs{Count: pulumi.Int(args.RetainCount)},
				TagsToAdd:  pulumi.StringMap{"promfed:snapshot": pulumi.String("dlm")},
				// Unset without a copy region: the policy is unchanged.
				CrossRegionCopyRules: copies,
			}},
		},
		Tags: tagging.Named(args.Tags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	s.PolicyArn = policy.Arn
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"policyArn": policy.Arn})
}
