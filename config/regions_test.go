package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func withRegions(shards, cidrs string) map[string]string {
	v := withShards(shards)
	v["regionVpcCidrs"] = cidrs
	return v
}

const twoRegionShards = `[{"name":"apps","secondaries":2},
  {"name":"us","region":"us-east-1","secondaries":2,"ec2":[{"job":"us-node","tags":{"Team":"us"},"ports":[9100]}]},
  {"name":"fra","region":"eu-central-1"}]`

func TestShardRegions(t *testing.T) {
	c, err := load(t, withRegions(twoRegionShards,
		`[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"},{"region":"eu-central-1","vpcCidr":"10.42.0.0/20"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.OtherRegions(); !slices.Equal(got, []string{"eu-central-1", "us-east-1"}) {
		t.Errorf("OtherRegions = %v", got)
	}
	if c.RegionCidrs["us-east-1"].String() != "10.41.0.0/16" || c.RegionCidrs["eu-central-1"].String() != "10.42.0.0/20" || len(c.RegionCidrs) != 2 {
		t.Errorf("RegionCidrs = %v", c.RegionCidrs)
	}
	regions := map[string]string{}
	for _, h := range c.Hosts {
		regions[h.Name] = h.Region
	}
	want := map[string]string{"primary-a": "eu-west-1", "secondary-apps-1": "eu-west-1", "secondary-apps-2": "eu-west-1",
		"secondary-us-1": "us-east-1", "secondary-us-2": "us-east-1", "secondary-fra-1": "eu-central-1"}
	for h, r := range want {
		if regions[h] != r {
			t.Errorf("%s runs in %q, want %q", h, regions[h], r)
		}
	}
	// A shard's EC2 discovery defaults to the shard's own region.
	us, _ := c.Shard("us")
	if got := us.DiscoveryRegions(); !slices.Equal(got, []string{"us-east-1"}) {
		t.Errorf("us discovery regions %v", got)
	}
	if apps, _ := c.Shard("apps"); apps.Region != "eu-west-1" {
		t.Errorf("a shard without region runs in the stack's: %q", apps.Region)
	}
}

// A stack without other regions needs no entry and gets none, and may
// set any provider setting.
func TestNoOtherRegions(t *testing.T) {
	v := validRoute53()
	v["aws:assumeRole"] = `{"roleArn":"arn:aws:iam::123456789012:role/deploy"}`
	c, err := load(t, v)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.OtherRegions()) != 0 || len(c.RegionCidrs) != 0 {
		t.Errorf("regions %v, cidrs %v", c.OtherRegions(), c.RegionCidrs)
	}
}

func TestRegionProblems(t *testing.T) {
	peer := `{"vpcId":"vpc-0123456789abcdef0","cidr":"10.41.128.0/20","routeTableIds":["rtb-0123456789abcdef0"]}`
	for name, tc := range map[string]struct {
		values map[string]string
		want   []string
	}{
		"unknown region": {withRegions(`[{"name":"x","region":"mars-1"}]`, `[]`),
			[]string{`shards[0].region "mars-1" is not an AWS region this program knows`}},
		"missing CIDR, with a free block": {withRegions(`[{"name":"x","region":"us-east-1"},{"name":"y","region":"us-east-1"}]`, `[]`),
			[]string{`shards[0].region "us-east-1" has no VPC CIDR in regionVpcCidrs: for example pulumi config set --path 'regionVpcCidrs[0].region' us-east-1 and pulumi config set --path 'regionVpcCidrs[0].vpcCidr' 10.41.0.0/16`}},
		"free block skips a taken one": {withRegions(`[{"name":"x","region":"us-east-1"},{"name":"y","region":"eu-central-1"}]`, `[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"}]`),
			[]string{`shards[1].region "eu-central-1" has no VPC CIDR in regionVpcCidrs: for example pulumi config set --path 'regionVpcCidrs[1].region' eu-central-1 and pulumi config set --path 'regionVpcCidrs[1].vpcCidr' 10.42.0.0/16`}},
		"overlaps the home VPC": {withRegions(`[{"name":"x","region":"us-east-1"}]`, `[{"region":"us-east-1","vpcCidr":"10.40.128.0/20"}]`),
			[]string{`regionVpcCidrs: us-east-1's vpcCidr 10.40.128.0/20 overlaps vpcCidr 10.40.0.0/16: peered VPCs need address ranges of their own`}},
		"regions overlap": {withRegions(`[{"name":"x","region":"us-east-1"},{"name":"y","region":"eu-central-1"}]`,
			`[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"},{"region":"eu-central-1","vpcCidr":"10.41.16.0/20"}]`),
			[]string{`regionVpcCidrs: us-east-1's vpcCidr 10.41.0.0/16 overlaps the VPC of eu-central-1 (10.41.16.0/20)`}},
		"peer overlaps a region": {withRegions(`[{"name":"x","region":"us-east-1","peer":`+peer+`}]`, `[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"}]`),
			[]string{`shards[0].peer.cidr 10.41.128.0/20 overlaps the VPC of us-east-1 (10.41.0.0/16): AWS cannot peer VPCs whose CIDRs overlap`}},
		"two CIDRs missing, two indices": {withRegions(`[{"name":"x","region":"us-east-1"},{"name":"y","region":"eu-central-1"}]`, `[]`),
			[]string{`shards[0].region "us-east-1" has no VPC CIDR in regionVpcCidrs: for example pulumi config set --path 'regionVpcCidrs[0].region' us-east-1 and pulumi config set --path 'regionVpcCidrs[0].vpcCidr' 10.41.0.0/16`,
				`shards[1].region "eu-central-1" has no VPC CIDR in regionVpcCidrs: for example pulumi config set --path 'regionVpcCidrs[1].region' eu-central-1 and pulumi config set --path 'regionVpcCidrs[1].vpcCidr' 10.42.0.0/16`}},
		"a peer there overlaps home": {withRegions(`[{"name":"x","region":"us-east-1","peer":{"vpcId":"vpc-0123456789abcdef0","cidr":"10.40.64.0/20","routeTableIds":["rtb-0123456789abcdef0"]}}]`,
			`[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"}]`),
			[]string{`shards[0].peer.cidr 10.40.64.0/20 overlaps vpcCidr 10.40.0.0/16: the VPC of us-east-1 routes to both`}},
		"a home peer overlaps a region": {withRegions(`[{"name":"h","peer":{"vpcId":"vpc-0123456789abcdef0","cidr":"10.41.64.0/20","routeTableIds":["rtb-0123456789abcdef0"]}},{"name":"x","region":"us-east-1"}]`,
			`[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"}]`),
			[]string{`shards[0].peer.cidr 10.41.64.0/20 overlaps the VPC of us-east-1 (10.41.0.0/16): the home VPC routes to both`}},
		"a provider setting not taken over": {func() map[string]string {
			v := withRegions(`[{"name":"x","region":"us-east-1"}]`, `[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"}]`)
			v["aws:assumeRole"] = `{"roleArn":"arn:aws:iam::123456789012:role/deploy"}`
			return v
		}(), []string{`aws:assumeRole is set, but the providers of the other regions shards run in (us-east-1) do not take it over: give credentials in the environment (AWS_PROFILE, or the role your CI assumes), or use aws:profile and aws:allowedAccountIds, which they do take over`}},
		"the home region listed": {withRegions(`[{"name":"x"}]`, `[{"region":"eu-west-1","vpcCidr":"10.41.0.0/16"}]`),
			[]string{`regionVpcCidrs[0].region "eu-west-1" is the stack's own region: its VPC is vpcCidr`}},
		"a region without shards": {withRegions(`[{"name":"x","region":"us-east-1"}]`, `[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"},{"region":"ap-south-1","vpcCidr":"10.42.0.0/16"}]`),
			[]string{`regionVpcCidrs[1].region "ap-south-1" runs no shard (shards[i].region): remove the entry, or name the region in a shard; regions with shards: us-east-1`}},
		"listed twice": {withRegions(`[{"name":"x","region":"us-east-1"}]`, `[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"},{"region":"us-east-1","vpcCidr":"10.42.0.0/16"}]`),
			[]string{`regionVpcCidrs[1].region "us-east-1" is listed twice: a region has one VPC`}},
		"bad CIDR": {withRegions(`[{"name":"x","region":"us-east-1"}]`, `[{"region":"us-east-1","vpcCidr":"10.41.0.0/12"}]`),
			[]string{`regionVpcCidrs[0].vpcCidr "10.41.0.0/12" has host bits set; write 10.32.0.0/12`}},
		"too small for the subnets": {withRegions(`[{"name":"x","region":"us-east-1"}]`, `[{"region":"us-east-1","vpcCidr":"10.41.0.0/24"}]`),
			[]string{`regionVpcCidrs[0].vpcCidr "10.41.0.0/24" holds 1 subnets of /24, but 4 are needed`}},
		"reserved range": {withRegions(`[{"name":"x","region":"us-east-1"}]`, `[{"region":"us-east-1","vpcCidr":"169.254.0.0/16"}]`),
			[]string{`regionVpcCidrs us-east-1 "169.254.0.0/16" overlaps 169.254.0.0/16, which AWS refuses for a VPC (link-local`}},
		"amiId is regional": {func() map[string]string {
			v := withRegions(`[{"name":"x","region":"us-east-1"}]`, `[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"}]`)
			v["amiId"] = "ami-0123456789abcdef0"
			return v
		}(), []string{`shards[0].region "us-east-1": amiId ami-0123456789abcdef0 is an image of eu-west-1 only`}},
		"snapshots copied to a shard's region": {func() map[string]string {
			v := withRegions(`[{"name":"x","region":"us-east-1"}]`, `[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"}]`)
			v["snapshotCopyRegion"] = "us-east-1"
			return v
		}(), []string{`snapshotCopyRegion "us-east-1" is where shards[0] (x) runs`}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, tc.values)
			checkProblems(t, err, tc.want)
		})
	}
}

func checkProblems(t *testing.T, err error, want []string) {
	t.Helper()
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("err = %v, want configuration problems", err)
	}
	all := strings.Join(cerr.Problems, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("problems\n%s\nlack\n%s", all, w)
		}
	}
}

// Workload VPCs of different regions are never routed from one VPC: they
// may overlap; two of one region may not.
func TestPeersOfDifferentRegions(t *testing.T) {
	peer := func(cidr string) string {
		return `{"vpcId":"vpc-0123456789abcdef0","cidr":"` + cidr + `","routeTableIds":["rtb-0123456789abcdef0"]}`
	}
	_, err := load(t, withRegions(`[{"name":"h","peer":`+peer("10.60.0.0/16")+`},{"name":"x","region":"us-east-1","peer":`+peer("10.60.0.0/16")+`}]`,
		`[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"}]`))
	if err != nil {
		t.Errorf("peers in two regions: %v", err)
	}
	_, err = load(t, withRegions(`[{"name":"x","region":"us-east-1","peer":`+peer("10.60.0.0/16")+`},{"name":"y","region":"us-east-1","peer":`+peer("10.60.128.0/20")+`}]`,
		`[{"region":"us-east-1","vpcCidr":"10.41.0.0/16"}]`))
	checkProblems(t, err, []string{"shards[1].peer.cidr 10.60.128.0/20 overlaps shards[0].peer.cidr 10.60.0.0/16: routes to overlapping peers are ambiguous"})
}
