package main

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/promfed/promfed/internal/testmocks"
)

// replacing lists, per resource type, the inputs whose change makes the
// provider replace the resource (ForceNew in the AWS provider's schema;
// triggers for pulumi-command). A preview shows these as replacements.
var replacing = map[string][]string{
	"aws:ec2/subnet:Subnet":                                     {"cidrBlock", "availabilityZone", "vpcId"},
	"aws:ec2/vpc:Vpc":                                           {"cidrBlock"},
	"aws:ec2/instance:Instance":                                 {"subnetId", "availabilityZone", "ami", "userData"}, // userDataReplaceOnChange
	"aws:ebs/volume:Volume":                                     {"availabilityZone", "snapshotId", "encrypted", "kmsKeyId"},
	"aws:ec2/volumeAttachment:VolumeAttachment":                 {"instanceId", "volumeId", "deviceName"},
	"aws:ec2/securityGroup:SecurityGroup":                       {"vpcId", "name", "description"},
	"aws:lb/loadBalancer:LoadBalancer":                          {"name", "internal", "loadBalancerType"},
	"aws:lb/targetGroup:TargetGroup":                            {"port", "protocol", "vpcId", "targetType", "name"},
	"aws:lb/targetGroupAttachment:TargetGroupAttachment":        {"targetGroupArn", "targetId", "port"},
	"aws:route53/record:Record":                                 {"name", "type", "zoneId"},
	"aws:ssm/parameter:Parameter":                               {"name"},
	"aws:iam/role:Role":                                         {"name", "path"},
	"command:remote:Command":                                    {"triggers"},
	"command:remote:CopyToRemote":                               {"triggers"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":                    {"name"},
	"aws:ec2/natGateway:NatGateway":                             {"subnetId", "allocationId"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"securityGroupId", "fromPort", "toPort", "ipProtocol", "cidrIpv4", "cidrIpv6", "referencedSecurityGroupId"},
}

// replaced lists the resources of base (as "name") that edited replaces:
// same name, a replacing input changed (ignoreChanges is applied by the
// mocks, which keep the prior run's value). Resources only in one run are
// deletions or creations, not replacements.
func replaced(base, edited *testmocks.Mocks) []string {
	var out []string
	for typ, props := range replacing {
		now := edited.OfType(typ)
		for _, old := range base.OfType(typ) {
			i := slices.IndexFunc(now, func(r testmocks.Resource) bool { return r.Name == old.Name })
			if i < 0 {
				continue
			}
			for _, p := range props {
				k := resource.PropertyKey(p)
				if !old.Inputs[k].DeepEquals(now[i].Inputs[k]) {
					out = append(out, old.Name)
					break
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// An edit table: each ordinary edit of the prod stack, and exactly the
// resources it may replace. Every other resource keeps its replacing inputs
// (it is updated in place, or untouched). Provisioning steps are
// resources too: a replaced "-playbook" re-runs Ansible on that host.
func TestEditsReplaceOnlyWhatTheyMust(t *testing.T) {
	playbooks := func(hosts ...string) []string {
		var out []string
		for _, h := range hosts {
			out = append(out, h+"-playbook")
		}
		return out
	}
	trees := func(hosts ...string) []string {
		var out []string
		for _, h := range hosts {
			out = append(out, h+"-ansible", h+"-playbook")
		}
		return out
	}
	all := []string{"primary-a", "primary-b", "secondary-apps-1", "secondary-apps-2", "secondary-data-1"}
	fourZones := &testmocks.Mocks{Zones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d"}}
	cases := []struct {
		name  string
		mocks *testmocks.Mocks
		edit  func(map[string]string)
		want  []string
		// tree, when set, edits the copy of ansible/ the program reads.
		tree func(t *testing.T, dir string)
		// base, when set, edits the configuration before the first run.
		base func(map[string]string)
	}{
		{"instance type", nil, func(c map[string]string) { c["promfed:secondaryInstanceType"] = "m6i.xlarge" }, nil, nil, nil},
		// The volume grows in place; the playbook re-runs to grow the
		// filesystem (the data_volume role).
		{"volume size", nil, func(c map[string]string) { c["promfed:dataVolumeSizeGiB"] = "300" }, playbooks(all...), nil, nil},
		{"retention", nil, func(c map[string]string) { c["promfed:retentionTime"] = "45d" }, playbooks(all...), nil, nil},
		{"a zone more", fourZones, func(c map[string]string) { c["promfed:azCount"] = "4" }, nil, nil, nil},
		{"web password", nil, func(c map[string]string) { c["promfed:webPassword"] = "another-very-long-web-password" }, playbooks(all...), nil, nil},
		{"provisionGeneration", nil, func(c map[string]string) { c["promfed:provisionGeneration"] = "1" }, playbooks(all...), nil, nil},
		// A restore replaces that host's volume with one made from the
		// snapshot, so its attachment, and the instance, whose user data
		// names the volume; the playbook mounts it. (In AWS the new
		// instance's id re-runs its ready and copy steps too; the mocks
		// derive instance ids from names.)
		{"restore a snapshot", nil, func(c map[string]string) {
			c["promfed:restoreSnapshots"] = `[{"host":"secondary-apps-1","snapshot":"snap-0123456789abcdef0"}]`
		}, []string{"secondary-apps-1", "secondary-apps-1-data", "secondary-apps-1-data", "secondary-apps-1-playbook"}, nil, nil},
		// A role edit copies the new tree to every host and re-runs it;
		// no instance, volume or load balancer part moves.
		{"role edit", nil, func(map[string]string) {}, trees(all...), func(t *testing.T, dir string) {
			path := filepath.Join(dir, "ansible", "roles", "node_exporter", "defaults", "main.yml")
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, append(body, "# edited\n"...), 0o600); err != nil {
				t.Fatal(err)
			}
		}, nil},
		// The primaries federate every secondary: a new one changes their
		// targets; the secondaries are reached by name and do not change.
		{"a secondary more", nil, func(c map[string]string) {
			c["promfed:shards"] = strings.Replace(c["promfed:shards"], `"secondaries":1`, `"secondaries":2`, 1)
		}, playbooks("primary-a", "primary-b"), nil, nil},
		{"a shard more", nil, func(c map[string]string) {
			c["promfed:shards"] = strings.TrimSuffix(c["promfed:shards"], "]") + `,{"name":"edge","secondaries":1}]`
		}, playbooks("primary-a", "primary-b"), nil, nil},
		// Once restored, the entry may go: the volume keeps its snapshot
		// (ignoreChanges), nothing is replaced, no blank volume appears.
		{"restore entry removed", nil, func(c map[string]string) { delete(c, "promfed:restoreSnapshots") }, nil, nil, func(c map[string]string) {
			c["promfed:restoreSnapshots"] = `[{"host":"secondary-apps-1","snapshot":"snap-0123456789abcdef0"}]`
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, secrets := stackConfig(t, "prod")
			if tc.base != nil {
				tc.base(cfg)
			}
			cfg["promfed:azCount"] = "3"
			if tc.tree != nil {
				dir := t.TempDir()
				for _, d := range []string{"ansible", "monitoring"} {
					if err := os.CopyFS(filepath.Join(dir, d), os.DirFS(d)); err != nil {
						t.Fatal(err)
					}
				}
				t.Chdir(dir)
			}
			base, err := testmocks.RunOn(&testmocks.Mocks{Zones: fourZones.Zones}, "promfed", "prod", cfg, secrets, program)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(cfg)
			if tc.tree != nil {
				tc.tree(t, ".")
			}
			m := tc.mocks
			if m == nil {
				m = &testmocks.Mocks{Zones: fourZones.Zones}
			}
			m.Prior = base
			edited, err := testmocks.RunOn(m, "promfed", "prod", cfg, secrets, program)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if got := replaced(base, edited); !slices.Equal(got, want) {
				t.Errorf("replaces %v\nwant      %v", got, want)
			}
		})
	}
}
