package hostboot

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/tagging"
)

// NewInstanceRole creates an EC2 role with Session Manager access (a shell
// without SSH, as a fallback) and its instance profile. Callers attach
// anything more the host needs to the returned role.
func NewInstanceRole(ctx *pulumi.Context, name string, tags map[string]string, opts ...pulumi.ResourceOption) (*iam.Role, *iam.InstanceProfile, error) {
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(iampolicy.AssumeRole("ec2.amazonaws.com")),
		Tags:             tagging.Named(tags, name),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	if _, err := iam.NewRolePolicyAttachment(ctx, name+"-ssm", &iam.RolePolicyAttachmentArgs{
		Role: role.Name, PolicyArn: pulumi.String("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
	}, opts...); err != nil {
		return nil, nil, err
	}
	profile, err := iam.NewInstanceProfile(ctx, name, &iam.InstanceProfileArgs{Role: role.Name, Tags: tagging.Named(tags, name)}, opts...)
	return role, profile, err
}
