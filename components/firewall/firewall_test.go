package firewall

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func run(t *testing.T, web []string) *testmocks.Mocks {
	t.Helper()
	var sources []netip.Prefix
	for _, w := range web {
		sources = append(sources, netip.MustParsePrefix(w))
	}
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewFirewall(ctx, "fw", &Args{
			VpcID:      pulumi.String("vpc-1"),
			AdminCidrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.10/32")},
			WebSources: sources, ProbeSources: []pulumi.StringOutput{pulumi.String("192.0.2.50").ToStringOutput()},
			Tags: map[string]string{"promfed:stack": "dev"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type rule struct{ group, source string }

// ingress maps port -> the groups and sources admitted to it.
func ingress(m *testmocks.Mocks) map[float64][]rule {
	out := map[float64][]rule{}
	groupOf := func(id string) string { return strings.TrimSuffix(strings.TrimPrefix(id, "fw-"), "-id") }
	for _, r := range m.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		src := r.Str("cidrIpv4") + r.Str("cidrIpv6")
		if src == "" {
			src = "sg:" + groupOf(r.Str("referencedSecurityGroupId"))
		}
		port := r.Get("fromPort").(float64)
		if r.Get("toPort").(float64) != port {
			out[-1] = append(out[-1], rule{r.Name, "port range"})
		}
		out[port] = append(out[port], rule{groupOf(r.Str("securityGroupId")), src})
	}
	return out
}

func TestExposure(t *testing.T) {
	m := run(t, []string{"198.51.100.0/24", "2001:db8::/32"})
	in := ingress(m)
	if len(in[-1]) > 0 {
		t.Fatalf("rules with port ranges: %v", in[-1])
	}
	want := map[float64][]rule{
		22:   {{"bastion", "203.0.113.10/32"}, {"members", "sg:bastion"}},
		80:   {{"alb", "198.51.100.0/24"}, {"alb", "2001:db8::/32"}},
		443:  {{"alb", "192.0.2.50/32"}, {"alb", "198.51.100.0/24"}, {"alb", "2001:db8::/32"}},
		9090: {{"primary", "sg:alb"}, {"primary", "sg:primary"}, {"secondary", "sg:primary"}},
		9093: {{"primary", "sg:primary"}}, // Alertmanager API: the replicas' Prometheus only
		9094: {{"primary", "sg:primary"}}, // Alertmanager gossip: the replicas only
		9092: {{"primary", "sg:alb"}},     // the readiness responder, for the health check only
		9100: {{"members", "sg:members"}},
	}
	if len(in) != len(want) {
		t.Errorf("ports opened: %v", in)
	}
	for port, rules := range want {
		got := in[port]
		sort.Slice(got, func(i, j int) bool { return got[i].group+got[i].source < got[j].group+got[j].source })
		if len(got) != len(rules) {
			t.Errorf("port %v: got %v, want %v", port, got, rules)
			continue
		}
		for i := range rules {
			if got[i] != rules[i] {
				t.Errorf("port %v: got %v, want %v", port, got, rules)
			}
		}
	}
	for _, r := range m.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if strings.Contains(r.Name, "::") {
			t.Errorf("rule name %q would break the URN", r.Name)
		}
	}
}

// Alertmanager's API and gossip leave a primary only towards the primaries.
func TestAlertmanagerTrafficStaysBetweenPrimaries(t *testing.T) {
	m := run(t, []string{"198.51.100.0/24"})
	var got []string
	for _, r := range m.OfType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
		if p := r.Get("fromPort"); p == float64(9093) || p == float64(9094) {
			got = append(got, fmt.Sprintf("%s->%s%s:%v/%s", r.Str("securityGroupId"), r.Str("referencedSecurityGroupId"), r.Str("cidrIpv4"), p, r.Str("ipProtocol")))
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "fw-primary-id->fw-primary-id:9093/tcp,fw-primary-id->fw-primary-id:9094/tcp" {
		t.Fatalf("Alertmanager egress: %v", got)
	}
}

func TestAlbSendsOnlyToPrimary(t *testing.T) {
	m := run(t, []string{"0.0.0.0/0"})
	var albOut []string
	for _, r := range m.OfType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
		if r.Str("securityGroupId") == "fw-alb-id" {
			albOut = append(albOut, fmt.Sprintf("%s%s:%v", r.Str("referencedSecurityGroupId"), r.Str("cidrIpv4"), r.Get("fromPort")))
		}
	}
	sort.Strings(albOut)
	if strings.Join(albOut, ",") != "fw-primary-id:9090,fw-primary-id:9092" {
		t.Fatalf("ALB egress goes to %v", albOut)
	}
	for _, sg := range m.OfType("aws:ec2/securityGroup:SecurityGroup") {
		if sg.Get("ingress") != nil || sg.Get("egress") != nil {
			t.Errorf("group %s has inline rules", sg.Name)
		}
		if sg.Tags()["promfed:stack"] != "dev" {
			t.Errorf("group %s tags %v", sg.Name, sg.Tags())
		}
	}
}

// Each shard gets a scraper group on its secondaries and a targets group
// for its workloads: targets admit the scraper on the scrape ports only;
// a peered shard's targets group lives in the peer VPC, after the peering.
func TestShardGroups(t *testing.T) {
	var peering pulumi.Resource
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		var err error
		peering, err = NewFirewall(ctx, "peering-stand-in", &Args{VpcID: pulumi.String("vpc-0")})
		if err != nil {
			return err
		}
		_, err = NewFirewall(ctx, "fw", &Args{
			VpcID: pulumi.String("vpc-1"), AdminCidrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.10/32")},
			Shards: []ShardArgs{
				{Name: "apps", Ports: []int{9100, 9256}, ProbePorts: []int{5432}},
				{Name: "data", Ports: []int{9187}, Peer: &PeerArgs{VpcID: "vpc-peer", Cidr: netip.MustParsePrefix("10.60.0.0/16"), Peering: peering}},
			},
			Tags: map[string]string{"promfed:stack": "dev"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	in := ingress(m)
	for port, want := range map[float64]string{9100: "shard-apps-targets<-sg:shard-apps-scraper", 9256: "shard-apps-targets<-sg:shard-apps-scraper", 9187: "shard-data-targets<-sg:shard-data-scraper"} {
		var got []string
		for _, r := range in[port] {
			if strings.HasPrefix(r.group, "shard-") {
				got = append(got, r.group+"<-"+r.source)
			}
		}
		if strings.Join(got, ",") != want {
			t.Errorf("port %v admits %v, want %s", port, got, want)
		}
	}
	var egress []string
	for _, r := range m.OfType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
		if strings.Contains(r.Name, "shard-") {
			to := r.Str("cidrIpv4")
			if to == "" {
				to = strings.TrimSuffix(strings.TrimPrefix(r.Str("referencedSecurityGroupId"), "fw-"), "-id")
			}
			egress = append(egress, strings.TrimPrefix(r.Name, "fw-")+"->"+to)
		}
	}
	sort.Strings(egress)
	if got := strings.Join(egress, " "); got != "shard-apps-scraper-out-probe-5432-0.0.0.0-0->0.0.0.0/0 shard-apps-scraper-out-scrape-9100->shard-apps-targets shard-apps-scraper-out-scrape-9256->shard-apps-targets "+
		"shard-data-scraper-out-scrape-9187-10.60.0.0-16->10.60.0.0/16 shard-data-scraper-out-scrape-9187->shard-data-targets" {
		t.Errorf("scraper egress: %s", got)
	}
	apps := m.Named(t, "aws:ec2/securityGroup:SecurityGroup", "fw-shard-apps-targets")
	data := m.Named(t, "aws:ec2/securityGroup:SecurityGroup", "fw-shard-data-targets")
	if apps.Str("vpcId") != "vpc-1" || data.Str("vpcId") != "vpc-peer" {
		t.Errorf("targets groups in %s and %s", apps.Str("vpcId"), data.Str("vpcId"))
	}
	dependsOnPeering := false
	for _, d := range data.Dependencies {
		dependsOnPeering = dependsOnPeering || strings.Contains(d, "peering-stand-in")
	}
	if !dependsOnPeering || data.Tags()["promfed:stack"] != "dev" {
		t.Errorf("the peer targets group: deps %v tags %v", data.Dependencies, data.Tags())
	}
}

// Another region's groups name home CIDRs, the narrowest that hold the
// bastion and the primaries; the watcher's scrape out only where it runs.
func TestRegionFirewall(t *testing.T) {
	for _, watcher := range []bool{false, true} {
		m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
			_, err := NewRegionFirewall(ctx, "fw-us", &RegionFirewallArgs{
				VpcID: pulumi.String("vpc-us"), Bastion: netip.MustParsePrefix("10.40.0.0/24"),
				Primaries: []netip.Prefix{netip.MustParsePrefix("10.40.128.0/24"), netip.MustParsePrefix("10.40.129.0/24")},
				Watcher:   watcher, Shards: []ShardArgs{{Name: "us", Ports: []int{9100}}}, Tags: map[string]string{"promfed:stack": "dev"},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var in, out []string
		for _, r := range m.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
			in = append(in, fmt.Sprintf("%s %v %s%s", r.Str("securityGroupId"), r.Get("fromPort"), r.Str("cidrIpv4"), r.Str("referencedSecurityGroupId")))
		}
		for _, r := range m.OfType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
			out = append(out, fmt.Sprintf("%s %v %s%s", r.Str("securityGroupId"), r.Get("fromPort"), r.Str("cidrIpv4"), r.Str("referencedSecurityGroupId")))
		}
		sort.Strings(in)
		sort.Strings(out)
		wantIn := "fw-us-members-id 22 10.40.0.0/24,fw-us-secondary-id 9090 10.40.128.0/24,fw-us-secondary-id 9090 10.40.129.0/24,fw-us-shard-us-targets-id 9100 fw-us-shard-us-scraper-id"
		wantOut := "fw-us-members-id 443 0.0.0.0/0,fw-us-members-id 80 0.0.0.0/0,fw-us-shard-us-scraper-id 9100 fw-us-shard-us-targets-id"
		if watcher {
			wantOut = "fw-us-members-id 443 0.0.0.0/0,fw-us-members-id 80 0.0.0.0/0,fw-us-members-id 9100 10.40.128.0/24,fw-us-members-id 9100 10.40.129.0/24,fw-us-shard-us-scraper-id 9100 fw-us-shard-us-targets-id"
		}
		if got := strings.Join(in, ","); got != wantIn {
			t.Errorf("watcher %v: ingress\n%s\nwant\n%s", watcher, got, wantIn)
		}
		if got := strings.Join(out, ","); got != wantOut {
			t.Errorf("watcher %v: egress\n%s\nwant\n%s", watcher, got, wantOut)
		}
		if g := m.Named(t, "aws:ec2/securityGroup:SecurityGroup", "fw-us-members"); g.Str("vpcId") != "vpc-us" || g.Tags()["Name"] != "fw-us-members" {
			t.Errorf("members group %v", g.Inputs)
		}
	}
	_, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewRegionFirewall(ctx, "fw-us", &RegionFirewallArgs{VpcID: pulumi.String("vpc-us")})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "region firewall fw-us: arguments with the home bastion and primary subnets are required") {
		t.Errorf("err = %v", err)
	}
}
