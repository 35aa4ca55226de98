package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Values that pass their key's shape check but that AWS, ACM, S3 or
// Prometheus would refuse (or silently mishandle) halfway through an up:
// each class is refused at load, with the key, the value and the rule.
func TestServiceLimits(t *testing.T) {
	manyV4 := func(n int) string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf(`"198.51.%d.0/24"`, i))
		}
		return "[" + strings.Join(out, ",") + "]"
	}
	cases := []struct {
		name string
		set  map[string]string
		want string
	}{
		// Address ranges and quotas.
		{"loopback vpc", map[string]string{"vpcCidr": "127.0.0.0/16"}, `vpcCidr "127.0.0.0/16" overlaps 127.0.0.0/8, which AWS refuses for a VPC (loopback)`},
		{"multicast vpc", map[string]string{"vpcCidr": "224.10.0.0/16"}, `overlaps 224.0.0.0/4, which AWS refuses for a VPC (multicast)`},
		{"link-local vpc", map[string]string{"vpcCidr": "169.254.0.0/16"}, `overlaps 169.254.0.0/16, which AWS refuses for a VPC (link-local`},
		{"subnet too small for an alb", map[string]string{"subnetPrefixLength": "28"}, `subnetPrefixLength 28 makes subnets smaller than /27, the smallest an ALB accepts`},
		{"duplicate admin cidr", map[string]string{"adminCidrs": `["203.0.113.10/32","192.0.2.0/24","203.0.113.10/32"]`}, `adminCidrs[2] "203.0.113.10/32" repeats adminCidrs[0]`},
		{"duplicate allowed cidr", map[string]string{"allowedCidrs": `["198.51.100.0/24","198.51.100.0/24"]`}, `allowedCidrs[1] "198.51.100.0/24" repeats allowedCidrs[0]`},
		{"admin cidrs cover the internet", map[string]string{"adminCidrs": `["0.0.0.0/1","128.0.0.0/2","192.0.0.0/2"]`}, `adminCidrs together cover the whole IPv4 internet (0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/2)`},
		{"admin cidrs ipv6 only", map[string]string{"adminCidrs": `["2001:db8::/48"]`}, `adminCidrs has only IPv6 entries, but the bastion is reached over IPv4`},
		{"admin cidrs over the acl quota", map[string]string{"adminCidrs": manyV4(16)}, `adminCidrs has 16 IPv4 entries: with the public network ACL's 5 fixed rules that is 21 inbound rules, over the default quota of 20`},
		{"allowed cidrs over the sg quota", map[string]string{"allowedCidrs": manyV4(30)}, `allowedCidrs has 30 IPv4 entries: the load balancer's security group would need 61 inbound rules`},
		// Instance types.
		{"unknown family", map[string]string{"primaryInstanceType": "q9z.large"}, `primaryInstanceType "q9z.large": the family "q9z" is not one this program knows`},
		{"previous generation", map[string]string{"secondaryInstanceType": "m4.large"}, `secondaryInstanceType "m4.large" is a previous-generation (Xen) type, not EBS-optimized by default`},
		{"size that does not exist", map[string]string{"primaryInstanceType": "t3.4xlarge"}, `primaryInstanceType "t3.4xlarge" does not exist: t3 comes in nano, micro`},
		{"x86 medium", map[string]string{"primaryInstanceType": "m6i.medium"}, `primaryInstanceType "m6i.medium" does not exist: x86 families other than t3 and t3a start at large`},
		{"too small for prometheus", map[string]string{"secondaryInstanceType": "t3.micro"}, `secondaryInstanceType "t3.micro" has less than 2 GiB of memory`},
		// Sizes.
		{"retention larger than the volume", map[string]string{"dataVolumeSizeGiB": "50", "retentionSize": "45GB"}, `retentionSize "45GB" is more than 80% of dataVolumeSizeGiB 50 (40.0 GiB)`},
		{"retention in exabytes", map[string]string{"retentionSize": "20EB"}, `retentionSize "20EB" is more than 80% of dataVolumeSizeGiB 50`},
		// Names.
		{"alb name starting internal-", map[string]string{"namePrefix": "internal"}, `namePrefix "internal" makes the load balancer name "internal-dev", and Elastic Load Balancing refuses names starting with "internal-"`},
		{"bucket name starting xn--", map[string]string{"namePrefix": "xn--promfed"}, `namePrefix "xn--promfed" starts with "xn--", which S3 refuses at the start of a bucket name`},
		{"domain longer than acm allows", map[string]string{"domain": strings.Repeat("a", 60) + ".example.com"}, `has 72 octets: ACM puts it in the certificate's common name, which allows at most 64`},
		{"domain no public zone can hold", map[string]string{"domain": "prometheus.corp.internal"}, `domain "prometheus.corp.internal" is under the special-use name "internal"`},
		{"internal zone shadows the domain", map[string]string{"internalZone": "example.com"}, `internalZone "example.com" contains the public domain "prometheus.example.com"`},
		// Secrets and reachability.
		{"low-entropy seed", map[string]string{"hostKeySeed": strings.Repeat("ab", 20)}, `hostKeySeed has 1.0 bits of entropy per character (under 3)`},
		{"no way out for the hosts", map[string]string{"natStrategy": "none"}, `natStrategy "none" leaves the private hosts without a way out`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := validRoute53()
			for k, val := range tc.set {
				v[k] = val
			}
			c, err := load(t, v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
			if c != nil {
				t.Error("a config was returned with the error")
			}
			if tc.name == "low-entropy seed" && strings.Contains(err.Error(), v["hostKeySeed"]) {
				t.Error("the error shows the seed")
			}
		})
	}
	// The stock settings stay clear of every limit.
	if _, err := load(t, validRoute53()); err != nil {
		t.Fatal(err)
	}
}

// An origin-pull certificate outside its validity would make the ALB refuse
// every request from Cloudflare.
func TestOriginPullCertificateDates(t *testing.T) {
	v := validCloudflare(t)
	defer func() { Now = time.Now }()
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Now().Add(48 * time.Hour), `originPullCertificate "CN=cloudflare client" expired on`},
		{time.Now().Add(-48 * time.Hour), `originPullCertificate "CN=cloudflare client" is not valid before`},
	} {
		Now = func() time.Time { return tc.at }
		if _, err := load(t, v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("at %s: want %q, got %v", tc.at, tc.want, err)
		}
	}
	Now = time.Now
	if _, err := load(t, v); err != nil {
		t.Errorf("a valid certificate refused: %v", err)
	}
}

func TestCoversAll(t *testing.T) {
	for list, want := range map[string]bool{
		"0.0.0.0/1 128.0.0.0/1":                       true,
		"0.0.0.0/1 128.0.0.0/2":                       false,
		"0.0.0.0/2 64.0.0.0/2 128.0.0.0/1":            true,
		"0.0.0.0/2 128.0.0.0/1 64.0.0.0/3":            false,
		"10.0.0.0/8 0.0.0.0/1 128.0.0.0/1":            true,
		"203.0.113.0/24":                              false,
		"0.0.0.0/1 0.0.0.0/2 127.0.0.0/8 128.0.0.0/1": true,
	} {
		var ps []string
		for _, f := range strings.Fields(list) {
			ps = append(ps, `"`+f+`"`)
		}
		l := &loader{src: MapSource{Values: map[string]string{"adminCidrs": "[" + strings.Join(ps, ",") + "]"}}}
		if got := coversAll(l.cidrs("adminCidrs")); got != want {
			t.Errorf("%s: covers all = %v, want %v", list, got, want)
		}
	}
}
