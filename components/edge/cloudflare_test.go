package edge

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/certificate"
	"github.com/promfed/promfed/internal/testmocks"
)

func run(t *testing.T, allowed []netip.Prefix) *testmocks.Mocks {
	t.Helper()
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		if _, err := NewCloudflare(ctx, "edge", &CloudflareArgs{
			ZoneID: "0123456789abcdef0123456789abcdef", Domain: "prometheus.example.com", AlbDNS: pulumi.String("alb-1.elb.amazonaws.com"),
			AllowedCidrs: allowed, OriginPullCertificate: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n",
			OriginPullPrivateKey: pulumi.String("key"), RequestsPerMinute: 600,
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
	m := run(t, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::/32")})
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
		`not ip.src in {198.51.100.0/24 2001:db8::/32}`,
		`not http.request.method in {\"GET\" \"POST\" \"HEAD\"}`,
	} {
		if !strings.Contains(waf, want) {
			t.Errorf("WAF rules lack %s: %s", want, waf)
		}
	}
	rl := m.Named(t, "cloudflare:index/ruleset:Ruleset", "edge-ratelimit")
	r := rl.Get("rules").([]any)[0].(map[string]any)["ratelimit"].(map[string]any)
	if rl.Str("phase") != "http_ratelimit" || r["requestsPerPeriod"] != float64(600) || r["period"] != float64(60) {
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

func TestFederateClosedWithoutAllowedCidrs(t *testing.T) {
	waf := rules(t, run(t, nil))
	if !strings.Contains(waf, `http.request.uri.path eq \"/federate\")`) || strings.Contains(waf, "ip.src") {
		t.Errorf("empty allowedCidrs must block /federate for everyone: %s", waf)
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
