// Package bastion provides the Bastion component: a small SSH jump host with
// an Elastic IP. The address never changes across stops, starts or
// replacements, unlike the instance public IPs the old setup chased.
package bastion

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/hostsecrets"
	"github.com/promfed/promfed/internal/cloudinit"
	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/hostboot"
	"github.com/promfed/promfed/internal/iamrole"
	"github.com/promfed/promfed/internal/tagging"
)

// Args configures the jump host.
type Args struct {
	InstanceType    string
	AmiFamily       string
	AmiID           string
	SubnetID        pulumi.StringInput // a public subnet
	SecurityGroupID pulumi.StringInput
	HostKeyPrivate  pulumi.StringInput // secret; stored in Secrets, not user data
	Secrets         *hostsecrets.Store
	// SessionLogs is the ARN of the Session Manager log group.
	SessionLogs     pulumi.StringInput
	HostKeyPublic   string
	ClientPublicKey string
	// IAM is where the host's role is created (path, name, boundary).
	IAM  iamrole.Scope
	Tags map[string]string
}

// Bastion is the jump host.
type Bastion struct {
	pulumi.ResourceState

	PublicIP   pulumi.StringOutput
	InstanceID pulumi.IDOutput
}

// NewBastion creates the host and its Elastic IP.
func NewBastion(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Bastion, error) {
	if args == nil || args.Secrets == nil {
		return nil, fmt.Errorf("bastion %s: arguments with a host-secrets store are required", name)
	}
	b := &Bastion{}
	if err := ctx.RegisterComponentResource("promfed:bastion:Bastion", name, b, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(b)
	role, profile, err := hostboot.NewInstanceRole(ctx, args.IAM, name, name, args.SessionLogs, args.Tags, parent)
	if err != nil {
		return nil, err
	}
	secrets, err := args.Secrets.Put(ctx, name, role, map[string]pulumi.StringInput{contract.SecretSSHHostKey: args.HostKeyPrivate}, parent)
	if err != nil {
		return nil, err
	}
	amiID, imageOpts, err := hostboot.Image(ctx, args.AmiFamily, args.AmiID, args.InstanceType, b)
	if err != nil {
		return nil, err
	}
	// The bastion is never provisioned by Ansible: it patches itself
	// (security updates only) from its first boot.
	userData := cloudinit.RenderUserData(cloudinit.UserDataArgs{
		HostKeyParameter: args.Secrets.Parameter(name, contract.SecretSSHHostKey), Region: args.Secrets.Region(),
		HostKeyPublic: args.HostKeyPublic, ClientPublicKey: args.ClientPublicKey, AutoUpgrades: true,
	})
	inst, err := ec2.NewInstance(ctx, name, &ec2.InstanceArgs{
		Ami: pulumi.String(amiID), InstanceType: pulumi.String(args.InstanceType),
		SubnetId: args.SubnetID, VpcSecurityGroupIds: pulumi.StringArray{args.SecurityGroupID},
		IamInstanceProfile: profile.Name,
		// The Elastic IP below is its only public address.
		AssociatePublicIpAddress: pulumi.Bool(false),
		UserData:                 pulumi.String(userData), // no secret: the host key comes from SSM
		// Packages are installed on first boot only: new user data needs a
		// new instance to take effect.
		UserDataReplaceOnChange: pulumi.Bool(true),
		MetadataOptions: ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint: pulumi.String("enabled"), HttpTokens: pulumi.String("required"), HttpPutResponseHopLimit: pulumi.Int(1),
		},
		RootBlockDevice: ec2.InstanceRootBlockDeviceArgs{VolumeType: pulumi.String("gp3"), VolumeSize: pulumi.Int(8), Encrypted: pulumi.Bool(true)},
		Tags:            tagging.Named(args.Tags, name),
		VolumeTags:      tagging.Named(args.Tags, name+"-root"),
	}, append(imageOpts, parent, pulumi.DependsOn(secrets))...)
	if err != nil {
		return nil, err
	}
	eip, err := ec2.NewEip(ctx, name, &ec2.EipArgs{Domain: pulumi.String("vpc"), Tags: tagging.Named(args.Tags, name)}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := ec2.NewEipAssociation(ctx, name, &ec2.EipAssociationArgs{AllocationId: eip.ID(), InstanceId: inst.ID()}, parent); err != nil {
		return nil, err
	}
	b.PublicIP, b.InstanceID = eip.PublicIp, inst.ID()
	return b, ctx.RegisterResourceOutputs(b, pulumi.Map{"publicIp": eip.PublicIp, "instanceId": inst.ID()})
}
