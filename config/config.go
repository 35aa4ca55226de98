// Package config loads and validates the stack's settings. It is pure Go: it
// knows nothing of Pulumi, so every rule is testable with a plain map.
package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/edgepolicy"
)

// Secret holds a sensitive value. It prints as a placeholder so that it never
// leaks through logs or error messages; Reveal hands the value to the code
// that wraps it as a Pulumi secret.
type Secret struct{ value string }

// String hides the value from fmt and logs.
func (s Secret) String() string { return "[secret]" }

// GoString hides the value from %#v.
func (s Secret) GoString() string { return "[secret]" }

// Reveal returns the value, for wrapping as a Pulumi secret.
func (s Secret) Reveal() string { return s.value }

// NewSecret wraps a value; tests and the bootstrap flow use it.
func NewSecret(v string) Secret { return Secret{value: v} }

// Config is the validated configuration of one stack.
type Config struct {
	Project string
	Stack   string
	Region  string

	NamePrefix string
	VpcCidr    netip.Prefix
	// RegionCidrs are the VPC CIDRs of the other regions shards run in
	// (regionVpcCidrs), by region.
	RegionCidrs map[string]netip.Prefix
	AzCount     int
	// StableLayout: subnets and placement by own index only (layout).
	StableLayout         bool
	SubnetPrefixLength   int
	NatStrategy          string
	FlowLogRetentionDays int
	// SessionLogRetentionDays keeps the Session Manager session logs.
	SessionLogRetentionDays int

	// PrimaryReplicas is how many identical primaries run (1 or 2).
	PrimaryReplicas       int
	PrimaryInstanceType   string
	SecondaryInstanceType string
	BastionInstanceType   string
	AmiFamily             string
	AmiID                 string
	// Shards group the secondaries; Hosts is every Prometheus host, derived
	// from the shards once.
	Shards              []Shard
	Hosts               []Host
	DataVolumeSizeGiB   int
	RetentionTime       string
	RetentionSize       string
	SnapshotRetainCount int
	SnapshotCopyRegion  string
	// AMP is the remote_write to Amazon Managed Service for Prometheus;
	// nil when ampRemoteWrite is empty.
	AMP *AMP

	AdminCidrs   []netip.Prefix
	AllowedCidrs []netip.Prefix
	// RequestsPerMinute is each client's budget at the edge.
	RequestsPerMinute int
	// CloudflarePlan decides the rate-limit rule's shape.
	CloudflarePlan string

	Domain                string
	DNSProvider           string
	Route53ZoneID         string
	CloudflareZoneID      string
	OriginPullCa          string
	OriginPullCertificate string
	OriginPullPrivateKey  Secret
	TLSPolicy             string
	InternalZone          string

	WebUsername string
	WebPassword Secret
	HostKeySeed Secret

	// Alert delivery: the SNS topic's subscriptions and optional receivers.
	AlertEmails         []string
	AlertHTTPSEndpoints []string
	AlertWebhookURL     Secret
	// HeartbeatURL receives the Watchdog heartbeat (a dead-man's switch).
	HeartbeatURL        Secret
	SlackWebhookURL     Secret
	SlackChannel        string
	PagerDutyRoutingKey Secret

	AccessLogRetentionDays int
	Inspector              bool
	FaultInjection         bool
	// GrafanaWorkspace: an Amazon Managed Grafana workspace (grafanaWorkspace).
	GrafanaWorkspace    bool
	Protect             bool
	ProvisionGeneration int
}

// Source supplies raw values: Get returns the value of a project key and
// whether it was set; IsSecret tells whether the stack stores it encrypted.
type Source interface {
	Get(key string) (string, bool)
	IsSecret(key string) bool
}

// ProviderSource is a Source that can also read keys of other namespaces
// (the providers' settings, such as cloudflare:apiToken), by full name.
type ProviderSource interface {
	GetQualified(key string) (string, bool)
	IsQualifiedSecret(key string) bool
}

// KeyLister is a Source that can list the project's keys that are set
// (without the namespace), so that a misspelled key is refused instead of
// silently ignored: "protected" would leave prod unprotected.
type KeyLister interface {
	SetKeys() []string
}

// ProviderSecrets are provider settings that are credentials: in a stack
// file they must be encrypted, like the project's own secrets.
var ProviderSecrets = []string{"cloudflare:apiToken", "cloudflare:apiKey", "aws:secretKey", "aws:token"}

// MapSource is a Source over a plain map; keys listed in Secrets count as
// encrypted. Tests and the Pulumi adapter both use it.
type MapSource struct {
	Values  map[string]string
	Secrets map[string]bool
}

// Get returns a value and whether it is set.
func (m MapSource) Get(key string) (string, bool) { v, ok := m.Values[key]; return v, ok }

// IsSecret tells whether key counts as encrypted.
func (m MapSource) IsSecret(key string) bool { return m.Secrets[key] }

// SetKeys lists the project's keys: those without a namespace.
func (m MapSource) SetKeys() []string {
	var out []string
	for k := range m.Values {
		if !strings.Contains(k, ":") {
			out = append(out, k)
		}
	}
	return out
}

// GetQualified reads a full key ("cloudflare:apiToken") from the same map.
func (m MapSource) GetQualified(key string) (string, bool) { return m.Get(key) }

// IsQualifiedSecret tells whether a full key counts as encrypted.
func (m MapSource) IsQualifiedSecret(key string) bool { return m.Secrets[key] }

// Error lists every problem found, so one run shows them all.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return fmt.Sprintf("invalid configuration (%d problem(s)):\n  - %s", len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

type loader struct {
	src      Source
	problems []string
}

func (l *loader) failf(format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

func (l *loader) raw(name string) string {
	k := lookupKey(name)
	v, ok := l.src.Get(name)
	if !ok {
		return k.Default
	}
	if k.Secret && v != "" && !l.src.IsSecret(name) {
		l.failf("%s is set in plain text; it must be a secret: pulumi config set --secret %s <value>", name, name)
	}
	return v
}

// unknownKeys refuses keys of the project's namespace that no setting has,
// suggesting the nearest known one.
func (l *loader) unknownKeys(project string, set []string) {
	slices.Sort(set)
	for _, k := range set {
		if slices.ContainsFunc(Keys, func(key Key) bool { return key.Name == k }) {
			continue
		}
		hint := ""
		if near := nearestKey(k); near != "" {
			hint = fmt.Sprintf("; did you mean %s?", near)
		}
		l.failf("%s:%s is not a setting of this project and would be ignored%s (every setting: the README's Configuration table)", project, k, hint)
	}
}

// nearestKey is the known key closest to k in edit distance, if it is
// close enough to be a likely typo.
func nearestKey(k string) string {
	best, bestDist := "", max(2, len(k)/3)+1
	for _, key := range Keys {
		if d := editDistance(strings.ToLower(k), strings.ToLower(key.Name)); d < bestDist {
			best, bestDist = key.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func (l *loader) str(name string) string { return strings.TrimSpace(l.raw(name)) }

func (l *loader) integer(name string, lo, hi int) int {
	s := l.str(name)
	n, err := strconv.Atoi(s)
	if err != nil {
		l.failf("%s %q is not an integer", name, s)
		return 0
	}
	if n < lo || n > hi {
		l.failf("%s %d is out of range: it must be between %d and %d", name, n, lo, hi)
	}
	return n
}

func (l *loader) boolean(name string) bool {
	s := l.str(name)
	b, err := strconv.ParseBool(s)
	if err != nil {
		l.failf("%s %q is not a boolean (true or false)", name, s)
	}
	return b
}

func (l *loader) oneOf(name string, allowed ...string) string {
	s := l.str(name)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	l.failf("%s %q is not allowed: it must be one of %s", name, s, strings.Join(allowed, ", "))
	return s
}

// items reads a list of strings given as a JSON array (what `pulumi config
// set --path` stores) or as a comma-separated string, each trimmed.
func (l *loader) items(name string) []string {
	s := l.str(name)
	if s == "" {
		return nil
	}
	var items []string
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &items); err != nil {
			l.failf("%s %q is not a list of strings: %v", name, s, err)
			return nil
		}
	} else {
		items = strings.Split(s, ",")
	}
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return items
}

// cidrs parses a list of CIDRs (see items), each without host bits.
func (l *loader) cidrs(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, item := range l.items(name) {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			l.failf("%s entry %q is not a valid CIDR", name, item)
			continue
		}
		if p != p.Masked() {
			l.failf("%s entry %q has host bits set; write %s", name, item, p.Masked())
			continue
		}
		out = append(out, p)
	}
	return out
}

var (
	namePrefixRe   = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	awsNameRe      = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)
	instanceTypeRe = regexp.MustCompile(`^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(nano|micro|small|medium|large|metal|[0-9]*xlarge|metal-[0-9]+xl)$`)
	amiRe          = regexp.MustCompile(`^ami-[0-9a-f]{8}([0-9a-f]{9})?$`)
	// Prometheus' own duration grammar (model.ParseDuration): each unit at
	// most once, largest first; "1h1d" or "1d1d" stop Prometheus at start.
	durationRe    = regexp.MustCompile(`^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$`)
	sizeRe        = regexp.MustCompile(`^\d+(B|KB|MB|GB|TB|PB|EB)$`)
	hostnameRe    = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	zoneNameRe    = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]{2,63}$`)
	route53ZoneRe = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
	cfZoneRe      = regexp.MustCompile(`^[0-9a-f]{32}$`)
	usernameRe    = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
)

// TLS 1.3 policies an ALB accepts (ELB.17); older policies are refused.
var tls13Policies = []string{
	"ELBSecurityPolicy-TLS13-1-2-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
	"ELBSecurityPolicy-TLS13-1-3-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
	"ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
}

// CloudWatch Logs accepts only these retention periods.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Load reads every key from src, applies defaults and validates. It returns
// all problems at once; no resource may be registered unless it succeeds.
func Load(project, stack, region string, src Source) (*Config, error) {
	l := &loader{src: src}
	c := &Config{Project: project, Stack: stack, Region: region}
	if kl, ok := src.(KeyLister); ok {
		l.unknownKeys(project, kl.SetKeys())
	}
	if region == "" {
		l.failf("aws:region is not set: pulumi config set aws:region <region>")
	}

	c.NamePrefix = l.str("namePrefix")
	if !namePrefixRe.MatchString(c.NamePrefix) || len(c.NamePrefix) > 20 {
		l.failf("namePrefix %q is not allowed: use 2-20 lowercase letters, digits and hyphens, starting with a letter", c.NamePrefix)
	}
	// Load balancer and target group names allow 32 letters, digits and
	// hyphens; the target group's gets an 8-character random suffix.
	for n, limit := range map[string]int{c.AlbName(): 32, c.TargetGroupName(): 32 - 8} {
		if len(n) > limit || !awsNameRe.MatchString(n) {
			l.failf("namePrefix %q with stack %q makes the AWS name %q (%d characters): this name allows at most %d letters, digits and hyphens; shorten namePrefix", c.NamePrefix, stack, n, len(n), limit)
		}
	}

	c.AzCount = l.integer("azCount", 2, 6)
	c.StableLayout = l.oneOf("layout", "stable", "legacy") == "stable"
	c.SubnetPrefixLength = l.integer("subnetPrefixLength", 16, 28)
	c.VpcCidr = l.vpcCidr(c.AzCount, c.SubnetPrefixLength)
	c.NatStrategy = l.oneOf("natStrategy", "none", "single", "per-az")
	c.FlowLogRetentionDays = l.integer("flowLogRetentionDays", 1, 3653)
	c.SessionLogRetentionDays = l.integer("sessionLogRetentionDays", 1, 3653)
	if !slices.Contains(logRetentionDays, c.SessionLogRetentionDays) {
		l.failf("sessionLogRetentionDays %d is not a retention CloudWatch Logs accepts: use one of %v", c.SessionLogRetentionDays, logRetentionDays)
	}
	if !slices.Contains(logRetentionDays, c.FlowLogRetentionDays) {
		l.failf("flowLogRetentionDays %d is not a retention CloudWatch Logs accepts: use one of %v", c.FlowLogRetentionDays, logRetentionDays)
	}

	c.PrimaryReplicas = l.integer("primaryReplicas", 1, 2)
	if c.AzCount > 0 && c.PrimaryReplicas > c.AzCount {
		l.failf("primaryReplicas %d needs at least %d availability zones but azCount is %d: each replica runs in its own AZ, so one zone outage never takes both", c.PrimaryReplicas, c.PrimaryReplicas, c.AzCount)
	}
	c.PrimaryInstanceType = l.instanceType("primaryInstanceType", true)
	c.SecondaryInstanceType = l.instanceType("secondaryInstanceType", true)
	c.BastionInstanceType = l.instanceType("bastionInstanceType", false)
	if f := l.str("amiFamily"); strings.HasPrefix(f, "ubuntu-") {
		// Offered once, never tested; 22.04's node_exporter (1.3) would not
		// even start with the TLS web configuration.
		l.failf("amiFamily %q is no longer offered: no Ubuntu image is tested by the end-to-end suite (and 22.04's node_exporter lacks --web.config.file); use %s, or pin amiId at your own risk", f, DefaultAMIFamily)
	}
	c.AmiFamily = l.oneOf("amiFamily", slices.Sorted(maps.Keys(AMIFamilies))...)
	c.AmiID = l.str("amiId")
	if c.AmiID != "" && !amiRe.MatchString(c.AmiID) {
		l.failf("amiId %q is not an AMI id (ami- followed by 8 or 17 hex digits)", c.AmiID)
	}
	if c.AmiID != "" && Architecture(c.PrimaryInstanceType) != Architecture(c.SecondaryInstanceType) {
		l.failf("amiId is pinned but primaryInstanceType %q (%s) and secondaryInstanceType %q (%s) need different architectures; one AMI cannot serve both",
			c.PrimaryInstanceType, Architecture(c.PrimaryInstanceType), c.SecondaryInstanceType, Architecture(c.SecondaryInstanceType))
	}
	if region != "" && !slices.Contains(Regions, region) {
		l.failf("aws:region %q is not an AWS region this program knows (%s ...)", region, strings.Join(Regions[:4], ", "))
	}
	c.Shards = l.shards(region, c.VpcCidr)
	c.DataVolumeSizeGiB = l.integer("dataVolumeSizeGiB", 10, 16384)
	c.RetentionTime = l.str("retentionTime")
	if !durationRe.MatchString(c.RetentionTime) || strings.Trim(c.RetentionTime, "0ywdhms") == "" {
		l.failf("retentionTime %q is not a positive Prometheus duration such as 15d or 2w (units y, w, d, h, m, s, ms, each at most once, largest first)", c.RetentionTime)
	}
	c.RetentionSize = l.str("retentionSize")
	if c.RetentionSize != "" && !sizeRe.MatchString(c.RetentionSize) {
		l.failf("retentionSize %q is not a Prometheus size such as 40GB (units B, KB, MB, GB, TB, PB, EB)", c.RetentionSize)
	}
	c.SnapshotRetainCount = l.integer("snapshotRetainCount", 1, 1000)
	restores := l.restores()
	c.AMP = l.amp(region)
	c.SnapshotCopyRegion = l.str("snapshotCopyRegion")
	if r := c.SnapshotCopyRegion; r != "" && (!slices.Contains(Regions, r) || r == region) {
		l.failf("snapshotCopyRegion %q must be an AWS region other than the stack's own (%s), such as eu-central-1 or us-east-2: the copies are for the loss of the home region", r, region)
	}

	l.regionVpcCidrs(c)
	l.providerSettings(c)

	c.AdminCidrs = l.cidrs("adminCidrs")
	if len(c.AdminCidrs) == 0 {
		l.failf("adminCidrs is empty: SSH to the bastion needs at least one source CIDR, for example [\"203.0.113.10/32\"]")
	}
	for _, p := range c.AdminCidrs {
		if p.Bits() == 0 {
			l.failf("adminCidrs entry %q opens SSH to the whole internet: 0.0.0.0/0 and ::/0 are refused", p)
		}
	}
	c.AllowedCidrs = l.cidrs("allowedCidrs")

	c.Domain = strings.ToLower(l.str("domain"))
	if c.Domain == "" {
		l.failf("domain is not set: the public name of the endpoint, for example prometheus.example.com")
	} else if !hostnameRe.MatchString(c.Domain) || len(c.Domain) > 253 {
		l.failf("domain %q is not a valid DNS name", c.Domain)
	}
	c.DNSProvider = l.oneOf("dnsProvider", "route53", "cloudflare")
	c.RequestsPerMinute = l.integer("requestsPerMinute", 10, 100000)
	c.CloudflarePlan = l.oneOf("cloudflarePlan", edgepolicy.CloudflarePlans...)
	c.Route53ZoneID = l.str("route53ZoneId")
	c.CloudflareZoneID = l.str("cloudflareZoneId")
	c.OriginPullCa = l.str("originPullCa")
	c.OriginPullCertificate = l.str("originPullCertificate")
	c.OriginPullPrivateKey = Secret{l.str("originPullPrivateKey")}
	switch c.DNSProvider {
	case "route53":
		if !route53ZoneRe.MatchString(c.Route53ZoneID) {
			l.failf("route53ZoneId %q is not a Route53 hosted zone id (Z followed by letters and digits); it is required when dnsProvider is route53", c.Route53ZoneID)
		}
		if len(c.AllowedCidrs) == 0 {
			l.failf("allowedCidrs is empty: without Cloudflare the ALB admits only these sources; list them (0.0.0.0/0 is allowed for a public endpoint)")
		}
	case "cloudflare":
		// The NAT gateways' addresses join the WAF's sources at deploy
		// time; check the rules fit with as many placeholders.
		probe := netip.MustParsePrefix("255.255.255.255/32")
		p := c.EdgePolicy(slices.Repeat([]netip.Prefix{probe}, c.NatGatewayCount()))
		if _, err := p.CloudflareRules(); err != nil {
			l.failf("%v", err)
		}
		if _, err := p.CloudflareRateLimit(c.CloudflarePlan); err != nil {
			l.failf("cloudflarePlan: %v", err)
		}
		if !cfZoneRe.MatchString(c.CloudflareZoneID) {
			l.failf("cloudflareZoneId %q is not a Cloudflare zone id (32 lowercase hex characters); it is required when dnsProvider is cloudflare", c.CloudflareZoneID)
		}
		if err := CheckOriginPull(c.OriginPullCa, c.OriginPullCertificate, c.OriginPullPrivateKey.Reveal()); err != nil {
			l.failf("%v", err)
		}
	}
	c.TLSPolicy = l.oneOf("tlsPolicy", tls13Policies...)

	c.InternalZone = strings.ToLower(l.str("internalZone"))
	if c.InternalZone == "" {
		c.InternalZone = strings.ToLower(stack) + ".promfed.internal"
	}
	if !zoneNameRe.MatchString(c.InternalZone) {
		l.failf("internalZone %q is not a valid DNS zone name", c.InternalZone)
	}

	c.WebUsername = l.str("webUsername")
	if !usernameRe.MatchString(c.WebUsername) {
		l.failf("webUsername %q is not allowed: 1-32 lowercase letters, digits, _ or -, starting with a letter or _", c.WebUsername)
	}
	c.WebPassword = Secret{l.raw("webPassword")}
	if n := len(c.WebPassword.value); n < 16 {
		l.failf("webPassword has %d characters: at least 16 are required (pulumi config set --secret webPassword <value>)", n)
	} else if strings.ContainsAny(c.WebPassword.value, "\x00\n\r") {
		l.failf("webPassword contains a NUL or line break, which basic auth cannot carry")
	}
	c.HostKeySeed = Secret{l.raw("hostKeySeed")}
	if n := len(c.HostKeySeed.value); n < 32 {
		l.failf("hostKeySeed has %d characters: at least 32 are required (for example: pulumi config set --secret hostKeySeed \"$(openssl rand -hex 32)\")", n)
	}
	l.alerting(c)

	if ps, ok := src.(ProviderSource); ok {
		for _, k := range ProviderSecrets {
			if v, set := ps.GetQualified(k); set && v != "" && !ps.IsQualifiedSecret(k) {
				l.failf("%s is set in plain text; it is a credential and must be a secret: pulumi config set --secret %s <value>", k, k)
			}
		}
	}
	c.AccessLogRetentionDays = l.integer("accessLogRetentionDays", 1, 3650)
	c.Inspector = l.boolean("inspector")
	c.FaultInjection = l.boolean("faultInjection")
	c.GrafanaWorkspace = l.boolean("grafanaWorkspace")
	c.Protect = l.boolean("protect")
	if c.Protect && !c.HasReceiver() {
		l.failf("protect is true but no alert receiver is set: a protected stack must tell someone when it breaks; set alertEmails, alertHttpsEndpoints, alertWebhookUrl, slackWebhookUrl, pagerDutyRoutingKey or a shard's alertEmails")
	}
	c.ProvisionGeneration = l.integer("provisionGeneration", 0, 1<<30)
	l.serviceLimits(c)

	if len(l.problems) > 0 {
		return nil, &Error{Problems: l.problems}
	}
	c.Hosts = hosts(c)
	// Host names exist only once the rest is valid.
	l.applyRestores(c, restores)
	if len(l.problems) > 0 {
		return nil, &Error{Problems: l.problems}
	}
	return c, nil
}

func (l *loader) instanceType(name string, forPrometheus bool) string {
	s := l.str(name)
	if !instanceTypeRe.MatchString(s) {
		l.failf("%s %q is not an EC2 instance type such as t3.medium", name, s)
		return s
	}
	if p := checkInstanceType(name, s, forPrometheus); p != "" {
		l.failf("%s", p)
	}
	return s
}

// vpcCidr checks the AWS VPC size rule and that one public and one private
// subnet per AZ fit.
func (l *loader) vpcCidr(azCount, subnetBits int) netip.Prefix {
	p, _ := l.vpcPrefix("vpcCidr", l.str("vpcCidr"), azCount, subnetBits)
	return p
}

// vpcPrefix checks one VPC's CIDR (the setting at path): ok is false after
// a problem.
func (l *loader) vpcPrefix(path, s string, azCount, subnetBits int) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		l.failf("%s %q is not a valid IPv4 CIDR", path, s)
		return netip.Prefix{}, false
	}
	if p != p.Masked() {
		l.failf("%s %q has host bits set; write %s", path, s, p.Masked())
		return netip.Prefix{}, false
	}
	if p.Bits() < 16 || p.Bits() > 24 {
		l.failf("%s %q has prefix /%d: a VPC must be between /16 and /24 here", path, s, p.Bits())
		return p, false
	}
	if subnetBits < p.Bits() {
		l.failf("subnetPrefixLength %d is shorter than %s's /%d: subnets must lie inside the VPC", subnetBits, path, p.Bits())
		return p, false
	}
	if available, need := 1<<(subnetBits-p.Bits()), 2*azCount; available < need {
		l.failf("%s %q holds %d subnets of /%d, but %d are needed (one public and one private per AZ, azCount %d)", path, s, available, subnetBits, need, azCount)
		return p, false
	}
	return p, true
}

// Architecture is the CPU architecture an instance type runs, from the
// family table; outside it, Graviton families carry a "g" in their
// attribute letters (t4g, m7g, c6gn).
func Architecture(instanceType string) string {
	family, _, _ := strings.Cut(instanceType, ".")
	if f, ok := instanceFamilies[family]; ok {
		return f.Arch
	}
	i := strings.IndexAny(family, "0123456789")
	if i >= 0 && strings.Contains(strings.TrimLeft(family[i:], "0123456789"), "g") {
		return "arm64"
	}
	return "x86_64"
}

// AlbName is the load balancer's AWS name.
func (c *Config) AlbName() string { return c.NamePrefix + "-" + c.Stack }

// TargetGroupName is the target group's AWS name.
func (c *Config) TargetGroupName() string { return c.NamePrefix + "-" + c.Stack + "-tg" }

// Fqdn is a host's name in the private zone.
func (c *Config) Fqdn(host string) string { return host + "." + c.InternalZone }

// Cloudflare tells whether the Cloudflare edge is in front of the ALB.
func (c *Config) Cloudflare() bool { return c.DNSProvider == "cloudflare" }

// NatGatewayCount is how many NAT gateways natStrategy makes.
func (c *Config) NatGatewayCount() int {
	switch c.NatStrategy {
	case "single":
		return 1
	case "per-az":
		return c.AzCount
	}
	return 0
}

// EdgePolicy is who may call the endpoint: allowedCidrs and the probe
// sources (the NAT gateways' addresses), on every path, within the budget.
// Both edges render it (internal/edgepolicy).
func (c *Config) EdgePolicy(probeSources []netip.Prefix) edgepolicy.Policy {
	return edgepolicy.Policy{Host: c.Domain, Sources: append(slices.Clone(c.AllowedCidrs), probeSources...),
		RequestsPerMinute: c.RequestsPerMinute}
}

// Tags go on every taggable resource.
func (c *Config) Tags() map[string]string {
	return map[string]string{
		contract.TagProject:   c.Project,
		contract.TagStack:     c.Stack,
		contract.TagManagedBy: "pulumi",
	}
}
