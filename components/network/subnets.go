package network

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// SubnetPlan splits the VPC into equal subnets: the first azCount are
// public, the next azCount private. Changing azCount later moves the private
// subnets (and so replaces them): choose it once per stack.
func SubnetPlan(vpc netip.Prefix, azCount, bits int) (public, private []netip.Prefix, err error) {
	if bits < vpc.Bits() || 1<<(bits-vpc.Bits()) < 2*azCount {
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
	for i := uint32(0); i < n; i++ {
		public = append(public, nth(i))
		private = append(private, nth(n+i))
	}
	return public, private, nil
}
