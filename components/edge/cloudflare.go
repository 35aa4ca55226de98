// Package edge provides the Cloudflare component: the proxied public record,
// strict TLS to the origin, WAF and rate-limit rules, and authenticated
// origin pulls with the operator's client certificate (which the ALB's
// mutual TLS verifies), so going around Cloudflare to the ALB fails.
package edge

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/certificate"
	"github.com/promfed/promfed/internal/edgepolicy"
)

// CloudflareArgs configures the edge.
type CloudflareArgs struct {
	ZoneID string
	AlbDNS pulumi.StringInput
	// Policy is who may call the endpoint (its Host is the public name).
	// Its Sources are completed with ProbeSources.
	Policy edgepolicy.Policy
	// ProbeSources are addresses known at deploy time (the NAT gateways)
	// from which the endpoint probe calls.
	ProbeSources []pulumi.StringOutput
	// Plan is the zone's Cloudflare plan: it decides the rate-limit rule.
	Plan string
	// Origin-pull client certificate and key Cloudflare presents to the ALB.
	OriginPullCertificate string
	OriginPullPrivateKey  pulumi.StringInput // secret
}

// Cloudflare is the edge in front of the ALB.
type Cloudflare struct {
	pulumi.ResourceState

	Hostname pulumi.StringOutput
}

// NewCloudflare creates the edge resources.
func NewCloudflare(ctx *pulumi.Context, name string, args *CloudflareArgs, opts ...pulumi.ResourceOption) (*Cloudflare, error) {
	if args == nil {
		return nil, fmt.Errorf("edge %s: no arguments", name)
	}
	rateLimit, err := args.Policy.CloudflareRateLimit(args.Plan)
	if err != nil {
		return nil, err
	}
	if err := args.Policy.Validate(); err != nil {
		return nil, err
	}
	c := &Cloudflare{}
	if err := ctx.RegisterComponentResource("promfed:edge:Cloudflare", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	zone := pulumi.String(args.ZoneID)
	rec, err := cloudflare.NewRecord(ctx, name, &cloudflare.RecordArgs{
		ZoneId: zone, Name: pulumi.String(args.Policy.Host), Type: pulumi.String("CNAME"),
		Content: args.AlbDNS, Proxied: pulumi.Bool(true), Ttl: pulumi.Int(1),
		Comment: pulumi.String("promfed endpoint, managed by Pulumi"),
	}, parent)
	if err != nil {
		return nil, err
	}
	// These settings are zone-wide: every proxied name of the zone gets
	// strict origin TLS (documented in docs/endpoint.md).
	if _, err := cloudflare.NewZoneSettingsOverride(ctx, name, &cloudflare.ZoneSettingsOverrideArgs{
		ZoneId: zone,
		Settings: cloudflare.ZoneSettingsOverrideSettingsArgs{
			Ssl: pulumi.String("strict"), AlwaysUseHttps: pulumi.String("on"),
			MinTlsVersion: pulumi.String("1.2"), Tls13: pulumi.String("on"),
		},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := cloudflare.NewRuleset(ctx, name+"-waf", &cloudflare.RulesetArgs{
		ZoneId: zone, Kind: pulumi.String("zone"), Phase: pulumi.String("http_request_firewall_custom"),
		Name: pulumi.String("promfed custom rules"), Description: pulumi.String("promfed: admin API closed, read-only methods, every path only from allowed sources"),
		Rules: wafRules(args.Policy, args.ProbeSources),
	}, parent); err != nil {
		return nil, err
	}
	if _, err := cloudflare.NewRuleset(ctx, name+"-ratelimit", &cloudflare.RulesetArgs{
		ZoneId: zone, Kind: pulumi.String("zone"), Phase: pulumi.String("http_ratelimit"),
		Name: pulumi.String("promfed rate limit"), Description: pulumi.String("promfed: per-client request budget"),
		Rules: cloudflare.RulesetRuleArray{cloudflare.RulesetRuleArgs{
			Action: pulumi.String("block"), Description: pulumi.String("per-IP budget on the endpoint"), Enabled: pulumi.Bool(true),
			Expression: pulumi.String(rateLimit.Expression),
			Ratelimit: cloudflare.RulesetRuleRatelimitArgs{
				Characteristics:   pulumi.StringArray{pulumi.String("cf.colo.id"), pulumi.String("ip.src")},
				Period:            pulumi.Int(rateLimit.Period),
				RequestsPerPeriod: pulumi.Int(rateLimit.RequestsPerPeriod),
				MitigationTimeout: pulumi.Int(rateLimit.MitigationTimeout),
			},
		}},
	}, parent); err != nil {
		return nil, err
	}
	cert, err := cloudflare.NewAuthenticatedOriginPullsCertificate(ctx, name+"-origin-pull", &cloudflare.AuthenticatedOriginPullsCertificateArgs{
		ZoneId: zone, Type: pulumi.String("per-hostname"),
		Certificate: pulumi.String(args.OriginPullCertificate),
		PrivateKey:  pulumi.ToSecret(args.OriginPullPrivateKey).(pulumi.StringOutput),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := cloudflare.NewAuthenticatedOriginPulls(ctx, name+"-origin-pull", &cloudflare.AuthenticatedOriginPullsArgs{
		ZoneId: zone, Hostname: pulumi.String(args.Policy.Host), AuthenticatedOriginPullsCertificate: cert.ID(), Enabled: pulumi.Bool(true),
	}, parent); err != nil {
		return nil, err
	}
	c.Hostname = rec.Hostname
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"hostname": rec.Hostname})
}

// wafRules renders the policy's custom rules once the probe addresses are
// known.
func wafRules(p edgepolicy.Policy, probes []pulumi.StringOutput) cloudflare.RulesetRuleArrayOutput {
	in := make([]any, len(probes))
	for i, o := range probes {
		in[i] = o
	}
	return pulumi.All(in...).ApplyT(func(ips []any) ([]cloudflare.RulesetRule, error) {
		full := p
		full.Sources = slices.Clone(p.Sources)
		for _, ip := range ips {
			a, err := netip.ParseAddr(ip.(string))
			if err != nil {
				return nil, fmt.Errorf("probe source %q: %w", ip, err)
			}
			full.Sources = append(full.Sources, netip.PrefixFrom(a, a.BitLen()))
		}
		rendered, err := full.CloudflareRules()
		if err != nil {
			return nil, err
		}
		out := make([]cloudflare.RulesetRule, len(rendered))
		for i, r := range rendered {
			out[i] = cloudflare.RulesetRule{Action: ptr("block"), Description: ptr(r.Description), Expression: r.Expression, Enabled: ptr(true)}
		}
		return out, nil
	}).(cloudflare.RulesetRuleArrayOutput)
}

func ptr[T any](v T) *T { return &v }

// IPRanges returns Cloudflare's published IPv4 and IPv6 ranges: the only
// sources the ALB admits when the edge is on.
func IPRanges(ctx *pulumi.Context) ([]netip.Prefix, error) {
	r, err := cloudflare.GetIpRanges(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading Cloudflare's IP ranges: %w", err)
	}
	var out []netip.Prefix
	for _, s := range append(append([]string{}, r.Ipv4CidrBlocks...), r.Ipv6CidrBlocks...) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("Cloudflare returned an invalid range %q: %w", s, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("Cloudflare returned no IP ranges; refusing to close the ALB to everyone")
	}
	return out, nil
}

// Validator returns a certificate.Validator that writes ACM's record into
// the Cloudflare zone, unproxied (ACM must see the real record).
func Validator(zoneID string) certificate.Validator {
	return func(ctx *pulumi.Context, name string, rec certificate.Record, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
		r, err := cloudflare.NewRecord(ctx, name, &cloudflare.RecordArgs{
			ZoneId: pulumi.String(zoneID), Name: rec.Name.ApplyT(func(s string) string { return strings.TrimSuffix(s, ".") }).(pulumi.StringOutput),
			Type: rec.Type, Content: rec.Value.ApplyT(func(s string) string { return strings.TrimSuffix(s, ".") }).(pulumi.StringOutput),
			Proxied: pulumi.Bool(false), Ttl: pulumi.Int(300), AllowOverwrite: pulumi.Bool(true),
		}, opts...)
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		return r.Hostname, nil
	}
}
