// Package network provides the Vpc component: public and private subnets
// across availability zones, NAT, network ACLs, flow logs and an emptied
// default security group.
package network

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/iamrole"
	"github.com/promfed/promfed/internal/tagging"
)

// VpcArgs configures a Vpc.
type VpcArgs struct {
	Cidr netip.Prefix
	// AvailabilityZones are the zones to use, in order (resolved before
	// anything is registered); the i-th gets the i-th subnet pair.
	AvailabilityZones  []string
	SubnetPrefixLength int
	// LegacyLayout numbers the subnets as releases before the stable
	// layout did (SubnetPlan).
	LegacyLayout         bool
	NatStrategy          string // none | single | per-az
	FlowLogRetentionDays int
	// AdminCidrs may reach port 22 of the public subnets (the bastion).
	AdminCidrs []netip.Prefix
	// Peers are existing workload VPCs of the same account and region that
	// the private subnets reach through a peering connection.
	Peers []Peer
	// Regions are the stack's VPCs in other regions, peered with this one
	// (the home VPC) and routed both ways.
	Regions []RegionPeer
	// RoutesApart makes every private route a resource of its own instead
	// of inline in its table, so a peering made after this VPC can add
	// routes to it: set for a VPC in another region than the stack's.
	RoutesApart bool
	// SSHFrom are sources outside the VPC admitted on port 22 into the
	// private subnets (the home bastion, across a peering).
	SSHFrom []netip.Prefix
	// IAM is where the flow-log delivery role is created.
	IAM  iamrole.Scope
	Tags map[string]string
}

// Peer is a workload VPC to peer with.
type Peer struct {
	// Name names the peering's resources (the shard it serves).
	Name  string
	VpcID string
	Cidr  netip.Prefix
	// RouteTableIDs are the workload VPC's route tables that get a route
	// back to this VPC.
	RouteTableIDs []string
}

// RegionPeer is one of the stack's VPCs in another region.
type RegionPeer struct {
	Region string
	VpcID  pulumi.StringInput
	Cidr   netip.Prefix
	// RouteTableIDs are that VPC's private route tables (made with
	// RoutesApart): each gets a route back to this VPC.
	RouteTableIDs []pulumi.StringOutput
	// Provider is the AWS provider of that region: the peering is
	// accepted and the routes back are made there.
	Provider pulumi.ProviderResource
}

// Peering is a created peering connection.
type Peering struct {
	Name       string
	Connection *ec2.VpcPeeringConnection
}

// Vpc is the network every other component lives in.
type Vpc struct {
	pulumi.ResourceState

	VpcID     pulumi.StringOutput
	CidrBlock string
	// AvailabilityZones are the AZ names, one per public/private subnet pair.
	AvailabilityZones []string
	PublicSubnetIDs   pulumi.StringArrayOutput
	PrivateSubnetIDs  pulumi.StringArrayOutput
	// NatGatewayIDs is empty when NatStrategy is none.
	NatGatewayIDs pulumi.StringArrayOutput
	// NatPublicIPs are the addresses private hosts reach the internet from.
	NatPublicIPs []pulumi.StringOutput
	// Peerings follow VpcArgs.Peers, in order.
	Peerings []Peering
	// PrivateRouteTableIDs are the private subnets' route tables, in zone
	// order.
	PrivateRouteTableIDs []pulumi.StringOutput
}

// StandardZones lists the region's available standard zones, sorted by
// name. Local and Wavelength Zones (opt-in) are left out: their names sort
// before the standard ones ("eu-west-1-lux-1a" < "eu-west-1a"), so opting in
// to one would shift every zone's index and move every subnet. It is an
// invoke, not a resource: the program calls it before registering anything.
func StandardZones(ctx *pulumi.Context, opts ...pulumi.InvokeOption) ([]string, error) {
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State:   pulumi.StringRef("available"),
		Filters: []aws.GetAvailabilityZonesFilter{{Name: "opt-in-status", Values: []string{"opt-in-not-required"}}},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("list the availability zones: %w", err)
	}
	return zones.Names, nil
}

// NewVpc creates the network.
func NewVpc(ctx *pulumi.Context, name string, args *VpcArgs, opts ...pulumi.ResourceOption) (*Vpc, error) {
	if args == nil || len(args.AvailabilityZones) == 0 {
		return nil, fmt.Errorf("network %s: arguments with at least one availability zone are required", name)
	}
	azCount := len(args.AvailabilityZones)
	public, private, err := SubnetPlan(args.Cidr, azCount, args.SubnetPrefixLength, !args.LegacyLayout)
	if err != nil {
		return nil, err
	}
	v := &Vpc{CidrBlock: args.Cidr.String()}
	if err := ctx.RegisterComponentResource("promfed:network:Vpc", name, v, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(v)

	vpc, err := ec2.NewVpc(ctx, name, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(args.Cidr.String()),
		EnableDnsHostnames: pulumi.Bool(true), // the private hosted zone needs both
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               tagging.Named(args.Tags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	// Adopting the default security group with no rules empties it (EC2.2):
	// nothing can fall back to a permissive group by accident.
	if _, err := ec2.NewDefaultSecurityGroup(ctx, name+"-default-sg", &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  tagging.Named(args.Tags, name+"-default-unused"),
	}, parent); err != nil {
		return nil, err
	}
	igw, err := ec2.NewInternetGateway(ctx, name+"-igw", &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(), Tags: tagging.Named(args.Tags, name+"-igw"),
	}, parent)
	if err != nil {
		return nil, err
	}

	peerRoutes, err := newPeerings(ctx, name, v, vpc, args, parent)
	if err != nil {
		return nil, err
	}
	// The public subnets reach the other regions too: the bastion there
	// provisions their hosts.
	publicRoutes := ec2.RouteTableRouteArray{ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()}}
	for _, r := range peerRoutes {
		if r.region {
			publicRoutes = append(publicRoutes, r.args)
		}
	}
	publicRT, err := ec2.NewRouteTable(ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId:  vpc.ID(),
		Routes: publicRoutes,
		Tags:   tagging.Named(args.Tags, name+"-public"),
	}, parent)
	if err != nil {
		return nil, err
	}

	var publicIDs, privateIDs, natIDs pulumi.StringArray
	var publicSubnets []*ec2.Subnet
	for i, az := range args.AvailabilityZones {
		pub, err := ec2.NewSubnet(ctx, fmt.Sprintf("%s-public-%d", name, i+1), &ec2.SubnetArgs{
			VpcId: vpc.ID(), CidrBlock: pulumi.String(public[i].String()), AvailabilityZone: pulumi.String(az),
			// Even public subnets assign no public IPs (EC2.15): the ALB, NAT
			// gateways and the bastion's Elastic IP get theirs explicitly.
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                tagging.Named(args.Tags, fmt.Sprintf("%s-public-%s", name, az)),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-public-%d", name, i+1), &ec2.RouteTableAssociationArgs{
			SubnetId: pub.ID(), RouteTableId: publicRT.ID(),
		}, parent); err != nil {
			return nil, err
		}
		publicSubnets = append(publicSubnets, pub)
		publicIDs = append(publicIDs, pub.ID())
	}

	// NAT gateways: none, one in the first public subnet, or one per AZ.
	var nats []*ec2.NatGateway
	natCount := map[string]int{"none": 0, "single": 1, "per-az": azCount}[args.NatStrategy]
	for i := 0; i < natCount; i++ {
		eip, err := ec2.NewEip(ctx, fmt.Sprintf("%s-nat-%d", name, i+1), &ec2.EipArgs{
			Domain: pulumi.String("vpc"), Tags: tagging.Named(args.Tags, fmt.Sprintf("%s-nat-%d", name, i+1)),
		}, parent)
		if err != nil {
			return nil, err
		}
		nat, err := ec2.NewNatGateway(ctx, fmt.Sprintf("%s-nat-%d", name, i+1), &ec2.NatGatewayArgs{
			AllocationId: eip.ID(), SubnetId: publicSubnets[i].ID(),
			Tags: tagging.Named(args.Tags, fmt.Sprintf("%s-nat-%d", name, i+1)),
		}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
		if err != nil {
			return nil, err
		}
		nats = append(nats, nat)
		natIDs = append(natIDs, nat.ID())
		v.NatPublicIPs = append(v.NatPublicIPs, eip.PublicIp)
	}

	for i, az := range args.AvailabilityZones {
		priv, err := ec2.NewSubnet(ctx, fmt.Sprintf("%s-private-%d", name, i+1), &ec2.SubnetArgs{
			VpcId: vpc.ID(), CidrBlock: pulumi.String(private[i].String()), AvailabilityZone: pulumi.String(az),
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                tagging.Named(args.Tags, fmt.Sprintf("%s-private-%s", name, az)),
		}, parent)
		if err != nil {
			return nil, err
		}
		routes := slices.Clone(peerRoutes)
		if len(nats) > 0 {
			routes = append(routes, route{"default", ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), NatGatewayId: nats[i%len(nats)].ID()}, false})
		}
		rtName := fmt.Sprintf("%s-private-%d", name, i+1)
		var inline ec2.RouteTableRouteArray
		if !args.RoutesApart {
			for _, r := range routes {
				inline = append(inline, r.args)
			}
		}
		rt, err := ec2.NewRouteTable(ctx, rtName, &ec2.RouteTableArgs{
			VpcId: vpc.ID(), Routes: inline, Tags: tagging.Named(args.Tags, fmt.Sprintf("%s-private-%s", name, az)),
		}, parent)
		if err != nil {
			return nil, err
		}
		if args.RoutesApart {
			if err := routesApart(ctx, rtName, rt, routes, parent); err != nil {
				return nil, err
			}
		}
		v.PrivateRouteTableIDs = append(v.PrivateRouteTableIDs, rt.ID().ToStringOutput())
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-private-%d", name, i+1), &ec2.RouteTableAssociationArgs{
			SubnetId: priv.ID(), RouteTableId: rt.ID(),
		}, parent); err != nil {
			return nil, err
		}
		privateIDs = append(privateIDs, priv.ID())
	}

	if err := newACLs(ctx, name, vpc, args, publicIDs, privateIDs, parent); err != nil {
		return nil, err
	}
	if err := newFlowLogs(ctx, name, vpc, args, parent); err != nil {
		return nil, err
	}

	v.AvailabilityZones = args.AvailabilityZones
	v.VpcID = vpc.ID().ToStringOutput()
	v.PublicSubnetIDs = publicIDs.ToStringArrayOutput()
	v.PrivateSubnetIDs = privateIDs.ToStringArrayOutput()
	v.NatGatewayIDs = natIDs.ToStringArrayOutput()
	return v, ctx.RegisterResourceOutputs(v, pulumi.Map{
		"vpcId": v.VpcID, "publicSubnetIds": v.PublicSubnetIDs, "privateSubnetIds": v.PrivateSubnetIDs,
	})
}

// route is a route of a private table, with the name its resource gets
// when routes are kept apart; region marks a route to another region's VPC.
type route struct {
	dest   string
	args   ec2.RouteTableRouteArgs
	region bool
}

// routesApart makes each route a resource of its own, named after its
// destination.
func routesApart(ctx *pulumi.Context, name string, rt *ec2.RouteTable, routes []route, parent pulumi.ResourceOption) error {
	for _, r := range routes {
		if _, err := ec2.NewRoute(ctx, name+"-to-"+r.dest, &ec2.RouteArgs{
			RouteTableId: rt.ID(), DestinationCidrBlock: r.args.CidrBlock, NatGatewayId: r.args.NatGatewayId, VpcPeeringConnectionId: r.args.VpcPeeringConnectionId,
		}, parent); err != nil {
			return err
		}
	}
	return nil
}

// newPeerings peers the VPC with each workload VPC (same account and region,
// so the request is accepted at once) and with each other region's VPC,
// routes their tables back here, and returns the routes the private route
// tables need (and the public ones, for the other regions). Those stay
// inline in the tables, like the NAT route, so one resource owns each
// table, unless RoutesApart.
func newPeerings(ctx *pulumi.Context, name string, v *Vpc, vpc *ec2.Vpc, args *VpcArgs, parent pulumi.ResourceOption) ([]route, error) {
	var routes []route
	for _, p := range args.Peers {
		n := fmt.Sprintf("%s-peer-%s", name, p.Name)
		conn, err := ec2.NewVpcPeeringConnection(ctx, n, &ec2.VpcPeeringConnectionArgs{
			VpcId: vpc.ID(), PeerVpcId: pulumi.String(p.VpcID), AutoAccept: pulumi.Bool(true),
			Tags: tagging.Named(args.Tags, n),
		}, parent)
		if err != nil {
			return nil, err
		}
		for i, rt := range p.RouteTableIDs {
			if _, err := ec2.NewRoute(ctx, fmt.Sprintf("%s-back-%d", n, i+1), &ec2.RouteArgs{
				RouteTableId: pulumi.String(rt), DestinationCidrBlock: pulumi.String(args.Cidr.String()), VpcPeeringConnectionId: conn.ID(),
			}, parent); err != nil {
				return nil, err
			}
		}
		routes = append(routes, route{safeCidr(p.Cidr), ec2.RouteTableRouteArgs{CidrBlock: pulumi.String(p.Cidr.String()), VpcPeeringConnectionId: conn.ID()}, false})
		v.Peerings = append(v.Peerings, Peering{Name: p.Name, Connection: conn})
	}
	for _, r := range args.Regions {
		// Across regions the request cannot accept itself: the other
		// region's provider accepts it, and routes (both ways) use the
		// accepted connection, so none points at a pending one.
		n := fmt.Sprintf("%s-to-%s", name, r.Region)
		conn, err := ec2.NewVpcPeeringConnection(ctx, n, &ec2.VpcPeeringConnectionArgs{
			VpcId: vpc.ID(), PeerVpcId: r.VpcID, PeerRegion: pulumi.String(r.Region),
			Tags: tagging.Named(args.Tags, n),
		}, parent)
		if err != nil {
			return nil, err
		}
		there := pulumi.Provider(r.Provider)
		accepted, err := ec2.NewVpcPeeringConnectionAccepter(ctx, n+"-accept", &ec2.VpcPeeringConnectionAccepterArgs{
			VpcPeeringConnectionId: conn.ID(), AutoAccept: pulumi.Bool(true), Tags: tagging.Named(args.Tags, n),
		}, parent, there)
		if err != nil {
			return nil, err
		}
		for i, rt := range r.RouteTableIDs {
			if _, err := ec2.NewRoute(ctx, fmt.Sprintf("%s-back-%d", n, i+1), &ec2.RouteArgs{
				RouteTableId: rt, DestinationCidrBlock: pulumi.String(args.Cidr.String()), VpcPeeringConnectionId: accepted.VpcPeeringConnectionId,
			}, parent, there); err != nil {
				return nil, err
			}
		}
		routes = append(routes, route{safeCidr(r.Cidr), ec2.RouteTableRouteArgs{CidrBlock: pulumi.String(r.Cidr.String()), VpcPeeringConnectionId: accepted.VpcPeeringConnectionId}, true})
	}
	return routes, nil
}

// safeCidr is a CIDR as a resource name's part: 10.60.0.0/16 -> 10-60-0-0-16.
func safeCidr(p netip.Prefix) string {
	return strings.NewReplacer(".", "-", "/", "-").Replace(p.String())
}

// newACLs adds a stateless second layer under the security groups: the
// public subnets take web traffic, SSH from admins and return traffic; the
// private subnets take traffic from inside the VPC and return traffic.
func newACLs(ctx *pulumi.Context, name string, vpc *ec2.Vpc, args *VpcArgs, publicIDs, privateIDs pulumi.StringArray, parent pulumi.ResourceOption) error {
	rule := func(no int, proto string, from, to int, cidr netip.Prefix) ec2.NetworkAclIngressArgs {
		r := ec2.NetworkAclIngressArgs{RuleNo: pulumi.Int(no), Action: pulumi.String("allow"), Protocol: pulumi.String(proto), FromPort: pulumi.Int(from), ToPort: pulumi.Int(to)}
		if cidr.Addr().Is4() {
			r.CidrBlock = pulumi.String(cidr.String())
		} else {
			r.Ipv6CidrBlock = pulumi.String(cidr.String())
		}
		return r
	}
	anyV4 := netip.MustParsePrefix("0.0.0.0/0")
	egressAll := ec2.NetworkAclEgressArray{ec2.NetworkAclEgressArgs{
		RuleNo: pulumi.Int(100), Action: pulumi.String("allow"), Protocol: pulumi.String("-1"), FromPort: pulumi.Int(0), ToPort: pulumi.Int(0), CidrBlock: pulumi.String("0.0.0.0/0"),
	}}

	publicIn := ec2.NetworkAclIngressArray{
		rule(100, "tcp", 443, 443, anyV4),
		rule(110, "tcp", 80, 80, anyV4), // redirected to HTTPS by the ALB
		rule(120, "-1", 0, 0, args.Cidr),
		rule(130, "tcp", 1024, 65535, anyV4), // return traffic (NAT, bastion, ALB)
		rule(140, "udp", 1024, 65535, anyV4),
	}
	for i, p := range args.AdminCidrs {
		publicIn = append(publicIn, rule(200+i, "tcp", 22, 22, p))
	}
	if _, err := ec2.NewNetworkAcl(ctx, name+"-public", &ec2.NetworkAclArgs{
		VpcId: vpc.ID(), SubnetIds: publicIDs, Ingress: publicIn, Egress: egressAll,
		Tags: tagging.Named(args.Tags, name+"-public"),
	}, parent); err != nil {
		return err
	}
	if _, err := ec2.NewNetworkAcl(ctx, name+"-private", &ec2.NetworkAclArgs{
		VpcId: vpc.ID(), SubnetIds: privateIDs,
		Ingress: append(ec2.NetworkAclIngressArray{
			rule(100, "-1", 0, 0, args.Cidr),
			rule(110, "tcp", 1024, 65535, anyV4),
			rule(120, "udp", 1024, 65535, anyV4),
		}, privateSSH(rule, args.SSHFrom)...),
		Egress: egressAll,
		Tags:   tagging.Named(args.Tags, name+"-private"),
	}, parent); err != nil {
		return err
	}
	return nil
}

// privateSSH admits SSH from outside the VPC into the private subnets; the
// other ports the peered home VPC uses (Prometheus, node_exporter) are
// above 1024 and already open to return traffic.
func privateSSH(rule func(int, string, int, int, netip.Prefix) ec2.NetworkAclIngressArgs, from []netip.Prefix) ec2.NetworkAclIngressArray {
	var out ec2.NetworkAclIngressArray
	for i, p := range from {
		out = append(out, rule(130+i, "tcp", 22, 22, p))
	}
	return out
}

// newFlowLogs records all VPC traffic (EC2.6) to a log group with a set
// retention; the delivery role may write to that group only.
func newFlowLogs(ctx *pulumi.Context, name string, vpc *ec2.Vpc, args *VpcArgs, parent pulumi.ResourceOption) error {
	group, err := cloudwatch.NewLogGroup(ctx, name+"-flow-logs", &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(args.FlowLogRetentionDays),
		Tags:            tagging.Named(args.Tags, name+"-flow-logs"),
	}, parent)
	if err != nil {
		return err
	}
	role, err := args.IAM.NewServiceRole(ctx, name+"-flow-logs", "flow-logs", "vpc-flow-logs.amazonaws.com", args.Tags, parent)
	if err != nil {
		return err
	}
	policy := group.Arn.ApplyT(func(arn string) string {
		return iampolicy.Document(iampolicy.Statement{
			"Effect":   "Allow",
			"Action":   []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
			"Resource": []string{arn, arn + ":*"},
		})
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, name+"-flow-logs", &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, parent); err != nil {
		return err
	}
	_, err = ec2.NewFlowLog(ctx, name, &ec2.FlowLogArgs{
		VpcId: vpc.ID(), TrafficType: pulumi.String("ALL"),
		LogDestinationType: pulumi.String("cloud-watch-logs"), LogDestination: group.Arn, IamRoleArn: role.Arn,
		MaxAggregationInterval: pulumi.Int(60),
		Tags:                   tagging.Named(args.Tags, name+"-flow-logs"),
	}, parent)
	return err
}
