package config

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// A shard may run in another region than the stack's (shards[i].region):
// that region gets its own VPC, peered with the home VPC, so the primaries
// federate its secondaries over private addresses. Each such VPC's CIDR is
// given in regionVpcCidrs and never derived silently: a derived block would
// move (and replace the VPC) when shards or regions were reordered. A
// missing entry is refused with a free block to use.

// OtherRegions lists the regions, other than the stack's, that shards run
// in, sorted.
func (c *Config) OtherRegions() []string {
	seen := map[string]bool{}
	for _, s := range c.Shards {
		if s.Region != c.Region {
			seen[s.Region] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// regionVpcCidrs reads regionVpcCidrs, [{region, vpcCidr}], and checks it
// against the shards' regions and every other CIDR of the stack.
func (l *loader) regionVpcCidrs(c *Config) {
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(l.str("regionVpcCidrs")), &items); err != nil {
		l.failf("regionVpcCidrs is not a list of {region, vpcCidr} objects: %v (for example [{\"region\":\"us-east-1\",\"vpcCidr\":\"10.41.0.0/16\"}])", err)
		return
	}
	used := c.OtherRegions()
	c.RegionCidrs = map[string]netip.Prefix{}
	for i, raw := range items {
		path := fmt.Sprintf("regionVpcCidrs[%d]", i)
		o := l.object(path, raw, "region", "vpcCidr")
		if o == nil {
			continue
		}
		region := o.str("region", "")
		switch {
		case region == c.Region:
			l.failf("%s.region %q is the stack's own region: its VPC is vpcCidr", path, region)
			continue
		case !slices.Contains(used, region):
			l.failf("%s.region %q runs no shard (shards[i].region): remove the entry, or name the region in a shard; regions with shards: %s", path, region, orNone(used))
			continue
		}
		if _, dup := c.RegionCidrs[region]; dup {
			l.failf("%s.region %q is listed twice: a region has one VPC", path, region)
			continue
		}
		if p, ok := l.vpcPrefix(path+".vpcCidr", o.str("vpcCidr", ""), c.AzCount, c.SubnetPrefixLength); ok {
			c.RegionCidrs[region] = p
		}
	}
	// The VPCs the stack routes between need addresses of their own: the
	// home VPC routes every other region's, and each of those routes home.
	taken := []namedPrefix{}
	if c.VpcCidr.IsValid() {
		taken = append(taken, namedPrefix{"vpcCidr " + c.VpcCidr.String(), c.VpcCidr, c.Region})
	}
	for _, region := range slices.Sorted(maps.Keys(c.RegionCidrs)) {
		p := c.RegionCidrs[region]
		for _, o := range taken {
			if o.p.Overlaps(p) {
				l.failf("regionVpcCidrs: %s's vpcCidr %s overlaps %s: peered VPCs need address ranges of their own", region, p, o.what)
			}
		}
		taken = append(taken, namedPrefix{fmt.Sprintf("the VPC of %s (%s)", region, p), p, region})
	}
	// A workload VPC is routed from its shard's VPC, next to that VPC's
	// other routes: home's go to every other region, another region's go
	// home (the home check of a home shard's peer is in peer()).
	for i, s := range c.Shards {
		if s.Peer == nil || !s.Peer.Cidr.IsValid() {
			continue
		}
		for _, o := range taken {
			switch {
			case !o.p.Overlaps(s.Peer.Cidr):
			case s.Region == c.Region && o.region != c.Region:
				l.failf("shards[%d].peer.cidr %s overlaps %s: the home VPC routes to both", i, s.Peer.Cidr, o.what)
			case s.Region != c.Region && o.region == c.Region:
				l.failf("shards[%d].peer.cidr %s overlaps %s: the VPC of %s routes to both", i, s.Peer.Cidr, o.what, s.Region)
			case s.Region != c.Region && o.region == s.Region:
				l.failf("shards[%d].peer.cidr %s overlaps %s: AWS cannot peer VPCs whose CIDRs overlap", i, s.Peer.Cidr, o.what)
			}
		}
	}
	// Suggestions for missing CIDRs avoid the peers too.
	for _, s := range c.Shards {
		if s.Peer != nil && s.Peer.Cidr.IsValid() {
			taken = append(taken, namedPrefix{"", s.Peer.Cidr, s.Region})
		}
	}
	missing := 0
	for i, s := range c.Shards {
		if s.Region == c.Region {
			continue
		}
		if _, ok := c.RegionCidrs[s.Region]; !ok {
			hint := "choose a private block of the same size as vpcCidr that overlaps no other CIDR of the stack"
			if free, ok := freeBlock(c.VpcCidr, taken); ok {
				n := len(items) + missing // the next free index, one per missing region
				hint = fmt.Sprintf("for example pulumi config set --path 'regionVpcCidrs[%d].region' %s and pulumi config set --path 'regionVpcCidrs[%d].vpcCidr' %s, a block of vpcCidr's size that overlaps no other CIDR of the stack",
					n, s.Region, n, free)
				taken = append(taken, namedPrefix{"", free, s.Region})
			}
			l.failf("shards[%d].region %q has no VPC CIDR in regionVpcCidrs: %s", i, s.Region, hint)
			c.RegionCidrs[s.Region] = netip.Prefix{} // one message per region
			missing++
		}
		if c.AmiID != "" {
			l.failf("shards[%d].region %q: amiId %s is an image of %s only; leave amiId empty so each region looks up its own %s image", i, s.Region, c.AmiID, c.Region, c.AmiFamily)
		}
		if c.SnapshotCopyRegion == s.Region {
			l.failf("snapshotCopyRegion %q is where shards[%d] (%s) runs: its snapshots would be copied to their own region; choose a region without shards", s.Region, i, s.Name)
		}
	}
}

// ProviderCarried are the stack's aws: settings that the providers of
// other regions take over from the default provider's.
var ProviderCarried = []string{"aws:profile", "aws:allowedAccountIds"}

// providerNotCarried are aws: settings that decide who the default provider
// is or where it calls; the other regions' providers do not take them over
// (an explicit provider reads none of the stack's aws: settings).
var providerNotCarried = []string{
	"aws:accessKey", "aws:secretKey", "aws:token", "aws:assumeRole", "aws:assumeRoleWithWebIdentity",
	"aws:sharedCredentialsFiles", "aws:sharedConfigFiles", "aws:endpoints", "aws:forbiddenAccountIds",
	"aws:stsRegion", "aws:customCaBundle", "aws:useFipsEndpoint", "aws:defaultTags", "aws:ignoreTags",
}

// providerSettings refuses, with shards in other regions, a default
// provider setting their providers would not share: they would act as
// someone else, or somewhere else.
func (l *loader) providerSettings(c *Config) {
	ps, ok := l.src.(ProviderSource)
	if !ok || len(c.OtherRegions()) == 0 {
		return
	}
	for _, k := range providerNotCarried {
		if v, set := ps.GetQualified(k); set && v != "" {
			l.failf("%s is set, but the providers of the other regions shards run in (%s) do not take it over: give credentials in the environment (AWS_PROFILE, or the role your CI assumes), or use %s, which they do take over",
				k, strings.Join(c.OtherRegions(), ", "), strings.Join(ProviderCarried, " and "))
		}
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// namedPrefix is a CIDR of the stack, how messages name it, and the
// region of the VPC it is or is peered with.
type namedPrefix struct {
	what   string
	p      netip.Prefix
	region string
}

// freeBlock is the first block of home's size after home, inside the same
// private range (RFC 1918), that overlaps nothing taken.
func freeBlock(home netip.Prefix, taken []namedPrefix) (netip.Prefix, bool) {
	if !home.IsValid() {
		return netip.Prefix{}, false
	}
	var within netip.Prefix
	for _, r := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
		if p := netip.MustParsePrefix(r); p.Contains(home.Addr()) {
			within = p
		}
	}
	if !within.IsValid() {
		return netip.Prefix{}, false
	}
	step := uint32(1) << (32 - home.Bits())
	a := home.Addr().As4()
	base := binary.BigEndian.Uint32(a[:])
next:
	for n := base + step; n > base; n += step {
		binary.BigEndian.PutUint32(a[:], n)
		cand := netip.PrefixFrom(netip.AddrFrom4(a), home.Bits())
		if !within.Contains(cand.Addr()) {
			return netip.Prefix{}, false
		}
		for _, t := range taken {
			if t.p.Overlaps(cand) {
				continue next
			}
		}
		return cand, true
	}
	return netip.Prefix{}, false
}
