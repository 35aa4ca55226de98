package bastion

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/hostsecrets"
	"github.com/promfed/promfed/internal/testmocks"
)

func TestStableAddressAndPinnedKey(t *testing.T) {
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		store, err := hostsecrets.NewStore(ctx, "promfed-dev-host-secrets", &hostsecrets.StoreArgs{NamePrefix: "promfed", Stack: "dev", Region: "eu-west-1"})
		if err != nil {
			return err
		}
		_, err = NewBastion(ctx, "bastion", &Args{
			InstanceType: "t3.micro", AmiFamily: "debian-12", SubnetID: pulumi.String("subnet-public"), SecurityGroupID: pulumi.String("sg-bastion"),
			HostKeyPrivate: pulumi.String("bastion-key-material"), HostKeyPublic: "ssh-ed25519 AAAAH bastion", ClientPublicKey: "ssh-ed25519 AAAAC client", Secrets: store, SessionLogs: pulumi.String("arn:aws:logs:eu-west-1:123456789012:log-group:/promfed/dev/ssm-sessions"),
			Tags: map[string]string{"promfed:stack": "dev"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	inst := m.Named(t, "aws:ec2/instance:Instance", "bastion")
	if inst.Get("associatePublicIpAddress") != false || inst.Get("metadataOptions").(map[string]any)["httpTokens"] != "required" {
		t.Errorf("instance %v", inst.Inputs)
	}
	ud := inst.Str("userData")
	if strings.Contains(ud, "bastion-key-material") || !strings.Contains(ud, "param='/promfed/dev/bastion/ssh-host-key'") ||
		!strings.Contains(ud, "pub='ssh-ed25519 AAAAH bastion'") || inst.Get("userDataReplaceOnChange") != true {
		t.Errorf("user data:\n%s", ud)
	}
	// Not managed by Ansible: it patches itself (security updates).
	if !strings.Contains(ud, "  - unattended-upgrades\n") || !strings.Contains(ud, `APT::Periodic::Unattended-Upgrade "1";`) {
		t.Errorf("the bastion does not install security updates:\n%s", ud)
	}
	if p := m.Named(t, "aws:ssm/parameter:Parameter", "bastion-secret-ssh-host-key"); p.Str("value") != "bastion-key-material" || !p.IsSecret("value") {
		t.Errorf("host key parameter %v", p.Inputs)
	}
	assoc := m.Named(t, "aws:ec2/eipAssociation:EipAssociation", "bastion")
	if assoc.Str("instanceId") != "bastion-id" || assoc.Str("allocationId") != "bastion-id" {
		t.Errorf("EIP association %v", assoc.Inputs)
	}
	if eip := m.Named(t, "aws:ec2/eip:Eip", "bastion"); eip.Str("domain") != "vpc" {
		t.Errorf("EIP %v", eip.Inputs)
	}
	if sgs := inst.Get("vpcSecurityGroupIds").([]any); len(sgs) != 1 || sgs[0] != "sg-bastion" {
		t.Errorf("security groups %v", sgs)
	}
}
