package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"strings"
	"testing"
	"time"
)

// validRoute53 is a complete, valid dev-like configuration.
func validRoute53() map[string]string {
	return map[string]string{
		"adminCidrs":    `["203.0.113.10/32"]`,
		"allowedCidrs":  `["198.51.100.0/24"]`,
		"domain":        "prometheus.example.com",
		"route53ZoneId": "Z0123456789ABCDEFGHIJ",
		"webPassword":   "correct-horse-battery-staple",
		"hostKeySeed":   "0123456789abcdef0123456789abcdef",
	}
}

var secretKeys = map[string]bool{
	"webPassword": true, "hostKeySeed": true, "originPullPrivateKey": true,
	"alertWebhookUrl": true, "slackWebhookUrl": true, "pagerDutyRoutingKey": true, "heartbeatUrl": true,
}

func load(t *testing.T, values map[string]string) (*Config, error) {
	t.Helper()
	return Load("promfed", "dev", "eu-west-1", MapSource{Values: values, Secrets: secretKeys})
}

func TestDefaults(t *testing.T) {
	c, err := load(t, validRoute53())
	if err != nil {
		t.Fatal(err)
	}
	if c.VpcCidr.String() != "10.40.0.0/16" || c.AzCount != 2 || c.NatStrategy != "single" {
		t.Errorf("network defaults: %v %d %s", c.VpcCidr, c.AzCount, c.NatStrategy)
	}
	if len(c.Shards) != 1 || c.Shards[0].Name != "main" || c.Shards[0].Secondaries != 1 {
		t.Errorf("default shards: %+v", c.Shards)
	}
	if c.RetentionTime != "15d" || c.TLSPolicy != "ELBSecurityPolicy-TLS13-1-2-2021-06" || c.InternalZone != "dev.promfed.internal" {
		t.Errorf("defaults: %q %q %q", c.RetentionTime, c.TLSPolicy, c.InternalZone)
	}
	if got := strings.Join(c.HostNames(), ","); got != "primary-a,secondary-main-1" {
		t.Errorf("HostNames = %s", got)
	}
	if c.Protect || c.Cloudflare() || c.AlbName() != "promfed-dev" || c.TargetGroupName() != "promfed-dev-tg" {
		t.Errorf("protect=%v cloudflare=%v alb=%s tg=%s", c.Protect, c.Cloudflare(), c.AlbName(), c.TargetGroupName())
	}
	if c.AmiFamily != "debian-13" {
		t.Errorf("amiFamily defaults to %q, want debian-13 (Debian's current stable)", c.AmiFamily)
	}
	if h := c.Hosts[1]; h.RestoreSnapshot != "" {
		t.Errorf("%s restores %q without restoreSnapshots", h.Name, h.RestoreSnapshot)
	}
	withRestore := validRoute53()
	withRestore["restoreSnapshots"] = `[{"host":"secondary-main-1","snapshot":"snap-0123456789abcdef0"}]`
	if c, err := load(t, withRestore); err != nil || c.Hosts[1].Name != "secondary-main-1" || c.Hosts[1].RestoreSnapshot != "snap-0123456789abcdef0" || c.Hosts[0].RestoreSnapshot != "" {
		t.Errorf("restoreSnapshots: %v, %+v", err, c)
	}
	// Debian 12 stays selectable (the end-to-end suite still converges it).
	old := validRoute53()
	old["amiFamily"] = "debian-12"
	if c, err := load(t, old); err != nil || c.AmiFamily != "debian-12" {
		t.Errorf("amiFamily debian-12: %v, %v", err, c)
	}
}

func TestEveryKeyHasADescriptionAndKnownDefault(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Keys {
		if seen[k.Name] {
			t.Errorf("key %s listed twice", k.Name)
		}
		seen[k.Name] = true
		if len(k.Description) < 20 {
			t.Errorf("key %s needs a real description", k.Name)
		}
	}
}

func TestRules(t *testing.T) {
	cases := []struct {
		name, key, value, want string
	}{
		{"vpc not a cidr", "vpcCidr", "10.0.0.0/33", `vpcCidr "10.0.0.0/33" is not a valid IPv4 CIDR`},
		{"vpc ipv6", "vpcCidr", "fd00::/48", `vpcCidr "fd00::/48" is not a valid IPv4 CIDR`},
		{"vpc host bits", "vpcCidr", "10.0.0.1/16", `has host bits set; write 10.0.0.0/16`},
		{"vpc too big", "vpcCidr", "10.0.0.0/8", `prefix /8: a VPC must be between /16 and /24`},
		{"subnets do not fit", "vpcCidr", "10.0.0.0/23", `holds 2 subnets of /24, but 4 are needed`},
		{"az count low", "azCount", "1", `azCount 1 is out of range: it must be between 2 and 6`},
		{"az count text", "azCount", "two", `azCount "two" is not an integer`},
		{"protect without receiver", "protect", "true", `protect is true but no alert receiver is set`},
		{"edge budget low", "requestsPerMinute", "5", `requestsPerMinute 5 is out of range: it must be between 10 and 100000`},
		{"nat", "natStrategy", "gateway", `natStrategy "gateway" is not allowed: it must be one of none, single, per-az`},
		{"flow retention", "flowLogRetentionDays", "10", `flowLogRetentionDays 10 is not a retention CloudWatch Logs accepts`},
		{"instance type", "primaryInstanceType", "t3medium", `primaryInstanceType "t3medium" is not an EC2 instance type`},
		{"bastion type", "bastionInstanceType", "huge", `bastionInstanceType "huge" is not an EC2 instance type`},
		{"ami", "amiId", "ami-xyz", `amiId "ami-xyz" is not an AMI id`},
		{"ami family", "amiFamily", "centos-7", `amiFamily "centos-7" is not allowed`},
		{"retention", "retentionTime", "15days", `retentionTime "15days" is not a positive Prometheus duration`},
		{"retention zero", "retentionTime", "0d", `retentionTime "0d" is not a positive Prometheus duration`},
		{"retention units out of order", "retentionTime", "12h1d", `retentionTime "12h1d" is not a positive Prometheus duration such as 15d or 2w (units y, w, d, h, m, s, ms, each at most once, largest first)`},
		{"retention unit twice", "retentionTime", "1d1d", `retentionTime "1d1d" is not a positive Prometheus duration`},
		{"retention size", "retentionSize", "40G", `retentionSize "40G" is not a Prometheus size`},
		{"ssh from anywhere v4", "adminCidrs", `["0.0.0.0/0"]`, `adminCidrs entry "0.0.0.0/0" opens SSH to the whole internet`},
		{"ssh from anywhere v6", "adminCidrs", `["::/0"]`, `adminCidrs entry "::/0" opens SSH to the whole internet`},
		{"ssh empty", "adminCidrs", `[]`, `adminCidrs is empty`},
		{"admin cidr bad", "adminCidrs", `["300.1.1.1/32"]`, `adminCidrs entry "300.1.1.1/32" is not a valid CIDR`},
		{"admin list bad json", "adminCidrs", `[1,2]`, `adminCidrs "[1,2]" is not a list of strings`},
		{"allowed empty without cloudflare", "allowedCidrs", `[]`, `allowedCidrs is empty: without Cloudflare`},
		{"name too long", "namePrefix", "promfed-federation-xyz", `namePrefix "promfed-federation-xyz" is not allowed: use 2-20`},
		{"name bad chars", "namePrefix", "Prom_Fed", `namePrefix "Prom_Fed" is not allowed`},
		{"domain", "domain", "not a domain", `domain "not a domain" is not a valid DNS name`},
		{"zone id", "route53ZoneId", "abc", `route53ZoneId "abc" is not a Route53 hosted zone id`},
		{"dns provider", "dnsProvider", "gandi", `dnsProvider "gandi" is not allowed`},
		{"tls policy", "tlsPolicy", "ELBSecurityPolicy-2016-08", `tlsPolicy "ELBSecurityPolicy-2016-08" is not allowed`},
		{"password short", "webPassword", "short", `webPassword has 5 characters: at least 16 are required`},
		{"seed short", "hostKeySeed", "short", `hostKeySeed has 5 characters: at least 32 are required`},
		{"heartbeat not https", "heartbeatUrl", "http://hc-ping.example.com/abc", `heartbeatUrl is not an https:// URL`},
		{"webhook not https", "alertWebhookUrl", "http://hooks.example.com/x", `alertWebhookUrl is not an https:// URL`},
		{"webhook without host", "alertWebhookUrl", "https:///path", `alertWebhookUrl is not an https:// URL with a host`},
		{"slack not https", "slackWebhookUrl", "http://hooks.slack.com/x", `slackWebhookUrl is not an https:// URL`},
		{"slack channel", "slackChannel", "Alerts Room", `slackChannel "Alerts Room" is not a Slack channel name`},
		{"pagerduty key", "pagerDutyRoutingKey", "short", `pagerDutyRoutingKey is not a PagerDuty Events API v2 integration key`},
		{"alert email", "alertEmails", `["oncall"]`, `alertEmails[0] "oncall" is not an email address`},
		{"alert email twice", "alertEmails", `["a@example.com","a@example.com"]`, `alertEmails[1] "a@example.com" is listed twice`},
		{"sns https endpoint", "alertHttpsEndpoints", `["http://x.example.com/"]`, `alertHttpsEndpoints[0] "http://x.example.com/" is not an https:// URL`},
		{"username", "webUsername", "Admin User", `webUsername "Admin User" is not allowed`},
		{"volume", "dataVolumeSizeGiB", "5", `dataVolumeSizeGiB 5 is out of range: it must be between 10 and 16384`},
		{"protect", "protect", "yes", `protect "yes" is not a boolean`},
		{"internal zone", "internalZone", "bad_zone", `internalZone "bad_zone" is not a valid DNS zone name`},
		{"copy to the home region", "snapshotCopyRegion", "eu-west-1", `snapshotCopyRegion "eu-west-1" must be an AWS region other than the stack's own (eu-west-1)`},
		{"copy to no region", "snapshotCopyRegion", "eu-west-9", `snapshotCopyRegion "eu-west-9" must be an AWS region other than the stack's own`},
		{"restore not a list", "restoreSnapshots", `{"host":"primary-a"}`, `restoreSnapshots is not a list of {host, snapshot} objects`},
		{"restore bad snapshot", "restoreSnapshots", `[{"host":"primary-a","snapshot":"vol-0123456789abcdef0"}]`, `restoreSnapshots[0].snapshot "vol-0123456789abcdef0" is not an EBS snapshot id`},
		{"restore twice", "restoreSnapshots", `[{"host":"primary-a","snapshot":"snap-01234567"},{"host":"primary-a","snapshot":"snap-89abcdef"}]`, `restoreSnapshots[1].host "primary-a" is listed twice`},
		{"restore unknown key", "restoreSnapshots", `[{"host":"primary-a","snap":"snap-01234567"}]`, `restoreSnapshots[0].snap is not a known setting: use one of host, snapshot`},
		{"restore unknown host", "restoreSnapshots", `[{"host":"primary","snapshot":"snap-01234567"}]`, `restoreSnapshots: host "primary" is not a host of stack dev: use one of primary-a, secondary-main-1`},
		{"untested ubuntu", "amiFamily", "ubuntu-22.04", `amiFamily "ubuntu-22.04" is no longer offered: no Ubuntu image is tested by the end-to-end suite`},
		{"no primary", "primaryReplicas", "0", `primaryReplicas 0 is out of range: it must be between 1 and 2`},
		{"three primaries", "primaryReplicas", "3", `primaryReplicas 3 is out of range: it must be between 1 and 2`},
		{"replicas not a number", "primaryReplicas", "two", `primaryReplicas "two" is not an integer`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := validRoute53()
			v[tc.key] = tc.value
			c, err := load(t, v)
			if err == nil {
				t.Fatalf("%s=%q was accepted", tc.key, tc.value)
			}
			if c != nil {
				t.Fatal("a config was returned together with an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
}

func TestLongNameCountsStackName(t *testing.T) {
	v := validRoute53()
	v["namePrefix"] = "promfed-observability"[:20]
	_, err := Load("promfed", "production-eu", "eu-west-1", MapSource{Values: v, Secrets: secretKeys})
	if err == nil || !strings.Contains(err.Error(), `with stack "production-eu"`) {
		t.Fatalf("want the derived-name length error, got %v", err)
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	v := validRoute53()
	v["vpcCidr"], v["azCount"], v["webPassword"] = "nope", "9", "x"
	_, err := load(t, v)
	var cerr *Error
	if !errors.As(err, &cerr) || len(cerr.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
}

// A misspelled key is refused, with the nearest setting suggested, instead
// of being ignored (here: prod's protection silently off).
func TestUnknownKeysRefused(t *testing.T) {
	v := validRoute53()
	v["protected"], v["retentionTme"], v["someThingElse"], v["aws:region"] = "true", "30d", "x", "eu-west-1"
	_, err := load(t, v)
	for _, want := range []string{
		"promfed:protected is not a setting of this project and would be ignored; did you mean protect?",
		"promfed:retentionTme is not a setting of this project and would be ignored; did you mean retentionTime?",
		"promfed:someThingElse is not a setting of this project and would be ignored (every setting",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "aws:region") {
		t.Errorf("a provider key counted as unknown: %v", err)
	}
}

// A heartbeat URL carries the dead-man's-switch token: plain text is refused
// and the error shows the key, never the value.
func TestHeartbeatURLMustBeSecret(t *testing.T) {
	v := validRoute53()
	v["heartbeatUrl"] = "https://hc-ping.example.com/0f1e2d3c"
	plain := maps.Clone(secretKeys)
	delete(plain, "heartbeatUrl")
	_, err := Load("promfed", "dev", "eu-west-1", MapSource{Values: v, Secrets: plain})
	if err == nil || !strings.Contains(err.Error(), "heartbeatUrl is set in plain text; it must be a secret") || strings.Contains(err.Error(), "0f1e2d3c") {
		t.Fatalf("plain-text heartbeat URL: %v", err)
	}
}

func TestSecretsMustBeEncryptedAndNeverPrinted(t *testing.T) {
	v := validRoute53()
	_, err := Load("promfed", "dev", "eu-west-1", MapSource{Values: v, Secrets: map[string]bool{"hostKeySeed": true}})
	if err == nil || !strings.Contains(err.Error(), "webPassword is set in plain text; it must be a secret") {
		t.Fatalf("plain-text secret accepted: %v", err)
	}
	if strings.Contains(err.Error(), v["webPassword"]) {
		t.Fatal("the error message leaks the secret value")
	}
	c, err := load(t, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.WebPassword.String(), c.HostKeySeed.GoString()} {
		if s != "[secret]" {
			t.Errorf("secret printed as %q", s)
		}
	}
	if c.WebPassword.Reveal() != v["webPassword"] {
		t.Error("Reveal lost the value")
	}
}

func TestCommaSeparatedCidrs(t *testing.T) {
	v := validRoute53()
	v["adminCidrs"] = "203.0.113.10/32, 2001:db8::/48"
	c, err := load(t, v)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AdminCidrs) != 2 || c.AdminCidrs[1].String() != "2001:db8::/48" {
		t.Fatalf("AdminCidrs = %v", c.AdminCidrs)
	}
}

func TestArchitecture(t *testing.T) {
	for typ, want := range map[string]string{"t3.medium": "x86_64", "t4g.small": "arm64", "c6gn.large": "arm64", "m7g.xlarge": "arm64", "g5.xlarge": "x86_64", "m5dn.large": "x86_64"} {
		if got := Architecture(typ); got != want {
			t.Errorf("Architecture(%s) = %s, want %s", typ, got, want)
		}
	}
	v := validRoute53()
	v["amiId"], v["secondaryInstanceType"] = "ami-0123456789abcdef0", "t4g.medium"
	if _, err := load(t, v); err == nil || !strings.Contains(err.Error(), "one AMI cannot serve both") {
		t.Fatalf("pinned AMI across architectures accepted: %v", err)
	}
}

// originPull builds a CA, a client certificate and its key for the tests.
func originPull(t *testing.T, clientAuth bool) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "origin CA"}, NotBefore: now, NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	eku := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if clientAuth {
		eku = append(eku, x509.ExtKeyUsageClientAuth)
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "cloudflare client"}, NotBefore: now, NotAfter: now.Add(time.Hour), ExtKeyUsage: eku}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(leafKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}))
}

func validCloudflare(t *testing.T) map[string]string {
	v := validRoute53()
	delete(v, "route53ZoneId")
	v["dnsProvider"] = "cloudflare"
	v["cloudflareZoneId"] = "0123456789abcdef0123456789abcdef"
	v["originPullCa"], v["originPullCertificate"], v["originPullPrivateKey"] = originPull(t, true)
	return v
}

func TestCloudflare(t *testing.T) {
	v := validCloudflare(t)
	v["allowedCidrs"] = "[]"
	c, err := load(t, v)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Cloudflare() {
		t.Fatal("cloudflare provider did not turn the edge on")
	}

	v = validCloudflare(t)
	v["cloudflareZoneId"] = "example.com"
	if _, err := load(t, v); err == nil || !strings.Contains(err.Error(), `cloudflareZoneId "example.com" is not a Cloudflare zone id`) {
		t.Errorf("bad zone id: %v", err)
	}

	v = validCloudflare(t)
	delete(v, "originPullCa")
	if _, err := load(t, v); err == nil || !strings.Contains(err.Error(), "are all required when dnsProvider is cloudflare") {
		t.Errorf("missing origin pull CA: %v", err)
	}

	v = validCloudflare(t)
	otherCA, _, otherKey := originPull(t, true)
	v["originPullCa"] = otherCA
	if _, err := load(t, v); err == nil || !strings.Contains(err.Error(), "is not signed by originPullCa") {
		t.Errorf("foreign CA: %v", err)
	}

	v = validCloudflare(t)
	v["originPullPrivateKey"] = otherKey
	if _, err := load(t, v); err == nil || !strings.Contains(err.Error(), "does not match the public key") {
		t.Errorf("mismatched key: %v", err)
	}

	v = validCloudflare(t)
	v["cloudflarePlan"] = "gold"
	if _, err := load(t, v); err == nil || !strings.Contains(err.Error(), `cloudflarePlan "gold" is not allowed: it must be one of free, pro, business, enterprise`) {
		t.Errorf("unknown plan: %v", err)
	}

	// Every allowed range goes into one Cloudflare expression (4096
	// characters at most), with the NAT gateways' addresses.
	v = validCloudflare(t)
	var many []string
	for i := range 300 {
		many = append(many, fmt.Sprintf("2001:db8:%x::/48", i))
	}
	v["allowedCidrs"] = `["` + strings.Join(many, `","`) + `"]`
	if _, err := load(t, v); err == nil || !strings.Contains(err.Error(), "allowedCidrs has 301 entries") {
		t.Errorf("too many allowedCidrs for one Cloudflare rule: %v", err)
	}

	v = validCloudflare(t)
	v["originPullCa"], v["originPullCertificate"], v["originPullPrivateKey"] = originPull(t, false)
	if _, err := load(t, v); err == nil || !strings.Contains(err.Error(), "lacks the clientAuth extended key usage") {
		t.Errorf("server-only certificate: %v", err)
	}
}

// Provider credentials in a stack file must be encrypted too.
func TestProviderSecretsMustBeEncrypted(t *testing.T) {
	v := validRoute53()
	v["cloudflare:apiToken"] = "a-cloudflare-api-token"
	_, err := load(t, v)
	if err == nil || !strings.Contains(err.Error(), "cloudflare:apiToken is set in plain text; it is a credential and must be a secret: pulumi config set --secret cloudflare:apiToken <value>") {
		t.Fatalf("plain-text provider token: %v", err)
	}
	secrets := map[string]bool{"cloudflare:apiToken": true}
	for k := range secretKeys {
		secrets[k] = true
	}
	if _, err := Load("promfed", "dev", "eu-west-1", MapSource{Values: v, Secrets: secrets}); err != nil {
		t.Fatalf("an encrypted provider token was refused: %v", err)
	}
}
