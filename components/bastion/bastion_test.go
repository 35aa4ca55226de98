package bastion

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func TestStableAddressAndPinnedKey(t *testing.T) {
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewBastion(ctx, "bastion", &Args{
			InstanceType: "t3.micro", AmiFamily: "debian-12", SubnetID: pulumi.String("subnet-public"), SecurityGroupID: pulumi.String("sg-bastion"),
			HostKeyPrivate: pulumi.String("PRIVATE"), HostKeyPublic: "ssh-ed25519 AAAAH bastion", ClientPublicKey: "ssh-ed25519 AAAAC client",
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
	if !inst.IsSecret("userData") || !strings.Contains(inst.Str("userData"), "ed25519_public: ssh-ed25519 AAAAH bastion") || inst.Get("userDataReplaceOnChange") != true {
		t.Errorf("user data secret=%v", inst.IsSecret("userData"))
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
