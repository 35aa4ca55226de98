// Package waf provides the WebACL component: the AWS WAF web ACL in front
// of the ALB when the public name is in Route53 (without Cloudflare). It
// renders the same edge policy as Cloudflare's rules (internal/edgepolicy):
// only the allowed sources reach any path, the admin API and write methods
// are closed, each client has a request budget, and AWS's managed rule
// groups (common, known bad inputs) screen what is left.
package waf

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/edgepolicy"
	"github.com/promfed/promfed/internal/tagging"
)

// WebACLArgs configures the web ACL.
type WebACLArgs struct {
	// Policy is who may call the endpoint; its Sources are completed with
	// ProbeSources.
	Policy edgepolicy.Policy
	// ProbeSources are IPv4 addresses known at deploy time (the NAT
	// gateways) from which the endpoint probe calls.
	ProbeSources []pulumi.StringOutput
	// AlbArn is the load balancer the web ACL guards.
	AlbArn pulumi.StringInput
	Tags   map[string]string
}

// WebACL is the web ACL, its IP sets and its association with the ALB.
type WebACL struct {
	pulumi.ResourceState

	Arn pulumi.StringOutput
}

// NewWebACL creates the web ACL.
func NewWebACL(ctx *pulumi.Context, name string, args *WebACLArgs, opts ...pulumi.ResourceOption) (*WebACL, error) {
	if args == nil {
		return nil, fmt.Errorf("waf %s: no arguments", name)
	}
	if err := args.Policy.Validate(); err != nil {
		return nil, err
	}
	w := &WebACL{}
	if err := ctx.RegisterComponentResource("promfed:waf:WebACL", name, w, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(w)
	v4 := pulumi.StringArray{}
	for _, s := range args.Policy.IPv4Sources() {
		v4 = append(v4, pulumi.String(s))
	}
	for _, ip := range args.ProbeSources {
		v4 = append(v4, ip.ApplyT(func(s string) (string, error) {
			a, err := netip.ParseAddr(s)
			if err != nil || !a.Is4() {
				return "", fmt.Errorf("probe source %q is not an IPv4 address", s)
			}
			return s + "/32", nil
		}).(pulumi.StringOutput))
	}
	v6 := pulumi.StringArray{}
	for _, s := range args.Policy.IPv6Sources() {
		v6 = append(v6, pulumi.String(s))
	}
	// One set per address family (WAF's rule); an empty set matches nothing.
	set4, err := wafv2.NewIpSet(ctx, name+"-ipv4", &wafv2.IpSetArgs{
		Scope: pulumi.String("REGIONAL"), IpAddressVersion: pulumi.String("IPV4"), Addresses: v4,
		Description: pulumi.String("promfed: IPv4 sources allowed to the endpoint"), Tags: tagging.Named(args.Tags, name+"-ipv4"),
	}, parent)
	if err != nil {
		return nil, err
	}
	set6, err := wafv2.NewIpSet(ctx, name+"-ipv6", &wafv2.IpSetArgs{
		Scope: pulumi.String("REGIONAL"), IpAddressVersion: pulumi.String("IPV6"), Addresses: v6,
		Description: pulumi.String("promfed: IPv6 sources allowed to the endpoint"), Tags: tagging.Named(args.Tags, name+"-ipv6"),
	}, parent)
	if err != nil {
		return nil, err
	}
	rules := pulumi.All(set4.Arn, set6.Arn).ApplyT(func(arns []any) (string, error) {
		b, err := json.Marshal(args.Policy.WAFRules(name, arns[0].(string), arns[1].(string)))
		return string(b), err
	}).(pulumi.StringOutput)
	acl, err := wafv2.NewWebAcl(ctx, name, &wafv2.WebAclArgs{
		Scope:         pulumi.String("REGIONAL"),
		Description:   pulumi.String("promfed: allowed sources only, admin API and write methods closed, per-client budget"),
		DefaultAction: &wafv2.WebAclDefaultActionArgs{Block: &wafv2.WebAclDefaultActionBlockArgs{}},
		RuleJson:      rules,
		VisibilityConfig: &wafv2.WebAclVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), SampledRequestsEnabled: pulumi.Bool(true), MetricName: pulumi.String(name),
		},
		Tags: tagging.Named(args.Tags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := wafv2.NewWebAclAssociation(ctx, name, &wafv2.WebAclAssociationArgs{
		ResourceArn: args.AlbArn, WebAclArn: acl.Arn,
	}, parent); err != nil {
		return nil, err
	}
	w.Arn = acl.Arn
	return w, ctx.RegisterResourceOutputs(w, pulumi.Map{"arn": acl.Arn})
}
