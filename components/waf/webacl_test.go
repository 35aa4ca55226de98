package waf

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/edgepolicy"
	"github.com/promfed/promfed/internal/testmocks"
)

func run(t *testing.T, probes ...string) (*testmocks.Mocks, error) {
	t.Helper()
	return testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		var ps []pulumi.StringOutput
		for _, p := range probes {
			ps = append(ps, pulumi.String(p).ToStringOutput())
		}
		_, err := NewWebACL(ctx, "promfed-dev-waf", &WebACLArgs{
			Policy: edgepolicy.Policy{Host: "prometheus-dev.example.com", RequestsPerMinute: 120, Sources: []netip.Prefix{
				netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::/32")}},
			ProbeSources: ps, AlbArn: pulumi.String("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/promfed-dev/1"),
			Tags: map[string]string{"promfed:stack": "dev"},
		})
		return err
	})
}

func TestWebACL(t *testing.T) {
	m, err := run(t, "203.0.113.7", "203.0.113.8")
	if err != nil {
		t.Fatal(err)
	}
	v4 := m.Named(t, "aws:wafv2/ipSet:IpSet", "promfed-dev-waf-ipv4")
	v6 := m.Named(t, "aws:wafv2/ipSet:IpSet", "promfed-dev-waf-ipv6")
	if got := fmt.Sprint(v4.Get("addresses")); got != "[198.51.100.0/24 203.0.113.7/32 203.0.113.8/32]" || v4.Str("scope") != "REGIONAL" {
		t.Errorf("IPv4 set %s (%s)", got, v4.Str("scope"))
	}
	if got := fmt.Sprint(v6.Get("addresses")); got != "[2001:db8::/32]" || v6.Str("ipAddressVersion") != "IPV6" {
		t.Errorf("IPv6 set %s", got)
	}
	acl := m.Named(t, "aws:wafv2/webAcl:WebAcl", "promfed-dev-waf")
	var rules []map[string]any
	if err := json.Unmarshal([]byte(acl.Str("ruleJson")), &rules); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rules {
		names = append(names, r["Name"].(string))
	}
	if got := strings.Join(names, ","); got != "rate-limit,aws-AWSManagedRulesCommonRuleSet,aws-AWSManagedRulesKnownBadInputsRuleSet,admin-api,methods,sources" {
		t.Errorf("rules %s", got)
	}
	if !strings.Contains(acl.Str("ruleJson"), `"Limit":600`) {
		t.Errorf("rate rule is not 120 a minute over 300 s: %s", acl.Str("ruleJson"))
	}
	for _, arn := range []string{"ipset/promfed-dev-waf-ipv4", "ipset/promfed-dev-waf-ipv6"} {
		if !strings.Contains(acl.Str("ruleJson"), arn) {
			t.Errorf("the allow rule does not reference %s", arn)
		}
	}
	if acl.Get("defaultAction").(map[string]any)["block"] == nil {
		t.Errorf("default action %v, want block", acl.Get("defaultAction"))
	}
	assoc := m.Named(t, "aws:wafv2/webAclAssociation:WebAclAssociation", "promfed-dev-waf")
	if !strings.HasSuffix(assoc.Str("resourceArn"), "loadbalancer/app/promfed-dev/1") || !strings.HasSuffix(assoc.Str("webAclArn"), "webacl/promfed-dev-waf") {
		t.Errorf("association %v", assoc.Inputs)
	}
}

func TestProbeSourceMustBeIPv4(t *testing.T) {
	_, err := run(t, "not-an-address")
	if err == nil || !strings.Contains(err.Error(), `probe source "not-an-address" is not an IPv4 address`) {
		t.Errorf("err = %v", err)
	}
}
