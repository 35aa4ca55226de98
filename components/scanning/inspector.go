// Package scanning provides the Inspector component: Amazon Inspector (v2)
// vulnerability scanning of the account's EC2 instances, so the hosts'
// packages are checked against published CVEs continuously.
package scanning

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/inspector2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// InspectorArgs configures the scanning.
type InspectorArgs struct {
	// ResourceTypes to scan; the stack's hosts are EC2 instances.
	ResourceTypes []string
}

// Inspector turns Amazon Inspector on for the deploying account.
type Inspector struct {
	pulumi.ResourceState

	AccountID string
}

// NewInspector enables Inspector for the account the stack deploys into.
// Inspector is account- and region-wide: destroying the stack turns it off
// again, so an account that already scans should not set this.
func NewInspector(ctx *pulumi.Context, name string, args *InspectorArgs, opts ...pulumi.ResourceOption) (*Inspector, error) {
	if args == nil || len(args.ResourceTypes) == 0 {
		return nil, fmt.Errorf("inspector %s: at least one resource type is required", name)
	}
	i := &Inspector{}
	if err := ctx.RegisterComponentResource("promfed:scanning:Inspector", name, i, opts...); err != nil {
		return nil, err
	}
	id, err := aws.GetCallerIdentity(ctx, nil, pulumi.Parent(i))
	if err != nil {
		return nil, fmt.Errorf("inspector %s: reading the account id: %w", name, err)
	}
	if _, err := inspector2.NewEnabler(ctx, name, &inspector2.EnablerArgs{
		AccountIds:    pulumi.StringArray{pulumi.String(id.AccountId)},
		ResourceTypes: pulumi.ToStringArray(args.ResourceTypes),
	}, pulumi.Parent(i)); err != nil {
		return nil, err
	}
	i.AccountID = id.AccountId
	return i, ctx.RegisterResourceOutputs(i, pulumi.Map{"accountId": pulumi.String(id.AccountId)})
}
