// Package firewall provides the Firewall component: every security group of
// the stack and every rule between them, in one place, so a review of what
// can reach what reads one file.
//
//	internet/Cloudflare --443,80--> alb --9090--> primary
//	admins --22--> bastion --22--> prometheus hosts
//	primary --9090--> secondaries; prometheus hosts --9100--> prometheus hosts
//	primary <--9090,9093,9094--> primary (replicas watch each other; Alertmanager cluster)
package firewall

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/tagging"
)

// Ports used between the tiers, from the shared contract.
const (
	PortPrometheus   = contract.PortPrometheus
	PortNodeExporter = contract.PortNodeExporter
	PortSSH          = contract.PortSSH
	PortReadiness    = contract.PortReadiness
	PortAlertmanager = contract.PortAlertmanager
	PortGossip       = contract.PortAlertmanagerCluster
)

// Args configures the security groups.
type Args struct {
	VpcID pulumi.StringInput
	// AdminCidrs may SSH to the bastion.
	AdminCidrs []netip.Prefix
	// WebSources may reach the ALB on 443 and 80: Cloudflare's ranges when
	// the edge is on, the configured allowedCidrs otherwise.
	WebSources []netip.Prefix
	// ProbeSources are single addresses (the NAT gateways) that may also
	// reach the ALB on 443, so a secondary can probe the public endpoint.
	ProbeSources []pulumi.StringOutput
	// Shards get a pair of groups each: one on the shard's secondaries and
	// one the user attaches to the shard's workloads. Shards of other
	// regions are in their RegionFirewall.
	Shards []ShardArgs
	// Regions are the stack's peered VPCs in other regions: security
	// groups cannot refer to groups across regions, so the rules to and
	// from them name their CIDRs.
	Regions []RegionArgs
	Tags    map[string]string
}

// RegionArgs is another region's VPC, seen from the home VPC.
type RegionArgs struct {
	Region string
	Cidr   netip.Prefix
	// Watcher: the secondary that watches the primaries' node_exporter
	// (config.FirstOfRole) runs there.
	Watcher bool
}

// ShardArgs describes how a shard's secondaries reach its workloads.
type ShardArgs struct {
	Name  string
	Ports []int // scrape ports
	// ProbePorts are ports other than 80/443 that the shard's probes reach
	// on any address (tcp_connect and tls_connect targets, URLs with a port).
	ProbePorts []int
	// Peer, when set, is the peered workload VPC: the targets group is
	// created there, and the secondaries may also reach its CIDR.
	Peer *PeerArgs
}

// PeerArgs is a peered workload VPC.
type PeerArgs struct {
	VpcID string
	Cidr  netip.Prefix
	// Peering is the peering connection: a group in the peer VPC can refer
	// to this VPC's groups only once it is active.
	Peering pulumi.Resource
}

// ShardGroups are a shard's security groups.
type ShardGroups struct {
	Name string
	// Scraper goes on the shard's secondaries.
	Scraper pulumi.IDOutput
	// Targets is what users attach to the shard's workloads: it admits the
	// shard's secondaries on the scrape ports and nothing else.
	Targets pulumi.IDOutput
}

// Firewall holds the security group ids each tier attaches.
type Firewall struct {
	pulumi.ResourceState

	AlbSG       pulumi.IDOutput
	BastionSG   pulumi.IDOutput
	MembersSG   pulumi.IDOutput // every Prometheus host
	PrimarySG   pulumi.IDOutput
	SecondarySG pulumi.IDOutput
	// Shards follow Args.Shards, in order.
	Shards []ShardGroups
}

// NewFirewall creates the groups and their rules.
func NewFirewall(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Firewall, error) {
	f := &Firewall{}
	if err := ctx.RegisterComponentResource("promfed:firewall:Firewall", name, f, opts...); err != nil {
		return nil, err
	}
	r := &rules{ctx: ctx, name: name, parent: pulumi.Parent(f), tags: args.Tags, roles: map[*ec2.SecurityGroup]string{}}
	g, err := r.groups(args.VpcID,
		"alb", "promfed load balancer: HTTPS from allowed sources, to the primary only",
		"bastion", "promfed bastion: SSH from admin CIDRs, to Prometheus hosts only",
		"members", "promfed Prometheus hosts: node_exporter among members, SSH from the bastion",
		"primary", "promfed primary: Prometheus from the load balancer",
		"secondary", "promfed secondaries: Prometheus from the primary")
	if err != nil {
		return nil, err
	}
	alb, bastion, members, primary, secondary := g[0], g[1], g[2], g[3], g[4]
	for _, src := range args.WebSources {
		r.inCidr(alb, "https", 443, src)
		r.inCidr(alb, "http", 80, src) // only ever answered with a redirect to HTTPS
	}
	for i, ip := range args.ProbeSources {
		r.inAddress(alb, fmt.Sprintf("https-probe-%d", i+1), 443, ip)
	}
	r.outSG(alb, "to-primary", PortPrometheus, primary)
	r.inSG(primary, "from-alb", PortPrometheus, alb)
	// The health check's readiness responder: the ALB only.
	r.outSG(alb, "to-primary-readiness", PortReadiness, primary)
	r.inSG(primary, "from-alb-readiness", PortReadiness, alb)

	for _, src := range args.AdminCidrs {
		r.inCidr(bastion, "ssh", PortSSH, src)
	}
	r.outSG(bastion, "ssh-to-members", PortSSH, members)
	r.inSG(members, "ssh-from-bastion", PortSSH, bastion)

	r.inSG(members, "node-exporter", PortNodeExporter, members)
	r.outSG(members, "node-exporter", PortNodeExporter, members)
	r.outSG(members, "prometheus", PortPrometheus, members)
	r.inSG(secondary, "from-primary", PortPrometheus, primary)
	// Primary replicas scrape each other, send alerts to every Alertmanager
	// and gossip as one Alertmanager cluster (over TLS): between primaries
	// only, never from a secondary or the load balancer.
	r.inSG(primary, "from-primary", PortPrometheus, primary)
	r.inSG(primary, "alertmanager", PortAlertmanager, primary)
	r.outSG(primary, "alertmanager", PortAlertmanager, primary)
	r.inSG(primary, "alertmanager-gossip", PortGossip, primary)
	r.outSG(primary, "alertmanager-gossip", PortGossip, primary)
	// Package mirrors, SSM and the EC2 API (service discovery) over NAT.
	r.outWeb(members)
	// The bastion: SSM (its host key) over HTTPS, and its own security
	// updates from the same mirrors.
	r.outWeb(bastion)
	// Other regions: the bastion provisions their hosts, the primaries
	// federate them, and their watcher scrapes the primaries.
	for _, reg := range args.Regions {
		r.outCidr(bastion, "ssh-"+reg.Region, PortSSH, reg.Cidr)
		r.outCidr(primary, "federate-"+reg.Region, PortPrometheus, reg.Cidr)
		if reg.Watcher {
			r.inCidr(primary, "node-exporter-"+reg.Region, PortNodeExporter, reg.Cidr)
		}
	}
	shards, outputs, err := r.shardGroups(args.VpcID, args.Shards)
	if err != nil {
		return nil, err
	}
	f.Shards = shards

	f.AlbSG, f.BastionSG, f.MembersSG, f.PrimarySG, f.SecondarySG = alb.ID(), bastion.ID(), members.ID(), primary.ID(), secondary.ID()
	for k, v := range map[string]pulumi.IDOutput{
		"albSecurityGroupId": f.AlbSG, "bastionSecurityGroupId": f.BastionSG, "membersSecurityGroupId": f.MembersSG,
		"primarySecurityGroupId": f.PrimarySG, "secondarySecurityGroupId": f.SecondarySG,
	} {
		outputs[k] = v
	}
	return f, ctx.RegisterResourceOutputs(f, outputs)
}

// RegionFirewallArgs configures the groups of a VPC in another region.
type RegionFirewallArgs struct {
	VpcID pulumi.StringInput
	// Bastion is the home subnet the bastion runs in: it may SSH here.
	Bastion netip.Prefix
	// Primaries are the home subnets the primaries run in: they may
	// federate the secondaries here.
	Primaries []netip.Prefix
	// Watcher: the secondary that scrapes the primaries' node_exporter
	// runs in this region.
	Watcher bool
	// Shards are the shards that run in this region.
	Shards []ShardArgs
	Tags   map[string]string
}

// RegionFirewall holds the groups of another region's secondaries.
type RegionFirewall struct {
	pulumi.ResourceState

	MembersSG   pulumi.IDOutput
	SecondarySG pulumi.IDOutput
	// Shards follow RegionFirewallArgs.Shards, in order.
	Shards []ShardGroups
}

// NewRegionFirewall creates the groups of a VPC in another region. The
// home VPC is reached over a peering, where groups cannot refer to each
// other: rules name the home subnets instead, the narrowest CIDRs that
// hold the bastion and the primaries.
func NewRegionFirewall(ctx *pulumi.Context, name string, args *RegionFirewallArgs, opts ...pulumi.ResourceOption) (*RegionFirewall, error) {
	if args == nil || !args.Bastion.IsValid() || len(args.Primaries) == 0 {
		return nil, fmt.Errorf("region firewall %s: arguments with the home bastion and primary subnets are required", name)
	}
	f := &RegionFirewall{}
	if err := ctx.RegisterComponentResource("promfed:firewall:RegionFirewall", name, f, opts...); err != nil {
		return nil, err
	}
	r := &rules{ctx: ctx, name: name, parent: pulumi.Parent(f), tags: args.Tags, roles: map[*ec2.SecurityGroup]string{}}
	g, err := r.groups(args.VpcID,
		"members", "promfed Prometheus hosts of a peered region: SSH from the home bastion",
		"secondary", "promfed secondaries of a peered region: Prometheus from the home primaries")
	if err != nil {
		return nil, err
	}
	members, secondary := g[0], g[1]
	r.inCidr(members, "ssh-from-bastion", PortSSH, args.Bastion)
	for _, p := range args.Primaries {
		r.inCidr(secondary, "from-primary", PortPrometheus, p)
		if args.Watcher {
			r.outCidr(members, "node-exporter-primary", PortNodeExporter, p)
		}
	}
	r.outWeb(members)
	shards, outputs, err := r.shardGroups(args.VpcID, args.Shards)
	if err != nil {
		return nil, err
	}
	f.Shards = shards
	f.MembersSG, f.SecondarySG = members.ID(), secondary.ID()
	outputs["membersSecurityGroupId"], outputs["secondarySecurityGroupId"] = f.MembersSG, f.SecondarySG
	return f, ctx.RegisterResourceOutputs(f, outputs)
}

// newShardGroups creates a shard's scraper and targets groups: the
// secondaries may open connections to the targets group on the scrape
// ports only, and the targets group admits exactly that.
func newShardGroups(ctx *pulumi.Context, name string, vpcID pulumi.StringInput, sh ShardArgs, r *rules) (ShardGroups, error) {
	base := fmt.Sprintf("shard-%s", sh.Name)
	scraper, err := ec2.NewSecurityGroup(ctx, name+"-"+base+"-scraper", &ec2.SecurityGroupArgs{
		VpcId:       vpcID,
		Description: pulumi.Sprintf("promfed shard %s secondaries: scrape the shard's targets", sh.Name),
		Tags:        tagging.Named(r.tags, name+"-"+base+"-scraper"),
	}, r.parent)
	if err != nil {
		return ShardGroups{}, err
	}
	targetsVpc, opts := vpcID, []pulumi.ResourceOption{r.parent}
	if sh.Peer != nil {
		targetsVpc = pulumi.String(sh.Peer.VpcID)
		opts = append(opts, pulumi.DependsOn([]pulumi.Resource{sh.Peer.Peering}))
	}
	targets, err := ec2.NewSecurityGroup(ctx, name+"-"+base+"-targets", &ec2.SecurityGroupArgs{
		VpcId:       targetsVpc,
		Description: pulumi.Sprintf("promfed shard %s targets: attach to workloads the shard scrapes", sh.Name),
		Tags:        tagging.Named(r.tags, name+"-"+base+"-targets"),
	}, opts...)
	if err != nil {
		return ShardGroups{}, err
	}
	r.roles[scraper], r.roles[targets] = base+"-scraper", base+"-targets"
	for _, port := range sh.Ports {
		what := fmt.Sprintf("scrape-%d", port)
		r.outSG(scraper, what, port, targets)
		r.inSG(targets, what, port, scraper)
		if sh.Peer != nil {
			r.outCidr(scraper, what, port, sh.Peer.Cidr)
		}
	}
	// Probes check endpoints anywhere; only the outbound port is known.
	for _, port := range sh.ProbePorts {
		r.outCidr(scraper, fmt.Sprintf("probe-%d", port), port, netip.MustParsePrefix("0.0.0.0/0"))
	}
	return ShardGroups{Name: sh.Name, Scraper: scraper.ID(), Targets: targets.ID()}, r.err
}

// rules creates one rule resource per call and keeps the first error.
// Rule names read "<firewall>-<group>-<in|out>-<what>[-<cidr>]".
type rules struct {
	ctx    *pulumi.Context
	name   string
	parent pulumi.ResourceOption
	tags   map[string]string
	roles  map[*ec2.SecurityGroup]string
	err    error
}

func (r *rules) role(sg *ec2.SecurityGroup) string { return r.roles[sg] }

// groups creates the groups <name>-<role> of (role, description) pairs, in
// order, and names them for the rules. Rules are separate resources, so a
// group never carries inline rules that would fight them.
func (r *rules) groups(vpcID pulumi.StringInput, pairs ...string) ([]*ec2.SecurityGroup, error) {
	var out []*ec2.SecurityGroup
	for i := 0; i+1 < len(pairs); i += 2 {
		role, desc := pairs[i], pairs[i+1]
		sg, err := ec2.NewSecurityGroup(r.ctx, r.name+"-"+role, &ec2.SecurityGroupArgs{
			VpcId: vpcID, Description: pulumi.String(desc), Tags: tagging.Named(r.tags, r.name+"-"+role),
		}, r.parent)
		if err != nil {
			return nil, err
		}
		r.roles[sg] = role
		out = append(out, sg)
	}
	return out, nil
}

// add creates one single-port TCP rule on sg, in or out, to or from a CIDR
// or a peer group. Ingress and egress rules are distinct AWS types with the
// same fields.
func (r *rules) add(dir string, sg *ec2.SecurityGroup, what string, port int, cidr *netip.Prefix, peer *ec2.SecurityGroup) {
	if r.err != nil {
		return
	}
	n := fmt.Sprintf("%s-%s-%s-%s", r.name, r.role(sg), dir, what)
	var v4, v6, ref pulumi.StringPtrInput
	if cidr != nil {
		n += "-" + safeName.Replace(cidr.String())
		v4, v6 = cidrArgs(*cidr)
	} else {
		ref = peer.ID()
	}
	proto, from, to, desc, tags := pulumi.String("tcp"), pulumi.Int(port), pulumi.Int(port), pulumi.String(what), tagging.Named(r.tags, n)
	if dir == "in" {
		_, r.err = vpc.NewSecurityGroupIngressRule(r.ctx, n, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: sg.ID(), IpProtocol: proto, FromPort: from, ToPort: to, Description: desc, Tags: tags,
			CidrIpv4: v4, CidrIpv6: v6, ReferencedSecurityGroupId: ref,
		}, r.parent)
		return
	}
	_, r.err = vpc.NewSecurityGroupEgressRule(r.ctx, n, &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: sg.ID(), IpProtocol: proto, FromPort: from, ToPort: to, Description: desc, Tags: tags,
		CidrIpv4: v4, CidrIpv6: v6, ReferencedSecurityGroupId: ref,
	}, r.parent)
}

// inAddress admits one IPv4 address known only at deploy time.
func (r *rules) inAddress(sg *ec2.SecurityGroup, what string, port int, ip pulumi.StringOutput) {
	if r.err != nil {
		return
	}
	n := fmt.Sprintf("%s-%s-in-%s", r.name, r.role(sg), what)
	_, r.err = vpc.NewSecurityGroupIngressRule(r.ctx, n, &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId: sg.ID(), IpProtocol: pulumi.String("tcp"), FromPort: pulumi.Int(port), ToPort: pulumi.Int(port),
		Description: pulumi.String(what), CidrIpv4: pulumi.Sprintf("%s/32", ip), Tags: tagging.Named(r.tags, n),
	}, r.parent)
}

func (r *rules) inCidr(sg *ec2.SecurityGroup, what string, port int, p netip.Prefix) {
	r.add("in", sg, what, port, &p, nil)
}
func (r *rules) inSG(sg *ec2.SecurityGroup, what string, port int, from *ec2.SecurityGroup) {
	r.add("in", sg, what, port, nil, from)
}
func (r *rules) outCidr(sg *ec2.SecurityGroup, what string, port int, p netip.Prefix) {
	r.add("out", sg, what, port, &p, nil)
}
func (r *rules) outSG(sg *ec2.SecurityGroup, what string, port int, to *ec2.SecurityGroup) {
	r.add("out", sg, what, port, nil, to)
}

// outWeb lets sg out to HTTPS and HTTP anywhere: SSM, the EC2 API and
// package mirrors (Debian's serve signed packages over HTTP).
func (r *rules) outWeb(sg *ec2.SecurityGroup) {
	anyV4 := netip.MustParsePrefix("0.0.0.0/0")
	r.outCidr(sg, "https", 443, anyV4)
	r.outCidr(sg, "http", 80, anyV4)
}

// shardGroups creates every shard's groups (after the other rules, whose
// first error it returns) and their outputs.
func (r *rules) shardGroups(vpcID pulumi.StringInput, shards []ShardArgs) ([]ShardGroups, pulumi.Map, error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	var out []ShardGroups
	outputs := pulumi.Map{}
	for _, sh := range shards {
		g, err := newShardGroups(r.ctx, r.name, vpcID, sh, r)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, g)
		outputs["shard-"+sh.Name+"-targets"] = g.Targets
	}
	return out, outputs, nil
}

// safeName keeps CIDRs usable in resource names: "::" would break the URN.
var safeName = strings.NewReplacer(":", "-", "/", "-")

func cidrArgs(p netip.Prefix) (v4, v6 pulumi.StringPtrInput) {
	if p.Addr().Is4() {
		return pulumi.String(p.String()), nil
	}
	return nil, pulumi.String(p.String())
}
