// Package dns provides the Route53 components: the private zone that gives
// every Prometheus host a static name, and the public records of the
// endpoint when the public zone is in Route53.
package dns

import (
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/certificate"
	"github.com/promfed/promfed/internal/tagging"
)

// PrivateZoneArgs configures the private zone.
type PrivateZoneArgs struct {
	Zone  string
	VpcID pulumi.StringInput
	// PeerVpcIDs are peered workload VPCs that resolve the host names too.
	PeerVpcIDs []string
	// RegionVpcs are the stack's VPCs in other regions; they resolve the
	// host names too.
	RegionVpcs []RegionVpc
	// Hosts get one A record each, in this order.
	Hosts []HostRecord
	Tags  map[string]string
}

// RegionVpc is a VPC in another region than the zone's.
type RegionVpc struct {
	Region string
	VpcID  pulumi.StringInput
}

// HostRecord is a host name ("primary", "secondary-apps-1") and its private IP.
type HostRecord struct {
	Name    string
	Address pulumi.StringInput
}

// PrivateZone holds one A record per host. Federation is configured with
// these names, so replacing a secondary changes a record, not the
// primary's configuration.
type PrivateZone struct {
	pulumi.ResourceState

	ZoneID pulumi.IDOutput
	// Fqdns maps host name to its DNS name.
	Fqdns map[string]string
}

// NewPrivateZone creates the zone and records.
func NewPrivateZone(ctx *pulumi.Context, name string, args *PrivateZoneArgs, opts ...pulumi.ResourceOption) (*PrivateZone, error) {
	z := &PrivateZone{Fqdns: map[string]string{}}
	if err := ctx.RegisterComponentResource("promfed:dns:PrivateZone", name, z, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(z)
	// Associations stay inline: the zone resource owns its VPC list.
	vpcs := route53.ZoneVpcArray{route53.ZoneVpcArgs{VpcId: args.VpcID}}
	for _, id := range args.PeerVpcIDs {
		vpcs = append(vpcs, route53.ZoneVpcArgs{VpcId: pulumi.String(id)})
	}
	for _, r := range args.RegionVpcs {
		vpcs = append(vpcs, route53.ZoneVpcArgs{VpcId: r.VpcID, VpcRegion: pulumi.String(r.Region)})
	}
	zone, err := route53.NewZone(ctx, name, &route53.ZoneArgs{
		Name:    pulumi.String(args.Zone),
		Comment: pulumi.String("promfed host names"),
		Vpcs:    vpcs,
		// Records are owned by this program; allow destroying the zone with them.
		ForceDestroy: pulumi.Bool(true),
		Tags:         tagging.Named(args.Tags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	outputs := pulumi.Map{"zoneId": zone.ID()}
	for _, host := range args.Hosts {
		fqdn := host.Name + "." + strings.TrimSuffix(args.Zone, ".")
		if _, err := route53.NewRecord(ctx, name+"-"+host.Name, &route53.RecordArgs{
			ZoneId: zone.ZoneId, Name: pulumi.String(fqdn), Type: pulumi.String("A"),
			Ttl: pulumi.Int(60), Records: pulumi.StringArray{host.Address},
		}, parent); err != nil {
			return nil, err
		}
		z.Fqdns[host.Name] = fqdn
		outputs[host.Name] = pulumi.String(fqdn)
	}
	z.ZoneID = zone.ID()
	return z, ctx.RegisterResourceOutputs(z, outputs)
}

// PublicRecordsArgs configures the public alias.
type PublicRecordsArgs struct {
	ZoneID    string
	Domain    string
	AlbDNS    pulumi.StringInput
	AlbZoneID pulumi.StringInput
}

// PublicRecords is the endpoint's alias record in a Route53 public zone.
type PublicRecords struct {
	pulumi.ResourceState

	Fqdn pulumi.StringOutput
}

// NewPublicRecords creates the alias (A, and AAAA is not needed: the ALB is
// IPv4 only).
func NewPublicRecords(ctx *pulumi.Context, name string, args *PublicRecordsArgs, opts ...pulumi.ResourceOption) (*PublicRecords, error) {
	p := &PublicRecords{}
	if err := ctx.RegisterComponentResource("promfed:dns:PublicRecords", name, p, opts...); err != nil {
		return nil, err
	}
	rec, err := route53.NewRecord(ctx, name, &route53.RecordArgs{
		ZoneId: pulumi.String(args.ZoneID), Name: pulumi.String(args.Domain), Type: pulumi.String("A"),
		Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{
			Name: args.AlbDNS, ZoneId: args.AlbZoneID, EvaluateTargetHealth: pulumi.Bool(true),
		}},
	}, pulumi.Parent(p))
	if err != nil {
		return nil, err
	}
	p.Fqdn = rec.Fqdn
	return p, ctx.RegisterResourceOutputs(p, pulumi.Map{"fqdn": rec.Fqdn})
}

// Validator returns a certificate.Validator that writes ACM's record into
// the Route53 zone.
func Validator(zoneID string) certificate.Validator {
	return func(ctx *pulumi.Context, name string, rec certificate.Record, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
		r, err := route53.NewRecord(ctx, name, &route53.RecordArgs{
			ZoneId: pulumi.String(zoneID), Name: rec.Name, Type: rec.Type, Records: pulumi.StringArray{rec.Value},
			Ttl: pulumi.Int(300), AllowOverwrite: pulumi.Bool(true),
		}, opts...)
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		return r.Fqdn, nil
	}
}
