package edge

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/certificate"
	"github.com/promfed/promfed/internal/edgepolicy"
	"github.com/promfed/promfed/internal/testmocks"
)

func run(t *testing.T, allowed []netip.Prefix, plan string) *testmocks.Mocks {
	t.Helper()
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		if _, err := NewCloudflare(ctx, "edge", &CloudflareArgs{
			ZoneID: "0123456789abcdef0123456789abcdef", AlbDNS: pulumi.String("alb-1.elb.amazonaws.com"),
			Policy:       edgepolicy.Policy{Host: "prometheus.example.com", Sources: allowed, RequestsPerMinute: 600},
			ProbeSources: []pulumi.StringOutput{pulumi.String("203.0.113.7").ToStringOutput()}, Plan: plan,
			OriginPullCertificate: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n",
			OriginPullPrivateKey:  pulumi.String("key"),
		}); err != nil {
			return err
		}
		_, err := certificate.NewCertificate(ctx, "cert", &certificate.Args{Domain: "prometheus.example.com", Validator: Validator("0123456789abcdef0123456789abcdef")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func rules(t *testing.T, m *testmocks.Mocks) string {
	b, _ := json.Marshal(m.Named(t, "cloudflare:index/ruleset:Ruleset", "edge-waf").Get("rules"))
	return string(b)
}

func TestEdge(t *testing.T) {
	m := run(t, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::/32")}, "business")
	rec := m.Named(t, "cloudflare:index/record:Record", "edge")
	if rec.Get("proxied") != true || rec.Str("type") != "CNAME" || rec.Str("content") != "alb-1.elb.amazonaws.com" {
		t.Errorf("record %v", rec.Inputs)
	}
	v := m.Named(t, "cloudflare:index/record:Record", "cert-validation")
	if v.Get("proxied") != false || v.Str("name") != "_abc.prometheus.example.com" || v.Str("content") != "_xyz.acm-validations.aws" {
		t.Errorf("validation record %v", v.Inputs)
	}
	waf := rules(t, m)
	for _, want := range []string{
		`starts_with(http.request.uri.path, \"/api/v1/admin\")`,
		`(http.host eq \"prometheus.example.com\" and not ip.src in {198.51.100.0/24 2001:db8::/32 203.0.113.7/32})`,
		`not http.request.method in {\"GET\" \"HEAD\" \"POST\"}`,
	} {
		if !strings.Contains(waf, want) {
			t.Errorf("WAF rules lack %s: %s", want, waf)
		}
	}
	rl := m.Named(t, "cloudflare:index/ruleset:Ruleset", "edge-ratelimit")
	r := rl.Get("rules").([]any)[0].(map[string]any)["ratelimit"].(map[string]any)
	if rl.Str("phase") != "http_ratelimit" || r["requestsPerPeriod"] != float64(600) || r["period"] != float64(60) || r["mitigationTimeout"] != float64(600) {
		t.Errorf("rate limit %v", rl.Inputs)
	}
	aop := m.Named(t, "cloudflare:index/authenticatedOriginPulls:AuthenticatedOriginPulls", "edge-origin-pull")
	if aop.Get("enabled") != true || aop.Str("hostname") != "prometheus.example.com" || aop.Str("authenticatedOriginPullsCertificate") != "edge-origin-pull-id" {
		t.Errorf("origin pulls %v", aop.Inputs)
	}
	if !m.Named(t, "cloudflare:index/authenticatedOriginPullsCertificate:AuthenticatedOriginPullsCertificate", "edge-origin-pull").IsSecret("privateKey") {
		t.Error("origin-pull private key is not secret")
	}
}

// Without allowedCidrs only the probe reaches the endpoint: every path is
// closed to everyone else (not only /federate).
func TestEveryPathClosedWithoutAllowedCidrs(t *testing.T) {
	waf := rules(t, run(t, nil, "pro"))
	if !strings.Contains(waf, `(http.host eq \"prometheus.example.com\" and not ip.src in {203.0.113.7/32})`) || strings.Contains(waf, "/federate") {
		t.Errorf("empty allowedCidrs must close every path but to the probe: %s", waf)
	}
}

// On the Free plan the rate-limit rule may only use the path and 10 s
// periods; the budget is kept per minute.
func TestRateLimitOnFreePlan(t *testing.T) {
	rl := run(t, nil, "free").Named(t, "cloudflare:index/ruleset:Ruleset", "edge-ratelimit")
	rule := rl.Get("rules").([]any)[0].(map[string]any)
	r := rule["ratelimit"].(map[string]any)
	if strings.Contains(rule["expression"].(string), "http.host") || r["period"] != float64(10) || r["requestsPerPeriod"] != float64(100) || r["mitigationTimeout"] != float64(10) {
		t.Errorf("free-plan rate limit %v", rule)
	}
}

func TestUnknownPlanIsRefused(t *testing.T) {
	_, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewCloudflare(ctx, "edge", &CloudflareArgs{Policy: edgepolicy.Policy{Host: "p.example.com", RequestsPerMinute: 600}, Plan: "gold"})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), `plan "gold" is not a Cloudflare plan`) {
		t.Errorf("unknown plan: %v", err)
	}
}

func TestIPRanges(t *testing.T) {
	var got []netip.Prefix
	_, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		var err error
		got, err = IPRanges(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].String() != "173.245.48.0/20" || got[3].String() != "2606:4700::/32" {
		t.Errorf("ranges %v", got)
	}
}
