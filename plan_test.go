package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The offline plan prints, marked as such, the host list and a tree of
// components with the properties a reviewer checks.
func TestPlanPrintsTheTree(t *testing.T) {
	var out bytes.Buffer
	if err := plan(&out, ".", "dev"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		`promfed plan for stack "dev", computed OFFLINE from Pulumi.dev.yaml`,
		"  secondary-apps-1       secondary, shard apps        t3.small   eu-west-1b\n",
		"\npromfed:network:Vpc promfed\n",
		"\n  aws:Subnet promfed-private-1  (cidr=10.40.128.0/24, az=eu-west-1a)\n",
		"\npromfed:prometheus:Server secondary-apps-1\n  aws:Volume secondary-apps-1-data  (size=20GiB, type=gp3, az=eu-west-1b, encrypted=true)\n",
		"  aws:Instance primary-a  (type=t3.small, subnet=promfed-private-1, az=eu-west-1a, public-ip=false)\n",
		"  aws:SecurityGroupIngressRule promfed-bastion-in-ssh-203.0.113.10-32  (group=promfed-bastion, port=22, from=203.0.113.10/32)\n",
		"  aws:SecurityGroupIngressRule promfed-shard-apps-targets-in-scrape-9100  (group=promfed-shard-apps-targets, port=9100, from=promfed-shard-apps-scraper)\n",
		"  aws:Record promfed-internal-secondary-apps-1  (name=secondary-apps-1.dev.promfed.internal, type=A)\n",
		"  aws:Listener promfed-https  (protocol=HTTPS, port=443, tls-policy=ELBSecurityPolicy-TLS13-1-2-2021-06)\n",
		"  aws:RolePolicy secondary-apps-1-ec2-sd  (allows=ec2:DescribeInstances ec2:DescribeAvailabilityZones)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	// Children are indented under their component, components at the left.
	if !regexp.MustCompile(`\npromfed:provision:Host primary-a\n(  command:[A-Za-z]+ primary-a-[a-z]+\n){3}`).MatchString(got) {
		t.Error("the provisioning steps are not nested under their host")
	}
	if !regexp.MustCompile(`\n\d+ resources in 17 components\n$`).MatchString(got) {
		t.Errorf("summary line: %q", got[strings.LastIndex(strings.TrimRight(got, "\n"), "\n"):])
	}
}

// prod's plan (Cloudflare, peering) renders without its operator-set
// origin-pull material: placeholders stand in, and the tree says so.
func TestPlanProd(t *testing.T) {
	var out bytes.Buffer
	if err := plan(&out, ".", "prod"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"secrets not in the file were replaced by placeholders",
		"  secondary-data-1       secondary, shard data        m6i.large  eu-west-1b\n",
		"  cloudflare:Record promfed-edge  (name=prometheus.example.com, type=CNAME, proxied=true)\n",
		"  aws:VpcPeeringConnection promfed-peer-data  (peer=vpc-0123456789abcdef0)\n",
		"  aws:LoadBalancer promfed  (name=promfed-prod, deletion-protection=true)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("prod plan lacks %q", want)
		}
	}
}

// Bad config is refused exactly as pulumi up refuses it.
func TestPlanRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile("Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(raw), "secondaries: 1", "secondaries: 0", 1)
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.dev.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = plan(&out, dir, "dev")
	if err == nil || !strings.Contains(err.Error(), "shards[0].secondaries 0 is out of range") || out.Len() != 0 {
		t.Fatalf("plan of a bad stack file: %v (printed %d bytes)", err, out.Len())
	}
}
