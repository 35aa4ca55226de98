package edgepolicy

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

var testPolicy = Policy{
	Host: "prometheus.example.com",
	Sources: []netip.Prefix{
		netip.MustParsePrefix("198.51.100.0/24"), // allowedCidrs
		netip.MustParsePrefix("2001:db8::/32"),   // allowedCidrs, IPv6
		netip.MustParsePrefix("203.0.113.7/32"),  // a NAT gateway: the endpoint probe
	},
	RequestsPerMinute: 600,
}

// The table every rendering must agree with.
type requestCase struct {
	src, method, path string
	allow             bool
	rule              string
}

var requests = []requestCase{
	{"198.51.100.10", "GET", "/api/v1/query", true, "allowed"},
	{"198.51.100.10", "POST", "/api/v1/query", true, "allowed"},
	{"198.51.100.10", "GET", "/federate", true, "allowed"},
	{"198.51.100.10", "GET", "/graph", true, "allowed"},
	{"198.51.100.10", "HEAD", "/-/healthy", true, "allowed"},
	{"203.0.113.7", "GET", "/-/healthy", true, "allowed"},
	{"2001:db8::5", "GET", "/federate", true, "allowed"},
	{"192.0.2.1", "GET", "/api/v1/query", false, "sources"},
	{"192.0.2.1", "GET", "/api/v1/series", false, "sources"},
	{"192.0.2.1", "GET", "/api/v1/targets", false, "sources"},
	{"192.0.2.1", "GET", "/federate", false, "sources"},
	{"192.0.2.1", "GET", "/graph", false, "sources"},
	{"192.0.2.1", "GET", "/", false, "sources"},
	{"203.0.113.8", "GET", "/-/healthy", false, "sources"},
	{"2001:db9::1", "GET", "/federate", false, "sources"},
	{"198.51.100.10", "DELETE", "/api/v1/query", false, "methods"},
	{"198.51.100.10", "PUT", "/-/reload", false, "methods"},
	{"198.51.100.10", "POST", "/api/v1/admin/tsdb/delete_series", false, "admin-api"},
	{"198.51.100.10", "POST", "/api/v1/%61dmin/tsdb/snapshot", false, "admin-api"},
	{"192.0.2.1", "POST", "/api/v1/admin/tsdb/snapshot", false, "admin-api"},
}

func (c requestCase) request() Request {
	return Request{Source: netip.MustParseAddr(c.src), Method: c.method, Path: c.path}
}

func TestDecide(t *testing.T) {
	for _, c := range requests {
		allow, rule := testPolicy.Decide(c.request())
		if allow != c.allow || rule != c.rule {
			t.Errorf("%s %s %s: Decide = %v (%s), want %v (%s)", c.src, c.method, c.path, allow, rule, c.allow, c.rule)
		}
	}
	closed := Policy{Host: testPolicy.Host, RequestsPerMinute: 600}
	if allow, rule := closed.Decide(Request{netip.MustParseAddr("198.51.100.10"), "GET", "/federate"}); allow || rule != "sources" {
		t.Errorf("with no sources: %v %s, want everything closed", allow, rule)
	}
}

// ---- Cloudflare: a small evaluator for the rules language subset used ----

type cfReq struct {
	host, method, path string
	src                netip.Addr
}

type cfParser struct {
	toks []string
	pos  int
	req  cfReq
	t    *testing.T
}

func tokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case strings.ContainsRune("(){},", c):
			out = append(out, string(c))
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && !strings.ContainsRune("(){},", rune(s[j])) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

func (p *cfParser) next() string {
	if p.pos >= len(p.toks) {
		p.t.Fatalf("expression ended early: %v", p.toks)
	}
	p.pos++
	return p.toks[p.pos-1]
}

func (p *cfParser) peek() string {
	if p.pos >= len(p.toks) {
		return ""
	}
	return p.toks[p.pos]
}

func (p *cfParser) expect(tok string) {
	if got := p.next(); got != tok {
		p.t.Fatalf("want %q, got %q in %v", tok, got, p.toks)
	}
}

func (p *cfParser) expr() bool {
	v := p.term()
	for p.peek() == "or" {
		p.next()
		v = p.term() || v
	}
	return v
}

func (p *cfParser) term() bool {
	v := p.factor()
	for p.peek() == "and" {
		p.next()
		v = p.factor() && v
	}
	return v
}

func (p *cfParser) field(name string) string {
	switch name {
	case "http.host":
		return p.req.host
	case "http.request.method":
		return p.req.method
	case "http.request.uri.path":
		return p.req.path
	}
	p.t.Fatalf("unknown field %q", name)
	return ""
}

func (p *cfParser) str() string {
	s, err := strconv.Unquote(p.next())
	if err != nil {
		p.t.Fatalf("bad string: %v", err)
	}
	return s
}

func (p *cfParser) factor() bool {
	switch tok := p.next(); tok {
	case "not":
		return !p.factor()
	case "(":
		v := p.expr()
		p.expect(")")
		return v
	case "true", "false":
		return tok == "true"
	case "starts_with":
		p.expect("(")
		f := p.field(p.next())
		p.expect(",")
		prefix := p.str()
		p.expect(")")
		return strings.HasPrefix(f, prefix)
	case "ip.src":
		p.expect("in")
		p.expect("{")
		in := false
		for p.peek() != "}" {
			pre, err := netip.ParsePrefix(p.next())
			if err != nil {
				p.t.Fatalf("bad range in ip.src set: %v", err)
			}
			in = in || pre.Contains(p.req.src)
		}
		p.next()
		return in
	default:
		f := p.field(tok)
		switch op := p.next(); op {
		case "eq":
			return f == p.str()
		case "in":
			p.expect("{")
			in := false
			for p.peek() != "}" {
				item := p.str()
				in = in || f == item
			}
			p.next()
			return in
		default:
			p.t.Fatalf("unknown operator %q", op)
		}
	}
	return false
}

func cloudflareDecides(t *testing.T, rules []CloudflareRule, r cfReq) (bool, string) {
	for _, rule := range rules {
		p := &cfParser{toks: tokenize(rule.Expression), req: r, t: t}
		matched := p.expr()
		if p.pos != len(p.toks) {
			t.Fatalf("trailing tokens in %q", rule.Expression)
		}
		if matched {
			return false, rule.Description
		}
	}
	return true, "allowed"
}

var cfRuleNames = map[string]string{
	"admin API closed": "admin-api", "read-only methods": "methods",
	"every path only from allowedCidrs and the endpoint probe": "sources", "allowed": "allowed",
}

func TestCloudflareRulesAgree(t *testing.T) {
	rules, err := testPolicy.CloudflareRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range requests {
		// Cloudflare's URL normalization decodes the path before rules run.
		path, _ := url.PathUnescape(c.path)
		allow, rule := cloudflareDecides(t, rules, cfReq{host: testPolicy.Host, method: c.method, path: path, src: netip.MustParseAddr(c.src)})
		if allow != c.allow || cfRuleNames[rule] != c.rule {
			t.Errorf("%s %s %s: Cloudflare %v (%s), want %v (%s)", c.src, c.method, c.path, allow, rule, c.allow, c.rule)
		}
	}
	// Another host of the zone is not this policy's business.
	if allow, _ := cloudflareDecides(t, rules, cfReq{host: "www.example.com", method: "DELETE", path: "/api/v1/admin", src: netip.MustParseAddr("192.0.2.1")}); !allow {
		t.Error("the rules block another host of the zone")
	}
	closed, err := Policy{Host: testPolicy.Host, RequestsPerMinute: 600}.CloudflareRules()
	if err != nil {
		t.Fatal(err)
	}
	if allow, _ := cloudflareDecides(t, closed, cfReq{host: testPolicy.Host, method: "GET", path: "/federate", src: netip.MustParseAddr("198.51.100.10")}); allow {
		t.Error("with no sources, Cloudflare lets a request through")
	}
}

func TestCloudflareExpressionLimit(t *testing.T) {
	p := testPolicy
	for i := range 300 {
		p.Sources = append(p.Sources, netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb9, byte(i >> 8), byte(i)}), 48))
	}
	_, err := p.CloudflareRules()
	if err == nil || !strings.Contains(err.Error(), "allowedCidrs has 303 entries") || !strings.Contains(err.Error(), "4096") {
		t.Errorf("error = %v, want the rule length, the limit and allowedCidrs named", err)
	}
}

func TestCloudflareRateLimitFitsEachPlan(t *testing.T) {
	// What each plan accepts (Cloudflare's rate limiting availability table):
	// expression fields, counting periods, mitigation timeouts.
	allowed := map[string]struct {
		fields           []string
		periods, timeout []int
	}{
		"free":       {[]string{"http.request.uri.path"}, []int{10}, []int{10}},
		"pro":        {[]string{"http.host", "http.request.uri.path"}, []int{10, 60}, []int{10, 60, 3600}},
		"business":   {[]string{"http.host", "http.request.uri.path"}, []int{10, 60, 600}, []int{10, 60, 600, 3600, 86400}},
		"enterprise": {[]string{"http.host", "http.request.uri.path"}, []int{10, 60, 600, 3600}, []int{10, 60, 600, 3600, 86400}},
	}
	field := regexp.MustCompile(`http\.[a-z.]+`)
	for _, plan := range CloudflarePlans {
		rl, err := testPolicy.CloudflareRateLimit(plan)
		if err != nil {
			t.Fatal(err)
		}
		a := allowed[plan]
		for _, f := range field.FindAllString(rl.Expression, -1) {
			if !slices.Contains(a.fields, f) {
				t.Errorf("%s: field %s not available on the plan", plan, f)
			}
		}
		if !slices.Contains(a.periods, rl.Period) || !slices.Contains(a.timeout, rl.MitigationTimeout) {
			t.Errorf("%s: period %d s / timeout %d s not available on the plan", plan, rl.Period, rl.MitigationTimeout)
		}
		perMinute := rl.RequestsPerPeriod * 60 / rl.Period
		if perMinute < testPolicy.RequestsPerMinute*9/10 || perMinute > testPolicy.RequestsPerMinute {
			t.Errorf("%s: %d per %d s is %d a minute, want about %d", plan, rl.RequestsPerPeriod, rl.Period, perMinute, testPolicy.RequestsPerMinute)
		}
	}
	if _, err := testPolicy.CloudflareRateLimit("gold"); err == nil || !strings.Contains(err.Error(), "free, pro, business, enterprise") {
		t.Errorf("unknown plan: %v", err)
	}
}

// ---- AWS WAF: evaluate the rendered JSON ----

func wafDecides(t *testing.T, rules []WAFRule, sets map[string][]string, r Request) (bool, string) {
	t.Helper()
	raw, err := json.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	var parsed []map[string]any
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatal(err)
	}
	var eval func(st map[string]any) bool
	eval = func(st map[string]any) bool {
		for kind, v := range st {
			body := v.(map[string]any)
			switch kind {
			case "RateBasedStatement", "ManagedRuleGroupStatement":
				return false // one request neither exceeds a rate nor (here) matches AWS's signatures
			case "NotStatement":
				return !eval(body["Statement"].(map[string]any))
			case "OrStatement":
				for _, s := range body["Statements"].([]any) {
					if eval(s.(map[string]any)) {
						return true
					}
				}
				return false
			case "IPSetReferenceStatement":
				for _, c := range sets[body["ARN"].(string)] {
					if netip.MustParsePrefix(c).Contains(r.Source) {
						return true
					}
				}
				return false
			case "RegexMatchStatement":
				value := ""
				field := body["FieldToMatch"].(map[string]any)
				switch {
				case field["UriPath"] != nil:
					value = r.Path
				case field["Method"] != nil:
					value = r.Method
				default:
					t.Fatalf("field %v", field)
				}
				for _, tr := range body["TextTransformations"].([]any) {
					if tr.(map[string]any)["Type"] == "URL_DECODE" {
						value, _ = url.PathUnescape(value)
					}
				}
				return regexp.MustCompile(body["RegexString"].(string)).MatchString(value)
			default:
				t.Fatalf("statement %s not understood", kind)
			}
		}
		return false
	}
	for i, rule := range parsed {
		if int(rule["Priority"].(float64)) != i {
			t.Fatalf("rule %s has priority %v at position %d", rule["Name"], rule["Priority"], i)
		}
		if eval(rule["Statement"].(map[string]any)) {
			action := rule["Action"].(map[string]any)
			if action["Allow"] != nil {
				return true, "allowed"
			}
			return false, rule["Name"].(string)
		}
	}
	return false, "sources" // the default action blocks
}

func TestWAFRulesAgree(t *testing.T) {
	rules := testPolicy.WAFRules("promfed-dev", "arn:v4", "arn:v6")
	sets := map[string][]string{"arn:v4": testPolicy.IPv4Sources(), "arn:v6": testPolicy.IPv6Sources()}
	for _, c := range requests {
		allow, rule := wafDecides(t, rules, sets, c.request())
		if allow != c.allow || rule != c.rule {
			t.Errorf("%s %s %s: WAF %v (%s), want %v (%s)", c.src, c.method, c.path, allow, rule, c.allow, c.rule)
		}
	}
	if got := fmt.Sprint(sets["arn:v4"]); got != "[198.51.100.0/24 203.0.113.7/32]" {
		t.Errorf("IPv4 set = %s", got)
	}
	if got := fmt.Sprint(sets["arn:v6"]); got != "[2001:db8::/32]" {
		t.Errorf("IPv6 set = %s", got)
	}
	var names []string
	for _, r := range rules {
		names = append(names, r["Name"].(string))
	}
	want := []string{"rate-limit", "aws-AWSManagedRulesCommonRuleSet", "aws-AWSManagedRulesKnownBadInputsRuleSet", "admin-api", "methods", "sources"}
	if !slices.Equal(names, want) {
		t.Errorf("rule order %v, want %v", names, want)
	}
	rate := rules[0]["Statement"].(obj)["RateBasedStatement"].(obj)
	if rate["Limit"] != 3000 || rate["EvaluationWindowSec"] != 300 || rate["AggregateKeyType"] != "IP" {
		t.Errorf("rate rule %v, want 3000 per 300 s per IP (600 a minute)", rate)
	}
}
