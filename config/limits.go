package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"math"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What AWS and Prometheus refuse, as data: each limit names its source, so
// a reviewer can check it against the documentation. serviceLimits applies
// them to a loaded configuration; a value that passes its own key's shape
// check can still break one of these only in combination with others.

// Default quotas and hard limits.
const (
	// Inbound (and outbound) rules per security group, counted per address
	// family. Amazon VPC User Guide, "Amazon VPC quotas", Security groups
	// (adjustable; the default is what a new account gets).
	sgRulesPerFamily = 60
	// Rules per network ACL per direction, counted per address family.
	// Amazon VPC User Guide, "Amazon VPC quotas", Network ACLs.
	naclRulesPerDirection = 20
	// Inbound IPv4 rules the public network ACL has before the admin
	// CIDRs: 443, 80, the VPC, TCP and UDP return traffic
	// (components/network, newACLs; a test there keeps this in step).
	PublicACLBaseRules = 5
	// An ALB needs subnets of at least /27 with 8 free addresses. Elastic
	// Load Balancing User Guide, "Application Load Balancers", Subnets.
	albMinSubnetBits = 27
	// ACM: the first domain name of a request becomes the certificate's
	// common name and may have at most 64 octets. ACM API Reference,
	// RequestCertificate, DomainName.
	acmMaxDomainOctets = 64
	// Prometheus storage docs ("Operational aspects"): keep
	// --storage.tsdb.retention.size to about 80-85% of the disk, because the
	// WAL and the head block come on top.
	retentionShareOfVolume = 0.8
	// Below this many bits of entropy per character a seed is a pattern
	// (a word repeated, a keyboard row), not a random value; a hex string
	// from openssl rand has about 4.
	minSeedBitsPerChar = 3.0
)

// Reserved IPv4 ranges AWS does not accept as a VPC CIDR, with the reason.
// Amazon VPC User Guide, "VPC CIDR blocks", IPv4 VPC CIDR block
// restrictions; RFC 6890 for what each range is.
var reservedVPCRanges = []struct {
	Prefix netip.Prefix
	What   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (RFC 6890)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local, where the instance metadata service answers"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (former class E) and broadcast"},
}

// Name rules of the services, for names built from namePrefix and stack.
var (
	// Elastic Load Balancing API Reference, CreateLoadBalancer and
	// CreateTargetGroup, Name: must not begin with "internal-".
	albReservedPrefixes = []string{"internal-"}
	// Amazon S3 User Guide, "General purpose bucket naming rules": names
	// must not start with these (the access-log bucket is named from
	// namePrefix).
	bucketReservedPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	// Special-use names (RFC 6761, RFC 6762, RFC 8375, RFC 9476): no public
	// zone can hold them, so ACM could never validate a certificate.
	specialUseTLDs = []string{"test", "example", "invalid", "localhost", "local", "internal", "alt", "home.arpa", "onion"}
)

// Instance families the hosts may use: architecture, and whether the
// family is burstable (t*: sizes nano to 2xlarge). Families missing here
// are refused until added, with their architecture, from the Amazon EC2
// Instance Types guide ("Current generation instances"); all of these are
// Nitro-based and EBS-optimized by default.
var instanceFamilies = map[string]struct {
	Arch      string
	Burstable bool
}{
	"t3": {"x86_64", true}, "t3a": {"x86_64", true}, "t4g": {"arm64", true},
	"m5": {"x86_64", false}, "m5a": {"x86_64", false}, "m5d": {"x86_64", false}, "m5n": {"x86_64", false}, "m5zn": {"x86_64", false},
	"m6i": {"x86_64", false}, "m6id": {"x86_64", false}, "m6in": {"x86_64", false}, "m6a": {"x86_64", false},
	"m7i": {"x86_64", false}, "m7i-flex": {"x86_64", false}, "m7a": {"x86_64", false}, "m8i": {"x86_64", false},
	"m6g": {"arm64", false}, "m6gd": {"arm64", false}, "m7g": {"arm64", false}, "m7gd": {"arm64", false}, "m8g": {"arm64", false},
	"c5": {"x86_64", false}, "c5a": {"x86_64", false}, "c5d": {"x86_64", false}, "c5n": {"x86_64", false},
	"c6i": {"x86_64", false}, "c6id": {"x86_64", false}, "c6in": {"x86_64", false}, "c6a": {"x86_64", false},
	"c7i": {"x86_64", false}, "c7i-flex": {"x86_64", false}, "c7a": {"x86_64", false},
	"c6g": {"arm64", false}, "c6gd": {"arm64", false}, "c6gn": {"arm64", false}, "c7g": {"arm64", false}, "c7gd": {"arm64", false}, "c8g": {"arm64", false},
	"r5": {"x86_64", false}, "r5a": {"x86_64", false}, "r5b": {"x86_64", false}, "r5d": {"x86_64", false}, "r5n": {"x86_64", false},
	"r6i": {"x86_64", false}, "r6id": {"x86_64", false}, "r6in": {"x86_64", false}, "r6a": {"x86_64", false},
	"r7i": {"x86_64", false}, "r7iz": {"x86_64", false}, "r7a": {"x86_64", false},
	"r6g": {"arm64", false}, "r6gd": {"arm64", false}, "r7g": {"arm64", false}, "r7gd": {"arm64", false}, "r8g": {"arm64", false},
	"i4i": {"x86_64", false}, "i4g": {"arm64", false}, "x2idn": {"x86_64", false}, "x2iedn": {"x86_64", false}, "z1d": {"x86_64", false},
}

// AMIFamily is an OS image the program looks up when amiId is empty: its
// publisher's account and the image name pattern (%s is the Debian
// architecture, amd64 or arm64). Debian's own account publishes both
// (Debian Wiki, "Cloud/AmazonEC2Image"). Each one is converged by the
// end-to-end suite (test/e2e: full checks on Debian 13, a smoke pass on 12).
type AMIFamily struct{ Owner, NamePattern string }

// AMIFamilies are the families amiFamily accepts; DefaultAMIFamily is the
// one a stack gets when it sets none.
var AMIFamilies = map[string]AMIFamily{
	"debian-13": {"136693071363", "debian-13-%s-*"},
	"debian-12": {"136693071363", "debian-12-%s-*"},
}

// DefaultAMIFamily is Debian's current stable release.
const DefaultAMIFamily = "debian-13"

// Previous-generation families: Xen-based, not EBS-optimized by default (the
// TSDB's disk traffic would share the network link), and their device
// names differ from the NVMe names the data mount looks for first. Amazon
// EC2 Instance Types guide, "Previous generation instances".
var previousGenerationFamilies = []string{"t1", "t2", "m1", "m2", "m3", "m4", "c1", "c3", "c4", "r3", "r4", "i2", "i3", "d2", "x1", "x1e", "g2", "g3", "p2", "h1"}

// Sizes by the memory they bring: Prometheus and a playbook run need
// about 2 GiB, so the sub-2 GiB burstable sizes serve the bastion only.
var (
	tinySizes      = []string{"nano", "micro"}
	burstableSizes = []string{"nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"}
)

// checkInstanceType applies the family table to one instance type setting
// and returns the problem, if any. forPrometheus refuses sizes too small
// to run a Prometheus host.
func checkInstanceType(key, value string, forPrometheus bool) string {
	family, size, _ := strings.Cut(value, ".")
	if slices.Contains(previousGenerationFamilies, family) {
		return fmt.Sprintf("%s %q is a previous-generation (Xen) type, not EBS-optimized by default: use a current Nitro family such as t3, m6i or m7g", key, value)
	}
	f, ok := instanceFamilies[family]
	if !ok {
		return fmt.Sprintf("%s %q: the family %q is not one this program knows (config/limits.go lists them, with their architecture); use t3, t3a, t4g, m6i, m7g, c7g, r6i, ... or add the family there", key, value, family)
	}
	switch {
	case f.Burstable && !slices.Contains(burstableSizes, size):
		return fmt.Sprintf("%s %q does not exist: %s comes in %s", key, value, family, strings.Join(burstableSizes, ", "))
	case !f.Burstable && (size == "nano" || size == "micro" || size == "small"):
		return fmt.Sprintf("%s %q does not exist: only burstable families (t3, t3a, t4g) have %s sizes", key, value, size)
	case !f.Burstable && size == "medium" && f.Arch != "arm64":
		return fmt.Sprintf("%s %q does not exist: x86 families other than t3 and t3a start at large", key, value)
	case forPrometheus && slices.Contains(tinySizes, size):
		return fmt.Sprintf("%s %q has less than 2 GiB of memory, too little for Prometheus and a playbook run: use small or larger", key, value)
	}
	return ""
}

// serviceLimits checks what the services refuse only in combination, once
// every key has been read. It returns no problem for a value its own check
// already refused.
func (l *loader) serviceLimits(c *Config) {
	l.reservedRanges("vpcCidr", c.VpcCidr)
	for _, region := range slices.Sorted(maps.Keys(c.RegionCidrs)) {
		l.reservedRanges("regionVpcCidrs "+region, c.RegionCidrs[region])
	}
	if c.SubnetPrefixLength > albMinSubnetBits {
		l.failf("subnetPrefixLength %d makes subnets smaller than /%d, the smallest an ALB accepts (it needs 8 free addresses per subnet)", c.SubnetPrefixLength, albMinSubnetBits)
	}
	l.cidrLists(c)
	l.names(c)
	if c.NatStrategy == "none" {
		l.failf("natStrategy \"none\" leaves the private hosts without a way out, but they install Prometheus from the distribution's mirrors and read their secrets from SSM over HTTPS: use single or per-az")
	}
	if c.RetentionSize != "" {
		if b, ok := prometheusBytes(c.RetentionSize); ok {
			limit := retentionShareOfVolume * float64(c.DataVolumeSizeGiB) * (1 << 30)
			if float64(b) > limit {
				l.failf("retentionSize %q is more than %.0f%% of dataVolumeSizeGiB %d (%.1f GiB): the WAL and the head block need the rest, and a full disk stops ingestion; lower retentionSize or grow the volume",
					c.RetentionSize, retentionShareOfVolume*100, c.DataVolumeSizeGiB, limit/(1<<30))
			}
		}
	}
	if seed := c.HostKeySeed.value; len(seed) >= 32 && bitsPerChar(seed) < minSeedBitsPerChar {
		l.failf("hostKeySeed has %.1f bits of entropy per character (under %.0f): it looks like a pattern, not a random value; every host key and the stack CA derive from it (value hidden; generate one with openssl rand -hex 32)", bitsPerChar(seed), minSeedBitsPerChar)
	}
	if c.Cloudflare() && c.OriginPullCertificate != "" {
		l.certificateDates("originPullCertificate", c.OriginPullCertificate)
		l.certificateDates("originPullCa", c.OriginPullCa)
	}
}

// cidrLists: duplicates, rule quotas, and admin lists that defeat their
// purpose.
func (l *loader) cidrLists(c *Config) {
	for key, list := range map[string][]netip.Prefix{"adminCidrs": c.AdminCidrs, "allowedCidrs": c.AllowedCidrs} {
		for i, p := range list {
			if j := slices.Index(list, p); j < i {
				l.failf("%s[%d] %q repeats %s[%d]: each entry becomes security-group and ACL rules with the same name", key, i, p, key, j)
			}
		}
	}
	v4, v6 := split(c.AdminCidrs)
	if len(c.AdminCidrs) > 0 && len(v4) == 0 {
		l.failf("adminCidrs has only IPv6 entries, but the bastion is reached over IPv4 (its Elastic IP; the VPC has no IPv6): add your IPv4 address")
	}
	if coversAll(v4) {
		l.failf("adminCidrs together cover the whole IPv4 internet (%s): that opens SSH to everyone, like 0.0.0.0/0; list your own networks", prefixList(v4))
	}
	if n := PublicACLBaseRules + len(v4); n > naclRulesPerDirection {
		l.failf("adminCidrs has %d IPv4 entries: with the public network ACL's %d fixed rules that is %d inbound rules, over the default quota of %d per ACL; summarize them into fewer CIDRs", len(v4), PublicACLBaseRules, n, naclRulesPerDirection)
	}
	if len(v6) > naclRulesPerDirection {
		l.failf("adminCidrs has %d IPv6 entries, over the default quota of %d network ACL rules per direction", len(v6), naclRulesPerDirection)
	}
	if !c.Cloudflare() {
		// Without Cloudflare every allowed CIDR is two ALB rules (443 and
		// 80), and each NAT gateway one more (the endpoint probe).
		a4, a6 := split(c.AllowedCidrs)
		if n := 2*len(a4) + c.NatGatewayCount(); n > sgRulesPerFamily {
			l.failf("allowedCidrs has %d IPv4 entries: the load balancer's security group would need %d inbound rules (443 and 80 each, plus %d for the NAT gateways), over the default quota of %d; summarize them or use Cloudflare", len(a4), n, c.NatGatewayCount(), sgRulesPerFamily)
		}
		if n := 2 * len(a6); n > sgRulesPerFamily {
			l.failf("allowedCidrs has %d IPv6 entries: the load balancer's security group would need %d inbound IPv6 rules, over the default quota of %d", len(a6), n, sgRulesPerFamily)
		}
	}
}

// names: AWS naming rules for names built from settings, and DNS names no
// public zone can validate or that the private zone would shadow.
func (l *loader) names(c *Config) {
	for _, p := range albReservedPrefixes {
		if strings.HasPrefix(c.AlbName(), p) {
			l.failf("namePrefix %q makes the load balancer name %q, and Elastic Load Balancing refuses names starting with %q: choose another namePrefix", c.NamePrefix, c.AlbName(), p)
		}
	}
	for _, p := range bucketReservedPrefixes {
		if strings.HasPrefix(c.NamePrefix, p) {
			l.failf("namePrefix %q starts with %q, which S3 refuses at the start of a bucket name (the access-log bucket is named from namePrefix): choose another namePrefix", c.NamePrefix, p)
		}
	}
	if c.Domain == "" {
		return
	}
	if len(c.Domain) > acmMaxDomainOctets {
		l.failf("domain %q has %d octets: ACM puts it in the certificate's common name, which allows at most %d; use a shorter name", c.Domain, len(c.Domain), acmMaxDomainOctets)
	}
	for _, tld := range specialUseTLDs {
		if c.Domain == tld || strings.HasSuffix(c.Domain, "."+tld) {
			l.failf("domain %q is under the special-use name %q, which no public DNS zone can hold, so ACM can never validate its certificate: use a name in a public zone you own", c.Domain, tld)
		}
	}
	if c.InternalZone != "" && (c.Domain == c.InternalZone || strings.HasSuffix(c.Domain, "."+c.InternalZone)) {
		l.failf("internalZone %q contains the public domain %q: inside the VPC the private zone would answer for it, and the endpoint probe and clients there would not reach the load balancer; choose an internalZone outside the public name", c.InternalZone, c.Domain)
	}
}

// reservedRanges refuses a VPC CIDR in a range AWS keeps for itself.
func (l *loader) reservedRanges(what string, p netip.Prefix) {
	for _, r := range reservedVPCRanges {
		if p.IsValid() && p.Overlaps(r.Prefix) {
			l.failf("%s %q overlaps %s, which AWS refuses for a VPC (%s): use a private range such as 10.40.0.0/16", what, p, r.Prefix, r.What)
		}
	}
}

// certificateDates refuses a certificate that is expired or not yet valid.
func (l *loader) certificateDates(key, certPEM string) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil {
		return // CheckOriginPull reports it
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return
	}
	now := Now()
	switch {
	case now.After(cert.NotAfter):
		l.failf("%s %q expired on %s: the ALB would refuse every request; issue a new one", key, cert.Subject, cert.NotAfter.Format(time.DateOnly))
	case now.Before(cert.NotBefore):
		l.failf("%s %q is not valid before %s: requests would fail until then; check its dates or the issuer's clock", key, cert.Subject, cert.NotBefore.Format(time.RFC3339))
	}
}

// Now is the clock certificate dates are checked against; tests set it.
var Now = time.Now

// prometheusBytes reads a Prometheus size (its units are powers of 1024).
func prometheusBytes(s string) (uint64, bool) {
	units := []string{"EB", "PB", "TB", "GB", "MB", "KB", "B"}
	for i, u := range units {
		n, ok := strings.CutSuffix(s, u)
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			return 0, false
		}
		x := new(big.Int).Lsh(big.NewInt(1), uint(10*(len(units)-1-i)))
		x.Mul(x, new(big.Int).SetUint64(v))
		if !x.IsUint64() {
			return math.MaxUint64, true
		}
		return x.Uint64(), true
	}
	return 0, false
}

// bitsPerChar is the Shannon entropy of s per character.
func bitsPerChar(s string) float64 {
	counts := map[rune]int{}
	for _, r := range s {
		counts[r]++
	}
	n, h := float64(len([]rune(s))), 0.0
	for _, c := range counts {
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}

func split(list []netip.Prefix) (v4, v6 []netip.Prefix) {
	for _, p := range list {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return v4, v6
}

// coversAll tells whether IPv4 prefixes together cover every address.
func coversAll(v4 []netip.Prefix) bool {
	type span struct{ lo, hi uint64 }
	var spans []span
	for _, p := range v4 {
		a := p.Masked().Addr().As4()
		lo := uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
		spans = append(spans, span{lo, lo + 1<<(32-p.Bits()) - 1})
	}
	slices.SortFunc(spans, func(x, y span) int { return int(x.lo) - int(y.lo) }) //nolint:gosec // both fit in 32 bits
	next := uint64(0)
	for _, s := range spans {
		if s.lo > next {
			return false
		}
		next = max(next, s.hi+1)
	}
	return next > math.MaxUint32
}

func prefixList(ps []netip.Prefix) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, ", ")
}
