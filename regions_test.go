package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/network"
	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/cost"
	"github.com/promfed/promfed/internal/testmocks"
)

// withUSShard adds a shard in us-east-1 (first when first is set, so its
// secondary is the one that watches the primaries).
func withUSShard(first bool) func(map[string]string) {
	return func(c map[string]string) {
		us := `{"name":"us","region":"us-east-1","secondaries":2,"ec2":[{"job":"us-node","tags":{"Team":"us"},"ports":[9100]}]}`
		shards := strings.TrimSpace(c["promfed:shards"])
		if first {
			c["promfed:shards"] = "[" + us + "," + shards[1:]
		} else {
			c["promfed:shards"] = shards[:len(shards)-1] + "," + us + "]"
		}
		c["promfed:regionVpcCidrs"] = `[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"}]`
	}
}

// globalTypes are created once for every region (IAM is global; the
// private zone and its records live in Route53).
var globalTypes = []string{"aws:iam/", "aws:route53/", "pulumi:providers:", "command:", "cloudflare:"}

func isGlobal(typ string) bool {
	return slices.ContainsFunc(globalTypes, func(p string) bool { return strings.HasPrefix(typ, p) })
}

// thereNames start the names of what the stack builds in us-east-1 besides
// the hosts: the peering is requested at home and accepted there.
var thereNames = []string{"promfed-vpc-us-east-1", "promfed-fw-us-east-1", "promfed-host-secrets-us-east-1", "promfed-ssm-sessions-us-east-1",
	"promfed-tsdb-us-east-1", "promfed-inspector-us-east-1", "promfed-prod-alerts-us-east-1", "promfed-prod-alarms-us-east-1", "promfed-to-us-east-1-accept", "promfed-to-us-east-1-back-"}

// A shard in another region: its hosts and network land there through that
// region's provider, and everything else stays home.
func TestShardInAnotherRegion(t *testing.T) {
	m, err := runStack(t, "prod", withUSShard(false))
	if err != nil {
		t.Fatal(err)
	}
	providers := m.OfType("pulumi:providers:aws")
	if len(providers) != 1 || providers[0].Name != "promfed-aws-us-east-1" || providers[0].Str("region") != "us-east-1" {
		t.Fatalf("explicit providers %+v", providers)
	}
	// It takes over the stack's profile and account guard.
	m, err = runStack(t, "prod", func(c map[string]string) {
		withUSShard(false)(c)
		c["aws:profile"], c["aws:allowedAccountIds"] = "prod-deploy", `["123456789012"]`
	})
	if err != nil {
		t.Fatal(err)
	}
	p := m.Named(t, "pulumi:providers:aws", "promfed-aws-us-east-1")
	if p.Str("profile") != "prod-deploy" || fmt.Sprint(p.Get("allowedAccountIds")) != "[123456789012]" {
		t.Errorf("provider %v", p.Inputs)
	}
	regionOf := func(r testmocks.Resource) string { return m.Region(r, "eu-west-1") }
	counts := map[string]int{}
	for _, r := range m.Resources {
		if !r.Custom || isGlobal(r.Type) {
			continue
		}
		want := "eu-west-1"
		if strings.Contains(r.Name, "secondary-us-") || slices.ContainsFunc(thereNames, func(p string) bool { return strings.HasPrefix(r.Name, p) }) {
			want = "us-east-1"
		}
		if got := regionOf(r); got != want {
			t.Errorf("%s %s is created in %s, want %s", r.Type, r.Name, got, want)
		}
		counts[regionOf(r)]++
	}
	if counts["us-east-1"] < 40 || counts["eu-west-1"] < 100 {
		t.Errorf("resources per region %v", counts)
	}
	// Nothing there refers to a regional resource of home (mock ARNs name
	// their provider's region); IAM is global.
	for _, r := range m.Resources {
		if r.Custom && !isGlobal(r.Type) && regionOf(r) == "us-east-1" {
			if in := fmt.Sprint(r.Inputs); strings.Contains(in, "arn:aws:mock:eu-west-1") {
				t.Errorf("%s %s in us-east-1 refers to eu-west-1: %s", r.Type, r.Name, in)
			}
		}
	}
	// The hosts' regional services are the region's own.
	for _, host := range []string{"secondary-us-1", "secondary-us-2"} {
		if r := m.Named(t, "aws:ec2/instance:Instance", host); regionOf(r) != "us-east-1" || !strings.HasPrefix(r.Str("subnetId"), "promfed-vpc-us-east-1-private-") {
			t.Errorf("%s in %s, subnet %s", host, regionOf(r), r.Str("subnetId"))
		}
		vol := m.Named(t, "aws:ebs/volume:Volume", host+"-data")
		if !strings.HasPrefix(vol.Str("availabilityZone"), "us-east-1") {
			t.Errorf("%s volume in zone %q", host, vol.Str("availabilityZone"))
		}
		ud := m.Named(t, "aws:ec2/instance:Instance", host).Str("userData")
		if !strings.Contains(ud, "us-east-1") || strings.Contains(ud, "eu-west-1") {
			t.Errorf("%s reads its host key elsewhere than us-east-1:\n%s", host, ud)
		}
		param := m.Named(t, "aws:ssm/parameter:Parameter", host+"-secret-ssh-host-key")
		if regionOf(param) != "us-east-1" || param.Str("keyId") != "arn:aws:mock:us-east-1:123456789012:key/promfed-host-secrets-us-east-1" {
			t.Errorf("%s host key parameter in %s, key %s", host, regionOf(param), param.Str("keyId"))
		}
		play := m.Named(t, "command:remote:Command", host+"-playbook").Str("create")
		if !strings.Contains(play, "us-east-1") || strings.Contains(play, "eu-west-1") {
			t.Errorf("%s provisioning reads secrets elsewhere:\n%s", host, play)
		}
	}
	// Each host's image is looked up in its own region.
	lookups := map[string]int{}
	for i, tok := range m.Invokes {
		if tok == "aws:ec2/getAmi:getAmi" {
			lookups[m.Region(testmocks.Resource{Provider: m.InvokeProviders[i]}, "eu-west-1")]++
		}
	}
	if lookups["us-east-1"] != 2 || lookups["eu-west-1"] != 6 || len(lookups) != 2 {
		t.Errorf("AMI lookups by region %v, want 2 in us-east-1 and 6 at home (bastion, 2 primaries, 3 secondaries)", lookups)
	}
	alias := m.Named(t, "aws:kms/alias:Alias", "promfed-host-secrets-us-east-1")
	if alias.Str("name") != "alias/promfed-prod-host-secrets-us-east-1" {
		t.Errorf("region key alias %q", alias.Str("name"))
	}
	// The home alarms leave the other region's hosts to their own region,
	// whose topic has the stack's subscribers.
	if sub := m.Named(t, "aws:sns/topicSubscription:TopicSubscription", "promfed-prod-alerts-us-east-1-email-1"); sub.Str("endpoint") != "oncall@example.com" {
		t.Errorf("us-east-1 topic subscriber %q", sub.Str("endpoint"))
	}
	for _, a := range m.OfType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if strings.Contains(a.Name, "secondary-us-") && regionOf(a) != "us-east-1" {
			t.Errorf("alarm %s in %s", a.Name, regionOf(a))
		}
	}
	rec := m.Named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "promfed-prod-secondary-us-1-system-check")
	if got := fmt.Sprint(rec.Get("alarmActions")); got != "[arn:aws:automate:us-east-1:ec2:recover arn:aws:mock:us-east-1:123456789012:topic/promfed-prod-alerts-us-east-1]" {
		t.Errorf("recovery actions %s", got)
	}
	roles := map[string]bool{}
	for _, r := range m.OfType("aws:iam/role:Role") {
		roles[r.Str("name")] = true
	}
	for _, want := range []string{"promfed-prod-flow-logs", "promfed-prod-flow-logs-us-east-1", "promfed-prod-snapshots", "promfed-prod-snapshots-us-east-1"} {
		if !roles[want] {
			t.Errorf("no role %s", want)
		}
	}
	dlm := m.Named(t, "aws:dlm/lifecyclePolicy:LifecyclePolicy", "promfed-tsdb-us-east-1")
	if regionOf(dlm) != "us-east-1" {
		t.Errorf("us-east-1 snapshots policy in %s", regionOf(dlm))
	}
}

// The peering is requested at home, accepted there, and routed both ways;
// the private zone answers in the other VPC too.
func TestRegionPeeringAndRoutes(t *testing.T) {
	m, err := runStack(t, "prod", withUSShard(false))
	if err != nil {
		t.Fatal(err)
	}
	vpc := m.Named(t, "aws:ec2/vpc:Vpc", "promfed-vpc-us-east-1")
	if vpc.Str("cidrBlock") != "10.41.0.0/16" || m.Region(vpc, "") != "us-east-1" {
		t.Errorf("us-east-1 VPC %s in %q", vpc.Str("cidrBlock"), m.Region(vpc, ""))
	}
	conn := m.Named(t, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "promfed-to-us-east-1")
	if conn.Str("vpcId") != "promfed-id" || conn.Str("peerVpcId") != "promfed-vpc-us-east-1-id" || conn.Str("peerRegion") != "us-east-1" || conn.Get("autoAccept") != nil {
		t.Errorf("peering %v", conn.Inputs)
	}
	acc := m.Named(t, "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter", "promfed-to-us-east-1-accept")
	if acc.Str("vpcPeeringConnectionId") != "promfed-to-us-east-1-id" || acc.Get("autoAccept") != true || m.Region(acc, "") != "us-east-1" {
		t.Errorf("accepter %v in %q", acc.Inputs, m.Region(acc, ""))
	}
	// Home: each private table routes the other VPC through the peering.
	for i := 1; i <= 3; i++ {
		rt := m.Named(t, "aws:ec2/routeTable:RouteTable", fmt.Sprintf("promfed-private-%d", i))
		if got := fmt.Sprint(rt.Get("routes")); !strings.Contains(got, "cidrBlock:10.41.0.0/16") || !strings.Contains(got, "vpcPeeringConnectionId:promfed-to-us-east-1-id") {
			t.Errorf("home table %d routes %s", i, got)
		}
		// There: no inline routes; a route back home and one to the NAT
		// gateway, each a resource.
		there := m.Named(t, "aws:ec2/routeTable:RouteTable", fmt.Sprintf("promfed-vpc-us-east-1-private-%d", i))
		if there.Get("routes") != nil {
			t.Errorf("us-east-1 table %d has inline routes %v", i, there.Get("routes"))
		}
		back := m.Named(t, "aws:ec2/route:Route", fmt.Sprintf("promfed-to-us-east-1-back-%d", i))
		if back.Str("routeTableId") != there.Name+"-id" || back.Str("destinationCidrBlock") != "10.40.0.0/16" ||
			back.Str("vpcPeeringConnectionId") != "promfed-to-us-east-1-id" || m.Region(back, "") != "us-east-1" {
			t.Errorf("route back %d: %v in %q", i, back.Inputs, m.Region(back, ""))
		}
		nat := m.Named(t, "aws:ec2/route:Route", fmt.Sprintf("promfed-vpc-us-east-1-private-%d-to-default", i))
		if nat.Str("destinationCidrBlock") != "0.0.0.0/0" || nat.Str("natGatewayId") != fmt.Sprintf("promfed-vpc-us-east-1-nat-%d-id", i) {
			t.Errorf("NAT route %d: %v", i, nat.Inputs)
		}
	}
	// The bastion, in a public subnet, reaches the hosts there.
	public := m.Named(t, "aws:ec2/routeTable:RouteTable", "promfed-public")
	if got := fmt.Sprint(public.Get("routes")); !strings.Contains(got, "cidrBlock:10.41.0.0/16") || !strings.Contains(got, "vpcPeeringConnectionId:promfed-to-us-east-1-id") {
		t.Errorf("public table routes %s", got)
	}
	zone := m.Named(t, "aws:route53/zone:Zone", "promfed-internal")
	if got := fmt.Sprint(zone.Get("vpcs")); !strings.Contains(got, "vpcId:promfed-vpc-us-east-1-id vpcRegion:us-east-1") || !strings.Contains(got, "vpcId:promfed-id") {
		t.Errorf("zone associations %s", got)
	}
}

// Across regions groups cannot name groups: the rules name the home
// subnets that hold the bastion and the primaries, and nothing wider.
func TestRegionFirewallByCIDR(t *testing.T) {
	m, err := runStack(t, "dev", withUSShard(true))
	if err != nil {
		t.Fatal(err)
	}
	home := netip.MustParsePrefix("10.40.0.0/16")
	public, private, err := network.SubnetPlan(home, 2, 24, true)
	if err != nil {
		t.Fatal(err)
	}
	rule := func(typ, name string) testmocks.Resource {
		return m.Named(t, "aws:vpc/securityGroup"+typ+"Rule:SecurityGroup"+typ+"Rule", name)
	}
	safe := func(p netip.Prefix) string { return strings.ReplaceAll(p.String(), "/", "-") }
	type cidrRule struct {
		r         testmocks.Resource
		port      int
		cidr, reg string
	}
	checks := []cidrRule{
		{rule("Egress", "promfed-bastion-out-ssh-us-east-1-10.41.0.0-16"), 22, "10.41.0.0/16", "eu-west-1"},
		{rule("Egress", "promfed-primary-out-federate-us-east-1-10.41.0.0-16"), 9090, "10.41.0.0/16", "eu-west-1"},
		// The us shard is first: its first secondary watches the primaries.
		{rule("Ingress", "promfed-primary-in-node-exporter-us-east-1-10.41.0.0-16"), 9100, "10.41.0.0/16", "eu-west-1"},
		{rule("Ingress", "promfed-fw-us-east-1-members-in-ssh-from-bastion-"+safe(public[0])), 22, public[0].String(), "us-east-1"},
	}
	// dev runs one primary, in the first zone: only its subnet is admitted.
	for _, p := range private[:1] {
		checks = append(checks,
			cidrRule{rule("Ingress", "promfed-fw-us-east-1-secondary-in-from-primary-"+safe(p)), 9090, p.String(), "us-east-1"},
			cidrRule{rule("Egress", "promfed-fw-us-east-1-members-out-node-exporter-primary-"+safe(p)), 9100, p.String(), "us-east-1"})
	}
	for _, c := range checks {
		if c.r.Str("cidrIpv4") != c.cidr || c.r.Get("fromPort") != float64(c.port) || c.r.Get("toPort") != float64(c.port) || m.Region(c.r, "eu-west-1") != c.reg {
			t.Errorf("%s: %v in %s", c.r.Name, c.r.Inputs, m.Region(c.r, "eu-west-1"))
		}
	}
	// Nothing there admits the whole home VPC, a subnet without a primary,
	// or anything on 22 but the bastion's subnet.
	for _, r := range m.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if m.Region(r, "eu-west-1") == "us-east-1" && (r.Str("cidrIpv4") == "10.40.0.0/16" || r.Str("cidrIpv4") == private[1].String() ||
			(r.Get("fromPort") == float64(22) && r.Str("cidrIpv4") != public[0].String())) {
			t.Errorf("%s admits %s on %v", r.Name, r.Str("cidrIpv4"), r.Get("fromPort"))
		}
	}
	// The private network ACL there lets the bastion's SSH in.
	acl := m.Named(t, "aws:ec2/networkAcl:NetworkAcl", "promfed-vpc-us-east-1-private")
	if got := fmt.Sprint(acl.Get("ingress")); !strings.Contains(got, "cidrBlock:"+public[0].String()) || !strings.Contains(got, "fromPort:22") {
		t.Errorf("us-east-1 private ACL ingress %s", got)
	}
	// The endpoint probe comes from the watcher's region: the ALB admits
	// the us-east-1 NAT gateway, not the home one.
	probe := rule("Ingress", "promfed-alb-in-https-probe-1")
	if deps := strings.Join(probe.Dependencies, " "); !strings.Contains(deps, "promfed-vpc-us-east-1-nat-1") || strings.Contains(deps, "::promfed-nat-1") {
		t.Errorf("probe rule depends on %s", deps)
	}
	// The secondaries there wear that region's groups.
	inst := m.Named(t, "aws:ec2/instance:Instance", "secondary-us-1")
	if got := fmt.Sprint(inst.Get("vpcSecurityGroupIds")); got != "[promfed-fw-us-east-1-members-id promfed-fw-us-east-1-secondary-id promfed-fw-us-east-1-shard-us-scraper-id]" {
		t.Errorf("secondary-us-1 groups %s", got)
	}
}

// Nothing in one region is named as something in another: logical names,
// Name tags and the names AWS sees.
func TestRegionNamesDistinct(t *testing.T) {
	m, err := runStack(t, "prod", withUSShard(false))
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ typ, name string }
	where := map[key]string{}
	for _, r := range m.Resources {
		region := m.Region(r, "eu-west-1")
		names := []string{"urn:" + r.Name}
		if tag, ok := r.Tags()["Name"].(string); ok {
			names = append(names, "tag:"+tag)
		}
		if n := r.Str("name"); n != "" {
			names = append(names, "name:"+n)
		}
		for _, n := range names {
			k := key{r.Type, n}
			if other, seen := where[k]; seen && other != region {
				t.Errorf("%s %s is used in %s and %s", r.Type, n, other, region)
			}
			where[k] = region
		}
	}
	if len(where) < 300 {
		t.Errorf("only %d names seen", len(where))
	}
	// IAM names are global: one name, one resource, whatever the provider.
	seen := map[string]string{}
	for _, r := range m.Resources {
		if n := r.Str("name"); strings.HasPrefix(r.Type, "aws:iam/") && n != "" {
			k := r.Type + " " + n
			if other, dup := seen[k]; dup {
				t.Errorf("IAM %s is both %s and %s", k, other, r.Name)
			}
			seen[k] = r.Name
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d IAM names seen", len(seen))
	}
}

// A region that lacks zones fails the run before any VPC is registered.
func TestRegionZonesCheckedFirst(t *testing.T) {
	cfg, secrets := stackConfig(t, "dev")
	withUSShard(false)(cfg)
	mocks := &testmocks.Mocks{RegionZones: map[string][]string{"us-east-1": {"us-east-1a", "us-east-1b"}}}
	if _, err := testmocks.RunOn(mocks, "promfed", "dev", cfg, secrets, program); err != nil {
		t.Fatalf("two zones suffice for azCount 2: %v", err)
	}
	if vol := mocks.Named(t, "aws:ebs/volume:Volume", "secondary-us-2-data"); vol.Str("availabilityZone") != "us-east-1a" {
		t.Errorf("secondary-us-2 in zone %q", vol.Str("availabilityZone"))
	}
	mocks = &testmocks.Mocks{RegionZones: map[string][]string{"us-east-1": {"us-east-1a"}}}
	_, err := testmocks.RunOn(mocks, "promfed", "dev", cfg, secrets, program)
	if err == nil || !strings.Contains(err.Error(), "azCount 2 is more than the 1 standard availability zones of us-east-1 (us-east-1a), where shards run: lower azCount") {
		t.Fatalf("err = %v", err)
	}
	if vpcs := mocks.OfType("aws:ec2/vpc:Vpc"); len(vpcs) != 0 {
		t.Errorf("registered %d VPCs", len(vpcs))
	}
}

// Bad region input is refused before anything is registered, with the
// key, the value and the rule.
func TestRegionBadInputRegistersNothing(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(map[string]string)
		want string
	}{
		"no CIDR": {func(c map[string]string) { withUSShard(false)(c); delete(c, "promfed:regionVpcCidrs") },
			`shards[2].region "us-east-1" has no VPC CIDR in regionVpcCidrs: for example pulumi config set --path 'regionVpcCidrs[0].region' us-east-1`},
		"overlaps home": {func(c map[string]string) {
			withUSShard(false)(c)
			c["promfed:regionVpcCidrs"] = `[{"region":"us-east-1","vpcCidr":"10.40.0.0/16"}]`
		}, `regionVpcCidrs: us-east-1's vpcCidr 10.40.0.0/16 overlaps vpcCidr 10.40.0.0/16`},
		"unknown region": {func(c map[string]string) {
			withUSShard(false)(c)
			c["promfed:shards"] = strings.Replace(c["promfed:shards"], `"region":"us-east-1"`, `"region":"us-east-9"`, 1)
		}, `shards[2].region "us-east-9" is not an AWS region this program knows`},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := runStack(t, "prod", tc.edit)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
			if len(m.Resources) != 0 {
				t.Errorf("%d resources registered", len(m.Resources))
			}
		})
	}
}

// The cost report prices each region's resources at its own prices.
func TestCostOfAnotherRegion(t *testing.T) {
	m, err := runStack(t, "prod", withUSShard(false))
	if err != nil {
		t.Fatal(err)
	}
	r, err := cost.Estimate("eu-west-1", costResources(m), cost.DefaultUsage())
	if err != nil {
		t.Fatal(err)
	}
	home, err := cost.TableFor("eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	there, err := cost.TableFor("us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	units := map[string]float64{}
	for _, l := range r.Lines {
		units[l.Component+": "+l.Item] = l.UnitUSD
	}
	if got, want := units["instances: secondary-us-1 (m6i.large)"], there.Prices["ec2:m6i.large"].USD; got != want || want == home.Prices["ec2:m6i.large"].USD {
		t.Errorf("secondary-us-1 at %v an hour, want us-east-1's %v (eu-west-1: %v)", got, want, home.Prices["ec2:m6i.large"].USD)
	}
	if got, want := units["instances: primary-a (m6i.large)"], home.Prices["ec2:m6i.large"].USD; got != want {
		t.Errorf("primary-a at %v an hour, want %v", got, want)
	}
	if got := units["nat gateways: promfed-vpc-us-east-1-nat-1"]; got != there.Prices["nat:hour"].USD {
		t.Errorf("us-east-1 NAT gateway at %v an hour", got)
	}
}

// The hosts output tells where each host runs and which session document
// records sessions there.
func TestHostsOutputPerRegion(t *testing.T) {
	cfgMap, secrets := stackConfig(t, "prod")
	withUSShard(false)(cfgMap)
	got := map[string]string{}
	var mu sync.Mutex
	_, err := testmocks.Run("promfed", "prod", cfgMap, secrets, func(ctx *pulumi.Context) error {
		cfg, err := config.Load(ctx.Project(), ctx.Stack(), "eu-west-1", pulumiSource{ctx})
		if err != nil {
			return err
		}
		st, err := build(ctx, cfg)
		if err != nil {
			return err
		}
		for _, h := range []string{"primary-a", "secondary-us-1"} {
			m := st.hostsOutput()[h].(pulumi.Map)
			pulumi.All(m["region"], m["sessionDocument"]).ApplyT(func(v []any) error {
				mu.Lock()
				defer mu.Unlock()
				got[h] = fmt.Sprintf("%v %v", v[0], v[1])
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got["primary-a"] != "eu-west-1 promfed-prod-sessions" || got["secondary-us-1"] != "us-east-1 promfed-prod-sessions-us-east-1" {
		t.Errorf("hosts output %v", got)
	}
}

// A workload VPC peered with another region's VPC: peered there, its
// targets group there, and the private zone answers in it, as at home.
func TestWorkloadPeerInAnotherRegion(t *testing.T) {
	m, err := runStack(t, "prod", func(c map[string]string) {
		withUSShard(false)(c)
		c["promfed:shards"] = strings.Replace(c["promfed:shards"], `"region":"us-east-1",`,
			`"region":"us-east-1","peer":{"vpcId":"vpc-0123456789abcdef9","cidr":"10.90.0.0/16","routeTableIds":["rtb-0123456789abcdef9"]},`, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	conn := m.Named(t, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "promfed-vpc-us-east-1-peer-us")
	if conn.Str("vpcId") != "promfed-vpc-us-east-1-id" || conn.Str("peerVpcId") != "vpc-0123456789abcdef9" || m.Region(conn, "") != "us-east-1" {
		t.Errorf("workload peering %v in %q", conn.Inputs, m.Region(conn, ""))
	}
	targets := m.Named(t, "aws:ec2/securityGroup:SecurityGroup", "promfed-fw-us-east-1-shard-us-targets")
	if targets.Str("vpcId") != "vpc-0123456789abcdef9" || m.Region(targets, "") != "us-east-1" {
		t.Errorf("targets group %v", targets.Inputs)
	}
	got := fmt.Sprint(m.Named(t, "aws:route53/zone:Zone", "promfed-internal").Get("vpcs"))
	if !strings.Contains(got, "vpcId:vpc-0123456789abcdef9 vpcRegion:us-east-1") {
		t.Errorf("zone associations %s", got)
	}
}
