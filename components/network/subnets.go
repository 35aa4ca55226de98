package network

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// SubnetPlan splits the VPC into equal subnets, the i-th public and
// private ones for the i-th zone. Stable: public ones from the start of the
// VPC, private ones from its middle, so a zone's subnets depend on its index
// only and adding a zone moves none. Legacy (stable false): the first
// azCount public, the next azCount private, so raising azCount moves every
// private subnet.
func SubnetPlan(vpc netip.Prefix, azCount, bits int, stable bool) (public, private []netip.Prefix, err error) {
	if bits < vpc.Bits() || bits > 32 || 1<<(bits-vpc.Bits()) < 2*azCount {
		return nil, nil, fmt.Errorf("vpc %s cannot hold %d subnets of /%d", vpc, 2*azCount, bits)
	}
	base := vpc.Masked().Addr().As4()
	start := binary.BigEndian.Uint32(base[:])
	size := uint32(1) << (32 - bits)
	nth := func(i uint32) netip.Prefix {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], start+i*size)
		return netip.PrefixFrom(netip.AddrFrom4(a), bits)
	}
	n := uint32(azCount) //nolint:gosec // azCount is checked above to fit the VPC, so it is small and positive
	first := n
	if stable {
		first = uint32(1) << (bits - vpc.Bits() - 1) // the private half
	}
	for i := uint32(0); i < n; i++ {
		public = append(public, nth(i))
		private = append(private, nth(first+i))
	}
	return public, private, nil
}
