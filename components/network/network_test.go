package network

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/testmocks"
)

func run(t *testing.T, args VpcArgs) *testmocks.Mocks {
	t.Helper()
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewVpc(ctx, "net", &args)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func baseArgs() VpcArgs {
	return VpcArgs{
		Cidr: netip.MustParsePrefix("10.40.0.0/16"), AvailabilityZones: []string{"eu-west-1a", "eu-west-1b"}, SubnetPrefixLength: 24, NatStrategy: "single",
		FlowLogRetentionDays: 90, AdminCidrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.10/32")},
		Tags: map[string]string{"promfed:stack": "dev"},
	}
}

func TestSubnetPlan(t *testing.T) {
	pub, priv, err := SubnetPlan(netip.MustParsePrefix("10.40.0.0/16"), 3, 24, false)
	if err != nil {
		t.Fatal(err)
	}
	if pub[0].String() != "10.40.0.0/24" || pub[2].String() != "10.40.2.0/24" || priv[0].String() != "10.40.3.0/24" || priv[2].String() != "10.40.5.0/24" {
		t.Fatalf("legacy plan: %v %v", pub, priv)
	}
	// Stable: private subnets from the middle of the VPC, so a zone's
	// subnets never depend on how many zones there are.
	pub, priv, err = SubnetPlan(netip.MustParsePrefix("10.40.0.0/16"), 3, 24, true)
	if err != nil || pub[2].String() != "10.40.2.0/24" || priv[0].String() != "10.40.128.0/24" || priv[2].String() != "10.40.130.0/24" {
		t.Fatalf("stable plan: %v %v %v", pub, priv, err)
	}
	pub6, priv6, err := SubnetPlan(netip.MustParsePrefix("10.40.0.0/16"), 6, 24, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pub {
		if pub6[i] != pub[i] || priv6[i] != priv[i] {
			t.Errorf("zone %d moves from %s/%s to %s/%s when azCount grows", i, pub[i], priv[i], pub6[i], priv6[i])
		}
	}
	// The smallest VPC that fits two zones: public, then private halves.
	pub, priv, err = SubnetPlan(netip.MustParsePrefix("10.40.0.0/24"), 2, 26, true)
	if err != nil || pub[1].String() != "10.40.0.64/26" || priv[0].String() != "10.40.0.128/26" || priv[1].String() != "10.40.0.192/26" {
		t.Fatalf("small stable plan: %v %v %v", pub, priv, err)
	}
	if _, _, err := SubnetPlan(netip.MustParsePrefix("10.40.0.0/24"), 2, 25, true); err == nil {
		t.Fatal("4 /25 subnets in a /24 accepted")
	}
}

func TestVpcLayout(t *testing.T) {
	m := run(t, baseArgs())
	subnets := m.OfType("aws:ec2/subnet:Subnet")
	if len(subnets) != 4 {
		t.Fatalf("want 4 subnets, got %d", len(subnets))
	}
	azs := map[string]bool{}
	for _, s := range subnets {
		if s.Get("mapPublicIpOnLaunch") != false {
			t.Errorf("subnet %s maps public IPs", s.Name)
		}
		azs[s.Str("availabilityZone")] = true
		if s.Tags()["promfed:stack"] != "dev" || s.Tags()["Name"] == nil {
			t.Errorf("subnet %s tags %v", s.Name, s.Tags())
		}
	}
	if len(azs) != 2 {
		t.Errorf("subnets span %d AZs", len(azs))
	}
	vpc := m.Named(t, "aws:ec2/vpc:Vpc", "net")
	if vpc.Get("enableDnsHostnames") != true || vpc.Str("cidrBlock") != "10.40.0.0/16" {
		t.Errorf("vpc inputs %v", vpc.Inputs)
	}
	sg := m.Named(t, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "net-default-sg")
	if sg.Get("ingress") != nil || sg.Get("egress") != nil {
		t.Errorf("default security group keeps rules: %v", sg.Inputs)
	}
	if n := len(m.OfType("aws:ec2/natGateway:NatGateway")); n != 1 {
		t.Errorf("single NAT strategy made %d gateways", n)
	}
	for _, r := range m.Resources {
		if r.Type != "promfed:network:Vpc" && !strings.HasSuffix(r.Parent, "promfed:network:Vpc::net") {
			t.Errorf("%s %s is not parented to the component (parent %q)", r.Type, r.Name, r.Parent)
		}
		if !strings.HasPrefix(r.Name, "net") {
			t.Errorf("%s name %q is not derived from the component name", r.Type, r.Name)
		}
	}
}

func TestNatStrategies(t *testing.T) {
	for strategy, want := range map[string]int{"none": 0, "single": 1, "per-az": 3} {
		a := baseArgs()
		a.AvailabilityZones, a.NatStrategy = []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, strategy
		m := run(t, a)
		if got := len(m.OfType("aws:ec2/natGateway:NatGateway")); got != want {
			t.Errorf("%s: %d NAT gateways, want %d", strategy, got, want)
		}
		defaultRoutes := 0
		for _, rt := range m.OfType("aws:ec2/routeTable:RouteTable") {
			if strings.Contains(rt.Name, "private") {
				if routes, _ := rt.Get("routes").([]any); len(routes) > 0 {
					defaultRoutes++
				}
			}
		}
		if strategy == "none" && defaultRoutes != 0 || strategy != "none" && defaultRoutes != 3 {
			t.Errorf("%s: %d private route tables with a default route", strategy, defaultRoutes)
		}
	}
}

func TestACLsAndFlowLogs(t *testing.T) {
	m := run(t, baseArgs())
	pub := m.Named(t, "aws:ec2/networkAcl:NetworkAcl", "net-public")
	sshFrom := []string{}
	for _, r := range pub.Get("ingress").([]any) {
		rule := r.(map[string]any)
		if rule["fromPort"] == float64(22) {
			sshFrom = append(sshFrom, rule["cidrBlock"].(string))
		}
	}
	if strings.Join(sshFrom, ",") != "203.0.113.10/32" {
		t.Errorf("public ACL admits SSH from %v", sshFrom)
	}
	fl := m.Named(t, "aws:ec2/flowLog:FlowLog", "net")
	if fl.Str("trafficType") != "ALL" || fl.Str("logDestinationType") != "cloud-watch-logs" {
		t.Errorf("flow log %v", fl.Inputs)
	}
	if got := m.Named(t, "aws:cloudwatch/logGroup:LogGroup", "net-flow-logs").Get("retentionInDays"); got != float64(90) {
		t.Errorf("flow log retention %v", got)
	}
	trust := m.Named(t, "aws:iam/role:Role", "net-flow-logs").JSON(t, "assumeRolePolicy")
	if !strings.Contains(toString(trust), "vpc-flow-logs.amazonaws.com") {
		t.Errorf("flow log role trusts %v", trust)
	}
	policy := m.Named(t, "aws:iam/rolePolicy:RolePolicy", "net-flow-logs").Str("policy")
	if strings.Contains(policy, `"*"`) || !strings.Contains(policy, "logs:PutLogEvents") || !strings.Contains(policy, "loggroup/net-flow-logs") {
		t.Errorf("flow log policy %s", policy)
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A peered workload VPC: the peering, a route there from every private
// table, and a route back from each of the peer's tables.
func TestPeering(t *testing.T) {
	a := baseArgs()
	a.Peers = []Peer{{Name: "data", VpcID: "vpc-peer", Cidr: netip.MustParsePrefix("10.60.0.0/16"), RouteTableIDs: []string{"rtb-a", "rtb-b"}}}
	m := run(t, a)
	pc := m.Named(t, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "net-peer-data")
	if pc.Str("peerVpcId") != "vpc-peer" || pc.Get("autoAccept") != true || pc.Tags()["promfed:stack"] != "dev" {
		t.Errorf("peering %v", pc.Inputs)
	}
	for _, rt := range []string{"rtb-a", "rtb-b"} {
		found := false
		for _, r := range m.OfType("aws:ec2/route:Route") {
			if r.Str("routeTableId") == rt && r.Str("destinationCidrBlock") == "10.40.0.0/16" && r.Str("vpcPeeringConnectionId") == "net-peer-data-id" {
				found = true
			}
		}
		if !found {
			t.Errorf("no route back from %s", rt)
		}
	}
	for _, rt := range m.OfType("aws:ec2/routeTable:RouteTable") {
		if !strings.Contains(rt.Name, "private") {
			if strings.Contains(jsonOf(rt.Get("routes")), "10.60.0.0/16") {
				t.Errorf("public table %s routes to the peer", rt.Name)
			}
			continue
		}
		if got := jsonOf(rt.Get("routes")); !strings.Contains(got, `{"cidrBlock":"10.60.0.0/16","vpcPeeringConnectionId":"net-peer-data-id"}`) || !strings.Contains(got, `"natGatewayId"`) {
			t.Errorf("private table %s routes %s", rt.Name, got)
		}
	}
	if len(m.OfType("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")) != 1 {
		t.Error("one peer, one peering")
	}
	if n := len(run(t, baseArgs()).OfType("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")); n != 0 {
		t.Errorf("no peers, yet %d peerings", n)
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// config counts the public ACL's fixed rules to refuse admin lists over the
// quota; the count must match the ACL built here.
func TestPublicACLBaseRulesMatchConfig(t *testing.T) {
	a := baseArgs()
	m := run(t, a)
	in := m.Named(t, "aws:ec2/networkAcl:NetworkAcl", "net-public").Get("ingress").([]any)
	if got := len(in) - len(a.AdminCidrs); got != config.PublicACLBaseRules {
		t.Errorf("the public ACL has %d fixed inbound rules, config.PublicACLBaseRules says %d", got, config.PublicACLBaseRules)
	}
}

// Another region's VPC keeps every private route a resource of its own, so
// a later peering can add its route back, and admits the home bastion's
// subnet on 22.
func TestRoutesApartAndSSHFrom(t *testing.T) {
	a := baseArgs()
	a.RoutesApart, a.SSHFrom = true, []netip.Prefix{netip.MustParsePrefix("10.40.0.0/24")}
	a.Peers = []Peer{{Name: "data", VpcID: "vpc-peer", Cidr: netip.MustParsePrefix("10.60.0.0/16"), RouteTableIDs: []string{"rtb-a"}}}
	var v *Vpc
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) (err error) {
		v, err = NewVpc(ctx, "net", &a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		rt := m.Named(t, "aws:ec2/routeTable:RouteTable", fmt.Sprintf("net-private-%d", i))
		if rt.Get("routes") != nil {
			t.Errorf("%s has inline routes %v", rt.Name, rt.Get("routes"))
		}
		nat := m.Named(t, "aws:ec2/route:Route", fmt.Sprintf("net-private-%d-to-default", i))
		peer := m.Named(t, "aws:ec2/route:Route", fmt.Sprintf("net-private-%d-to-10-60-0-0-16", i))
		if nat.Str("routeTableId") != rt.Name+"-id" || nat.Str("natGatewayId") != "net-nat-1-id" || nat.Str("destinationCidrBlock") != "0.0.0.0/0" ||
			peer.Str("routeTableId") != rt.Name+"-id" || peer.Str("vpcPeeringConnectionId") != "net-peer-data-id" {
			t.Errorf("table %d routes: %v %v", i, nat.Inputs, peer.Inputs)
		}
	}
	if len(v.PrivateRouteTableIDs) != 2 {
		t.Errorf("%d private route tables", len(v.PrivateRouteTableIDs))
	}
	acl := m.Named(t, "aws:ec2/networkAcl:NetworkAcl", "net-private")
	if got := jsonOf(acl.Get("ingress")); !strings.Contains(got, `{"action":"allow","cidrBlock":"10.40.0.0/24","fromPort":22,"protocol":"tcp","ruleNo":130,"toPort":22}`) {
		t.Errorf("private ACL ingress %s", got)
	}
	// Without it, every route stays inline, as it always was.
	if n := len(run(t, baseArgs()).OfType("aws:ec2/route:Route")); n != 0 {
		t.Errorf("%d route resources without RoutesApart", n)
	}
}

// The home VPC requests a peering to another region's VPC; that region's
// provider accepts it and routes back; routes here use the accepted one.
func TestRegionPeering(t *testing.T) {
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "us", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		a := baseArgs()
		a.Regions = []RegionPeer{{Region: "us-east-1", VpcID: pulumi.String("vpc-us"), Cidr: netip.MustParsePrefix("10.41.0.0/16"),
			RouteTableIDs: []pulumi.StringOutput{pulumi.String("rtb-us-1").ToStringOutput(), pulumi.String("rtb-us-2").ToStringOutput()}, Provider: p}}
		_, err = NewVpc(ctx, "net", &a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	conn := m.Named(t, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "net-to-us-east-1")
	if conn.Str("peerVpcId") != "vpc-us" || conn.Str("peerRegion") != "us-east-1" || conn.Get("autoAccept") != nil || m.Region(conn, "home") != "home" {
		t.Errorf("request %v", conn.Inputs)
	}
	acc := m.Named(t, "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter", "net-to-us-east-1-accept")
	if acc.Str("vpcPeeringConnectionId") != "net-to-us-east-1-id" || acc.Get("autoAccept") != true || m.Region(acc, "home") != "us-east-1" {
		t.Errorf("accepter %v in %s", acc.Inputs, m.Region(acc, "home"))
	}
	for i, rt := range []string{"rtb-us-1", "rtb-us-2"} {
		back := m.Named(t, "aws:ec2/route:Route", fmt.Sprintf("net-to-us-east-1-back-%d", i+1))
		if back.Str("routeTableId") != rt || back.Str("destinationCidrBlock") != "10.40.0.0/16" || m.Region(back, "home") != "us-east-1" ||
			back.Str("vpcPeeringConnectionId") != "net-to-us-east-1-id" {
			t.Errorf("route back %v in %s", back.Inputs, m.Region(back, "home"))
		}
	}
	// Every table here, the public one too: the bastion provisions the
	// hosts there.
	for _, name := range []string{"net-private-1", "net-private-2", "net-public"} {
		rt := m.Named(t, "aws:ec2/routeTable:RouteTable", name)
		if got := jsonOf(rt.Get("routes")); !strings.Contains(got, `{"cidrBlock":"10.41.0.0/16","vpcPeeringConnectionId":"net-to-us-east-1-id"}`) {
			t.Errorf("%s routes %s", rt.Name, got)
		}
	}
}
