package hostboot

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/iamrole"
)

// NewInstanceRole creates the EC2 role <namePrefix>-<stack>-<what> with
// Session Manager access (a shell without SSH, as a fallback), recorded in
// the session log group (its ARN; the policy document says what the agent
// may write), and its instance profile. Callers attach anything more the
// host needs to the returned role.
func NewInstanceRole(ctx *pulumi.Context, scope iamrole.Scope, name, what string, sessionLogs pulumi.StringInput, tags map[string]string, opts ...pulumi.ResourceOption) (*iam.Role, *iam.InstanceProfile, error) {
	role, err := scope.NewServiceRole(ctx, name, what, "ec2.amazonaws.com", tags, opts...)
	if err != nil {
		return nil, nil, err
	}
	if sessionLogs == nil {
		return nil, nil, fmt.Errorf("instance role %s: no session log group", name)
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-sessions", &iam.RolePolicyArgs{
		Role: role.Name, Policy: sessionLogs.ToStringOutput().ApplyT(iampolicy.SessionLogWriter).(pulumi.StringOutput),
	}, opts...); err != nil {
		return nil, nil, err
	}
	if _, err := iam.NewRolePolicyAttachment(ctx, name+"-ssm", &iam.RolePolicyAttachmentArgs{
		Role: role.Name, PolicyArn: pulumi.String("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
	}, opts...); err != nil {
		return nil, nil, err
	}
	profile, err := scope.NewInstanceProfile(ctx, name, what, role, tags, opts...)
	return role, profile, err
}
