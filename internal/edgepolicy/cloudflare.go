package edgepolicy

import (
	"fmt"
	"strings"
)

// CloudflareRule is one custom (WAF) rule of the zone's
// http_request_firewall_custom phase; every rule blocks.
type CloudflareRule struct {
	Description, Expression string
}

// cloudflareExpressionMax is Cloudflare's limit on a rule expression.
const cloudflareExpressionMax = 4096

// CloudflareRules are the custom rules, in evaluation order. Custom rules
// exist on every plan (Free: 5 per zone) and may use every field here.
// Cloudflare normalizes incoming URLs by default (percent-decoding
// unreserved characters) before the rules see the path.
func (p Policy) CloudflareRules() ([]CloudflareRule, error) {
	host := fmt.Sprintf(`http.host eq %q`, p.Host)
	sources := "false"
	if list := p.sources(0); len(list) > 0 {
		sources = "ip.src in {" + strings.Join(list, " ") + "}"
	}
	quoted := make([]string, len(Methods))
	for i, m := range Methods {
		quoted[i] = fmt.Sprintf("%q", m)
	}
	rules := []CloudflareRule{
		{"admin API closed", fmt.Sprintf(`(%s and starts_with(http.request.uri.path, %q))`, host, AdminPathPrefix)},
		{"read-only methods", fmt.Sprintf(`(%s and not http.request.method in {%s})`, host, strings.Join(quoted, " "))},
		{"every path only from allowedCidrs and the endpoint probe", fmt.Sprintf(`(%s and not %s)`, host, sources)},
	}
	for _, r := range rules {
		if n := len(r.Expression); n > cloudflareExpressionMax {
			return nil, fmt.Errorf("the Cloudflare rule %q would be %d characters (Cloudflare allows %d): allowedCidrs has %d entries; merge them into fewer, larger ranges",
				r.Description, n, cloudflareExpressionMax, len(p.Sources))
		}
	}
	return rules, nil
}

// CloudflarePlans are the zone plans the rate limit can be rendered for.
var CloudflarePlans = []string{"free", "pro", "business", "enterprise"}

// CloudflareRateLimit is the zone's rate-limiting rule (phase
// http_ratelimit), counted per client IP and Cloudflare location.
type CloudflareRateLimit struct {
	Expression                                   string
	Period, RequestsPerPeriod, MitigationTimeout int
}

// CloudflareRateLimit renders the budget within what the plan accepts:
// Free allows only the path field in the expression (so the rule counts
// every request of the zone), a 10 s period and a 10 s timeout; Pro adds
// the host field and a 60 s period; Business and Enterprise a 10 minute
// timeout. Every plan has at least one rate-limiting rule.
func (p Policy) CloudflareRateLimit(plan string) (CloudflareRateLimit, error) {
	host := fmt.Sprintf(`(http.host eq %q)`, p.Host)
	switch plan {
	case "free":
		return CloudflareRateLimit{Expression: `(starts_with(http.request.uri.path, "/"))`,
			Period: 10, RequestsPerPeriod: max(1, p.RequestsPerMinute/6), MitigationTimeout: 10}, nil
	case "pro":
		return CloudflareRateLimit{Expression: host, Period: 60, RequestsPerPeriod: p.RequestsPerMinute, MitigationTimeout: 60}, nil
	case "business", "enterprise":
		return CloudflareRateLimit{Expression: host, Period: 60, RequestsPerPeriod: p.RequestsPerMinute, MitigationTimeout: 600}, nil
	}
	return CloudflareRateLimit{}, fmt.Errorf("plan %q is not a Cloudflare plan: want one of %s", plan, strings.Join(CloudflarePlans, ", "))
}
