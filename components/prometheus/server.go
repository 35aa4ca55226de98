// Package prometheus provides the Server component: one Prometheus host (the
// primary or a secondary) with its own encrypted TSDB volume, a least-privilege
// instance role and cloud-init that prepares it for provisioning.
package prometheus

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ebs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/hostsecrets"
	"github.com/promfed/promfed/internal/cloudinit"
	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/hostboot"
	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/iamrole"
	"github.com/promfed/promfed/internal/tagging"
)

// ServerArgs configures one Prometheus host.
type ServerArgs struct {
	Role             contract.Role
	Shard            string // the secondary's shard; tagged on its resources
	InstanceType     string
	AmiFamily        string // used when AmiID is empty
	AmiID            string
	SubnetID         pulumi.StringInput
	AvailabilityZone string
	SecurityGroupIDs pulumi.StringArrayInput
	DataVolumeGiB    int
	// RestoreSnapshot, when set, is the EBS snapshot the data volume is
	// made from: a volume with another snapshot is replaced by one made
	// from this one.
	RestoreSnapshot string
	// DiscoveryRegions are the regions the host's EC2 service discovery
	// queries; none means the host gets no EC2 read permission at all.
	DiscoveryRegions []string
	// AlertTopic, when set, is the SNS topic (and its KMS key) the host's
	// Alertmanager publishes to.
	AlertTopic *AlertTopic
	// Protect keeps the data volume from deletion and snapshots it if it is
	// ever deleted anyway (prod).
	Protect bool
	// Host and client keys, derived from the stack seed (internal/pki). The
	// private host key goes to Secrets, never into user data.
	HostKeyPrivate pulumi.StringInput // secret
	Secrets        *hostsecrets.Store
	// PlaybookSecrets are the host's other secrets (parameter name's last
	// part -> value), stored with the host key for provisioning to read.
	PlaybookSecrets map[string]pulumi.StringInput
	// SessionLogs is the ARN of the Session Manager log group.
	SessionLogs     pulumi.StringInput
	HostKeyPublic   string
	ClientPublicKey string
	// IAM is where the host's role is created (path, name, boundary).
	IAM  iamrole.Scope
	Tags map[string]string
}

// AlertTopic is an encrypted SNS topic a host may publish to.
type AlertTopic struct {
	TopicArn pulumi.StringInput
	KeyArn   pulumi.StringInput
}

// Server is one Prometheus host.
type Server struct {
	pulumi.ResourceState

	InstanceID pulumi.IDOutput
	PrivateIP  pulumi.StringOutput
	VolumeID   pulumi.IDOutput
	RoleArn    pulumi.StringOutput
	// RoleName is the instance role's name, for policies added elsewhere
	// (the AMP workspace's write permission).
	RoleName pulumi.StringOutput
	// SecretResources are the host's SSM parameters and their grant:
	// provisioning reads them, so it must come after.
	SecretResources []pulumi.Resource
}

// NewServer creates the host. name is the host name ("primary",
// "secondary-apps-1"), which also names its resources.
func NewServer(ctx *pulumi.Context, name string, args *ServerArgs, opts ...pulumi.ResourceOption) (*Server, error) {
	if args == nil || args.Secrets == nil {
		return nil, fmt.Errorf("prometheus server %s: arguments with a host-secrets store are required", name)
	}
	if args.Role != contract.RolePrimary && args.Role != contract.RoleSecondary {
		return nil, fmt.Errorf("prometheus server %s: role %q must be %s or %s", name, args.Role, contract.RolePrimary, contract.RoleSecondary)
	}
	s := &Server{}
	if err := ctx.RegisterComponentResource("promfed:prometheus:Server", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	tags := map[string]string{contract.TagRole: string(args.Role), contract.TagHost: name}
	if args.Shard != "" {
		tags[contract.TagShard] = args.Shard
	}
	for k, v := range args.Tags {
		tags[k] = v
	}

	profile, role, err := newInstanceRole(ctx, name, args, tags, parent)
	if err != nil {
		return nil, err
	}
	values := map[string]pulumi.StringInput{contract.SecretSSHHostKey: args.HostKeyPrivate}
	for k, v := range args.PlaybookSecrets {
		if k == contract.SecretSSHHostKey {
			return nil, fmt.Errorf("prometheus server %s: playbook secret %q is reserved for the host key", name, k)
		}
		values[k] = v
	}
	secrets, err := args.Secrets.Put(ctx, name, role, values, parent)
	if err != nil {
		return nil, err
	}
	s.SecretResources = secrets

	volTags := map[string]string{contract.TagBackup: "true"}
	for k, v := range tags {
		volTags[k] = v
	}
	volOpts := []pulumi.ResourceOption{parent, pulumi.Protect(args.Protect)}
	var snapshot pulumi.StringPtrInput
	if args.RestoreSnapshot != "" {
		snapshot = pulumi.String(args.RestoreSnapshot)
	} else {
		// Without a restore the snapshot is left as it is: removing a
		// restore entry must never replace the restored volume with a
		// blank one.
		volOpts = append(volOpts, pulumi.IgnoreChanges([]string{"snapshotId"}))
	}
	vol, err := ebs.NewVolume(ctx, name+"-data", &ebs.VolumeArgs{
		AvailabilityZone: pulumi.String(args.AvailabilityZone),
		Size:             pulumi.Int(args.DataVolumeGiB),
		Type:             pulumi.String("gp3"),
		Encrypted:        pulumi.Bool(true),
		SnapshotId:       snapshot,
		FinalSnapshot:    pulumi.Bool(args.Protect),
		Tags:             tagging.Named(volTags, name+"-data"),
	}, volOpts...)
	if err != nil {
		return nil, err
	}

	amiID, imageOpts, err := hostboot.Image(ctx, args.AmiFamily, args.AmiID, args.InstanceType, s)
	if err != nil {
		return nil, err
	}
	userData := vol.ID().ApplyT(func(id pulumi.ID) string {
		return cloudinit.RenderUserData(cloudinit.UserDataArgs{
			HostKeyParameter: args.Secrets.Parameter(name, contract.SecretSSHHostKey), Region: args.Secrets.Region(),
			HostKeyPublic: args.HostKeyPublic, ClientPublicKey: args.ClientPublicKey,
			VolumeID: string(id), Packages: []string{"ansible", "python3-passlib"},
		})
	}).(pulumi.StringOutput)

	inst, err := ec2.NewInstance(ctx, name, &ec2.InstanceArgs{
		Ami:                      pulumi.String(amiID),
		InstanceType:             pulumi.String(args.InstanceType),
		SubnetId:                 args.SubnetID,
		VpcSecurityGroupIds:      args.SecurityGroupIDs,
		IamInstanceProfile:       profile.Name,
		AssociatePublicIpAddress: pulumi.Bool(false), // reached through the bastion and the ALB only
		UserData:                 userData,           // no secret: the host key comes from SSM
		// Mounts are set up on first boot only: new user data needs a new
		// instance to take effect.
		UserDataReplaceOnChange: pulumi.Bool(true),
		Monitoring:              pulumi.Bool(true),
		EbsOptimized:            pulumi.Bool(true),
		MetadataOptions: ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"), // IMDSv2 only (EC2.8)
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		RootBlockDevice: ec2.InstanceRootBlockDeviceArgs{
			VolumeType: pulumi.String("gp3"), VolumeSize: pulumi.Int(16), Encrypted: pulumi.Bool(true), DeleteOnTermination: pulumi.Bool(true),
		},
		Tags:       tagging.Named(tags, name),
		VolumeTags: tagging.Named(tags, name+"-root"),
	}, append(imageOpts, parent, pulumi.DependsOn(secrets))...)
	if err != nil {
		return nil, err
	}
	// Replacing the instance detaches the volume first (delete before
	// replace) and stops the old instance before detaching, so the TSDB is
	// closed cleanly and follows the new instance.
	if _, err := ec2.NewVolumeAttachment(ctx, name+"-data", &ec2.VolumeAttachmentArgs{
		DeviceName:                  pulumi.String(cloudinit.DataAttachDevice),
		VolumeId:                    vol.ID(),
		InstanceId:                  inst.ID(),
		StopInstanceBeforeDetaching: pulumi.Bool(true),
	}, parent, pulumi.DeleteBeforeReplace(true)); err != nil {
		return nil, err
	}

	s.InstanceID, s.PrivateIP, s.VolumeID, s.RoleArn, s.RoleName = inst.ID(), inst.PrivateIp, vol.ID(), role.Arn, role.Name
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{
		"instanceId": s.InstanceID, "privateIp": s.PrivateIP, "volumeId": s.VolumeID,
	})
}

func newInstanceRole(ctx *pulumi.Context, name string, args *ServerArgs, tags map[string]string, parent pulumi.ResourceOption) (*iam.InstanceProfile, *iam.Role, error) {
	role, profile, err := hostboot.NewInstanceRole(ctx, args.IAM, name, name, args.SessionLogs, tags, parent)
	if err != nil {
		return nil, nil, err
	}
	if len(args.DiscoveryRegions) > 0 {
		// These Describe actions support no resource scoping, so the region
		// condition is the available narrowing.
		if _, err := iam.NewRolePolicy(ctx, name+"-ec2-sd", &iam.RolePolicyArgs{
			Role: role.Name, Policy: pulumi.String(ServiceDiscoveryPolicy(args.DiscoveryRegions)),
		}, parent); err != nil {
			return nil, nil, err
		}
	}
	if t := args.AlertTopic; t != nil {
		policy := pulumi.All(t.TopicArn, t.KeyArn).ApplyT(func(v []any) string {
			return PublishPolicy(v[0].(string), v[1].(string))
		}).(pulumi.StringOutput)
		if _, err := iam.NewRolePolicy(ctx, name+"-alerts", &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, parent); err != nil {
			return nil, nil, err
		}
	}
	return profile, role, nil
}

// ServiceDiscoveryPolicy allows what Prometheus' ec2_sd_configs calls, in
// the given regions only.
func ServiceDiscoveryPolicy(regions []string) string {
	return iampolicy.Document(iampolicy.Statement{
		"Sid":       "PrometheusEc2ServiceDiscovery",
		"Effect":    "Allow",
		"Action":    []string{"ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"},
		"Resource":  "*",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:RequestedRegion": regions}},
	})
}

// PublishPolicy lets Alertmanager publish to one encrypted topic: SNS
// needs the publisher to be able to use the topic's key.
func PublishPolicy(topicArn, keyArn string) string {
	return iampolicy.Document(
		iampolicy.Statement{"Sid": "PublishAlerts", "Effect": "Allow", "Action": []string{"sns:Publish"}, "Resource": topicArn},
		iampolicy.Statement{"Sid": "UseAlertTopicKey", "Effect": "Allow", "Action": []string{"kms:GenerateDataKey", "kms:Decrypt"}, "Resource": keyArn},
	)
}
