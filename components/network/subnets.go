package network

import (
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
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	size := uint32(1) << (32 - bits)
	nth := func(i int) netip.Prefix {
		a := start + uint32(i)*size
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), bits)
	}
	for i := 0; i < azCount; i++ {
		public = append(public, nth(i))
		private = append(private, nth(azCount+i))
	}
	return public, private, nil
}
