// Package hostboot holds what every EC2 host of the stack shares in AWS:
// the AMI lookup and the instance role (Session Manager, named and bounded
// like every stack role). What a host runs at first boot is in
// internal/cloudinit.
package hostboot

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/config"
)

// Image returns the AMI an instance boots: amiID when pinned, else the
// newest official image of family. With a looked-up image it also returns
// ignoreChanges on "ami": a newer image must not replace a running host (and
// re-provision it); pin amiId to move hosts to a new image deliberately.
func Image(ctx *pulumi.Context, family, amiID, instanceType string, parent pulumi.Resource) (string, []pulumi.ResourceOption, error) {
	if amiID != "" {
		return amiID, nil, nil
	}
	id, err := LookupAmi(ctx, family, instanceType, pulumi.Parent(parent))
	if err != nil {
		return "", nil, err
	}
	return id, []pulumi.ResourceOption{pulumi.IgnoreChanges([]string{"ami"})}, nil
}

// LookupAmi finds the newest official image of a family for an instance type.
func LookupAmi(ctx *pulumi.Context, family, instanceType string, opts ...pulumi.InvokeOption) (string, error) {
	f, ok := config.AMIFamilies[family]
	if !ok {
		return "", fmt.Errorf("amiFamily %q is not supported", family)
	}
	arch := config.Architecture(instanceType)
	debArch := map[string]string{"x86_64": "amd64", "arm64": "arm64"}[arch]
	ami, err := ec2.LookupAmi(ctx, &ec2.LookupAmiArgs{
		MostRecent: pulumi.BoolRef(true),
		Owners:     []string{f.Owner},
		Filters: []ec2.GetAmiFilter{
			{Name: "name", Values: []string{fmt.Sprintf(f.NamePattern, debArch)}},
			{Name: "architecture", Values: []string{arch}},
			{Name: "virtualization-type", Values: []string{"hvm"}},
		},
	}, opts...)
	if err != nil {
		return "", fmt.Errorf("looking up the %s AMI for %s: %w", family, arch, err)
	}
	return ami.Id, nil
}
