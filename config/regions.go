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
	// Every VPC the stack routes between, and every peered workload VPC,
	// must have its own addresses: a route to an overlapping block is
	// ambiguous, and AWS refuses to peer overlapping VPCs.
	taken := []namedPrefix{}
	if c.VpcCidr.IsValid() {
		taken = append(taken, namedPrefix{"vpcCidr " + c.VpcCidr.String(), c.VpcCidr})
	}
	for _, region := range slices.Sorted(maps.Keys(c.RegionCidrs)) {
		p := c.RegionCidrs[region]
		for _, o := range taken {
			if o.p.Overlaps(p) {
				l.failf("regionVpcCidrs: %s's vpcCidr %s overlaps %s: peered VPCs need address ranges of their own", region, p, o.what)
			}
		}
		taken = append(taken, namedPrefix{fmt.Sprintf("the VPC of %s (%s)", region, p), p})
	}
	for i, s := range c.Shards {
		if s.Peer == nil || !s.Peer.Cidr.IsValid() {
			continue
		}
		for _, o := range taken[min(1, len(taken)):] { // vpcCidr is checked with the peer itself
			if o.p.Overlaps(s.Peer.Cidr) {
				l.failf("shards[%d].peer.cidr %s overlaps %s: peered VPCs need address ranges of their own", i, s.Peer.Cidr, o.what)
			}
		}
		taken = append(taken, namedPrefix{"shards[" + fmt.Sprint(i) + "].peer.cidr", s.Peer.Cidr})
	}
	for i, s := range c.Shards {
		if s.Region == c.Region {
			continue
		}
		if _, ok := c.RegionCidrs[s.Region]; !ok {
			hint := "choose a private block of the same size as vpcCidr that overlaps no other CIDR of the stack"
			if free, ok := freeBlock(c.VpcCidr, taken); ok {
				hint = fmt.Sprintf("for example pulumi config set --path 'regionVpcCidrs[%d].region' %s and pulumi config set --path 'regionVpcCidrs[%d].vpcCidr' %s, a block of vpcCidr's size that overlaps no other CIDR of the stack",
					len(items), s.Region, len(items), free)
				taken = append(taken, namedPrefix{"", free})
			}
			l.failf("shards[%d].region %q has no VPC CIDR in regionVpcCidrs: %s", i, s.Region, hint)
			c.RegionCidrs[s.Region] = netip.Prefix{} // one message per region
		}
		if c.AmiID != "" {
			l.failf("shards[%d].region %q: amiId %s is an image of %s only; leave amiId empty so each region looks up its own %s image", i, s.Region, c.AmiID, c.Region, c.AmiFamily)
		}
		if c.SnapshotCopyRegion == s.Region {
			l.failf("snapshotCopyRegion %q is where shards[%d] (%s) runs: its snapshots would be copied to their own region; choose a region without shards", s.Region, i, s.Name)
		}
	}
	// Service roles of another region are named
	// <namePrefix>-<stack>-<role>-<region> (IAM names are global). No
	// length check: namePrefix-stack is at most 32 characters (the ALB
	// name), so the longest, snapshots-ap-southeast-1, makes 57 of IAM's 64.
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

type namedPrefix struct {
	what string
	p    netip.Prefix
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
