// Package iamrole creates the stack's IAM roles and instance profiles where
// the stack's deploy role is allowed to create them (bootstrap/): under the
// stack's IAM path, named from namePrefix and the stack, with the
// permissions boundary attached. Every component that makes a role goes
// through a Scope, so no role escapes the layout.
package iamrole

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/tagging"
)

// Scope is where one stack's roles live and what caps them.
type Scope struct {
	NamePrefix string
	Stack      string
	// Boundary is the ARN of the permissions boundary policy.
	Boundary pulumi.StringInput
	// Region, set for the roles of a region other than the stack's, ends
	// their service roles' names: IAM names are global, and each region
	// has its own flow-log and snapshot roles. Host roles are named after
	// their hosts, which are unique already.
	Region string
}

// InRegion is the scope of another region's service roles. No length
// check is needed: namePrefix-stack is at most 32 characters (the ALB
// name), so the longest, <...>-snapshots-ap-southeast-1, makes 57 of IAM's 64.
func (s Scope) InRegion(region string) Scope { s.Region = region; return s }

// Name is the AWS name of the stack's role or instance profile for what.
func (s Scope) Name(what string) string { return contract.IAMName(s.NamePrefix, s.Stack, what) }

// NewServiceRole creates the role <namePrefix>-<stack>-<what>[-<region>] that the AWS
// service may assume. name is the Pulumi resource name.
func (s Scope) NewServiceRole(ctx *pulumi.Context, name, what, service string, tags map[string]string, opts ...pulumi.ResourceOption) (*iam.Role, error) {
	if s.Region != "" {
		what += "-" + s.Region
	}
	return iam.NewRole(ctx, name, &iam.RoleArgs{
		Name:                pulumi.String(s.Name(what)),
		Path:                pulumi.String(contract.IAMPath(s.NamePrefix, s.Stack)),
		AssumeRolePolicy:    pulumi.String(iampolicy.AssumeRole(service)),
		PermissionsBoundary: s.Boundary,
		Tags:                tagging.Named(tags, s.Name(what)),
	}, opts...)
}

// NewInstanceProfile wraps role in the profile <namePrefix>-<stack>-<what>.
func (s Scope) NewInstanceProfile(ctx *pulumi.Context, name, what string, role *iam.Role, tags map[string]string, opts ...pulumi.ResourceOption) (*iam.InstanceProfile, error) {
	return iam.NewInstanceProfile(ctx, name, &iam.InstanceProfileArgs{
		Name: pulumi.String(s.Name(what)),
		Path: pulumi.String(contract.IAMPath(s.NamePrefix, s.Stack)),
		Role: role.Name,
		Tags: tagging.Named(tags, s.Name(what)),
	}, opts...)
}
