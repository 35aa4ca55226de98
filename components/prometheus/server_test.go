package prometheus

import (
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/hostsecrets"
	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/testmocks"
)

func run(t *testing.T, name string, args ServerArgs) *testmocks.Mocks {
	t.Helper()
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		store, err := hostsecrets.NewStore(ctx, "promfed-dev-host-secrets", &hostsecrets.StoreArgs{NamePrefix: "promfed", Stack: "dev", Region: "eu-west-1"})
		if err != nil {
			return err
		}
		args.Secrets = store
		args.SessionLogs = pulumi.String("arn:aws:logs:eu-west-1:123456789012:log-group:/promfed/dev/ssm-sessions")
		_, err = NewServer(ctx, name, &args)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func baseArgs(role contract.Role) ServerArgs {
	return ServerArgs{
		Role: role, InstanceType: "t3.medium", AmiFamily: "debian-12", SubnetID: pulumi.String("subnet-1"),
		AvailabilityZone: "eu-west-1a", SecurityGroupIDs: pulumi.StringArray{pulumi.String("sg-1")},
		DataVolumeGiB:  50,
		HostKeyPrivate: pulumi.String("host-key-line-1\nhost-key-line-2\n"),
		HostKeyPublic:  "ssh-ed25519 AAAAhost primary", ClientPublicKey: "ssh-ed25519 AAAAclient provisioner",
		Tags: map[string]string{"promfed:stack": "dev"},
	}
}

func TestPrivateHardenedInstance(t *testing.T) {
	m := run(t, "primary", baseArgs(contract.RolePrimary))
	inst := m.Named(t, "aws:ec2/instance:Instance", "primary")
	if inst.Get("associatePublicIpAddress") != false {
		t.Error("instance may get a public IP")
	}
	md := inst.Get("metadataOptions").(map[string]any)
	if md["httpTokens"] != "required" || md["httpPutResponseHopLimit"] != float64(1) {
		t.Errorf("IMDS options %v", md)
	}
	if root := inst.Get("rootBlockDevice").(map[string]any); root["encrypted"] != true {
		t.Errorf("root volume %v", root)
	}
	// The private host key is in SSM, readable by this host only; user
	// data names the parameter and holds no secret.
	ud := inst.Str("userData")
	if strings.Contains(ud, "host-key-line") || inst.IsSecret("userData") {
		t.Errorf("user data holds the private key (secret=%v):\n%s", inst.IsSecret("userData"), ud)
	}
	for _, want := range []string{"param='/promfed/dev/primary/ssh-host-key'", "region='eu-west-1'", "pub='ssh-ed25519 AAAAhost primary'",
		"- ssh-ed25519 AAAAclient provisioner", "[/usr/local/sbin/promfed-mount-data, \"primary-data-id\", \"/var/lib/prometheus\"]", "  - ansible\n"} {
		if !strings.Contains(ud, want) {
			t.Errorf("user data lacks %q:\n%s", want, ud)
		}
	}
	param := m.Named(t, "aws:ssm/parameter:Parameter", "primary-secret-ssh-host-key")
	if param.Str("name") != "/promfed/dev/primary/ssh-host-key" || param.Str("type") != "SecureString" || !param.IsSecret("value") ||
		param.Str("value") != "host-key-line-1\nhost-key-line-2\n" || param.Str("keyId") != "arn:aws:mock:eu-west-1:123456789012:key/promfed-dev-host-secrets" {
		t.Errorf("host key parameter %v (value secret=%v)", param.Inputs, param.IsSecret("value"))
	}
	dependsOnParam := false
	for _, d := range inst.Dependencies {
		dependsOnParam = dependsOnParam || strings.HasSuffix(d, "aws:ssm/parameter:Parameter::primary-secret-ssh-host-key")
	}
	if !dependsOnParam {
		t.Errorf("the instance may boot before its host key parameter exists: %v", inst.Dependencies)
	}
	grant := m.Named(t, "aws:iam/rolePolicy:RolePolicy", "primary-secrets").Str("policy")
	for _, want := range []string{`"Action":["ssm:GetParameter"]`, `"Resource":["arn:aws:mock:eu-west-1:123456789012:parameter/primary-secret-ssh-host-key"]`,
		`"kms:EncryptionContext:PARAMETER_ARN":["arn:aws:mock:eu-west-1:123456789012:parameter/primary-secret-ssh-host-key"]`} {
		if !strings.Contains(grant, want) {
			t.Errorf("the host's secrets grant lacks %s: %s", want, grant)
		}
	}
	if strings.Join(inst.IgnoreChanges, ",") != "ami" || inst.Str("ami") != "ami-0123456789abcdef0" {
		t.Errorf("looked-up AMI: ami=%s ignoreChanges=%v", inst.Str("ami"), inst.IgnoreChanges)
	}
	if inst.Tags()["promfed:role"] != "primary" || inst.Tags()["Name"] != "primary" {
		t.Errorf("tags %v", inst.Tags())
	}
}

func TestDataVolumeSurvivesReplacement(t *testing.T) {
	m := run(t, "secondary-1", baseArgs(contract.RoleSecondary))
	vol := m.Named(t, "aws:ebs/volume:Volume", "secondary-1-data")
	if vol.Get("encrypted") != true || vol.Str("type") != "gp3" || vol.Get("size") != float64(50) || vol.Protect {
		t.Errorf("volume %v protect=%v", vol.Inputs, vol.Protect)
	}
	if vol.Tags()[contract.TagBackup] != "true" {
		t.Errorf("volume is not selected for snapshots: %v", vol.Tags())
	}
	// The volume must not depend on the instance: a replaced instance then
	// leaves the volume alone and only the attachment is recreated.
	for _, dep := range vol.Dependencies {
		if strings.Contains(dep, "aws:ec2/instance:Instance") {
			t.Errorf("the data volume depends on the instance (%s)", dep)
		}
	}
	for k, v := range vol.Inputs {
		if v.IsString() && strings.Contains(v.StringValue(), "secondary-1-id") {
			t.Errorf("the data volume's %s refers to the instance", k)
		}
	}
	att := m.Named(t, "aws:ec2/volumeAttachment:VolumeAttachment", "secondary-1-data")
	if !att.DeleteBeforeReplace || att.Get("stopInstanceBeforeDetaching") != true || att.Str("instanceId") != "secondary-1-id" {
		t.Errorf("attachment %v dbr=%v", att.Inputs, att.DeleteBeforeReplace)
	}

	a := baseArgs(contract.RoleSecondary)
	a.Protect, a.AmiID = true, "ami-00000000000000001"
	m = run(t, "secondary-1", a)
	vol = m.Named(t, "aws:ec2/instance:Instance", "secondary-1")
	if len(vol.IgnoreChanges) != 0 || vol.Str("ami") != "ami-00000000000000001" {
		t.Errorf("pinned AMI: %s ignore=%v", vol.Str("ami"), vol.IgnoreChanges)
	}
	v := m.Named(t, "aws:ebs/volume:Volume", "secondary-1-data")
	if !v.Protect || v.Get("finalSnapshot") != true {
		t.Errorf("protected volume: protect=%v finalSnapshot=%v", v.Protect, v.Get("finalSnapshot"))
	}
}

// A host gets EC2 read access only when its shard discovers by EC2, in
// those regions only; publishing only to the alert topic and its key.
func TestLeastPrivilege(t *testing.T) {
	primaryArgs := baseArgs(contract.RolePrimary)
	primaryArgs.AlertTopic = &AlertTopic{TopicArn: pulumi.String("arn:aws:sns:eu-west-1:123456789012:alerts"), KeyArn: pulumi.String("arn:aws:kms:eu-west-1:123456789012:key/k")}
	primary := run(t, "primary", primaryArgs)
	// Besides what every host has (its own secrets, recording sessions):
	// the alert policy only.
	if n := len(primary.OfType("aws:iam/rolePolicy:RolePolicy")); n != 3 {
		t.Errorf("primary has %d inline policies; it needs its secrets, session logs and the alert policy only", n)
	}
	pub := primary.Named(t, "aws:iam/rolePolicy:RolePolicy", "primary-alerts").Str("policy")
	if pub != `{"Statement":[{"Action":["sns:Publish"],"Effect":"Allow","Resource":"arn:aws:sns:eu-west-1:123456789012:alerts","Sid":"PublishAlerts"},`+
		`{"Action":["kms:GenerateDataKey","kms:Decrypt"],"Effect":"Allow","Resource":"arn:aws:kms:eu-west-1:123456789012:key/k","Sid":"UseAlertTopicKey"}],"Version":"2012-10-17"}` {
		t.Errorf("publish policy %s", pub)
	}

	plain := run(t, "secondary-data-1", baseArgs(contract.RoleSecondary))
	var names []string
	for _, p := range plain.OfType("aws:iam/rolePolicy:RolePolicy") {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "secondary-data-1-secrets,secondary-data-1-sessions" {
		t.Errorf("a secondary without EC2 discovery has inline policies %v, want its secrets' and session logs' only", names)
	}
	sess := plain.Named(t, "aws:iam/rolePolicy:RolePolicy", "secondary-data-1-sessions").Str("policy")
	if !strings.Contains(sess, `"Resource":"arn:aws:logs:eu-west-1:123456789012:log-group:/promfed/dev/ssm-sessions:*"`) {
		t.Errorf("session log policy %s", sess)
	}
	a := baseArgs(contract.RoleSecondary)
	a.DiscoveryRegions, a.Shard = []string{"eu-west-1", "us-east-1"}, "apps"
	sec := run(t, "secondary-apps-1", a)
	doc := sec.Named(t, "aws:iam/rolePolicy:RolePolicy", "secondary-apps-1-ec2-sd").Str("policy")
	if !strings.Contains(doc, `"aws:RequestedRegion":["eu-west-1","us-east-1"]`) || !strings.Contains(doc, "ec2:DescribeInstances") || strings.Contains(doc, `"Action":"*"`) || strings.Contains(doc, `"ec2:*"`) {
		t.Errorf("service discovery policy %s", doc)
	}
	if tags := sec.Named(t, "aws:ec2/instance:Instance", "secondary-apps-1").Tags(); tags[contract.TagShard] != "apps" || tags[contract.TagRole] != "secondary" {
		t.Errorf("secondary tags %v", tags)
	}
	for _, m := range []*testmocks.Mocks{primary, sec, plain} {
		att := m.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
		if len(att) != 1 || !strings.HasSuffix(att[0].Str("policyArn"), "/AmazonSSMManagedInstanceCore") {
			t.Errorf("managed policies: %v", att)
		}
	}
}

func TestBadArgsRefused(t *testing.T) {
	_, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		store, err := hostsecrets.NewStore(ctx, "s", &hostsecrets.StoreArgs{NamePrefix: "promfed", Stack: "dev", Region: "eu-west-1"})
		if err != nil {
			return err
		}
		a := baseArgs("tertiary")
		a.Secrets = store
		_, err = NewServer(ctx, "x", &a)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), `role "tertiary" must be primary or secondary`) {
		t.Fatalf("got %v", err)
	}
	_, err = testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		a := baseArgs(contract.RolePrimary)
		_, err := NewServer(ctx, "x", &a)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "prometheus server x: arguments with a host-secrets store are required") {
		t.Fatalf("without a secrets store: %v", err)
	}
}
