package accounts

import (
	"fmt"
	"net/netip"
)

// TrustedProxies is the set of networks whose requests may name their user in a header.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads CIDR networks (a bare address is one host).
func ParseTrustedProxies(list []string) (TrustedProxies, error) {
	out := make(TrustedProxies, 0, len(list))
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR network", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Trusts reports whether the connection's peer address (ip, without port) is a trusted
// proxy. Only the peer counts: X-Forwarded-For is written by whoever connects.
func (t TrustedProxies) Trusts(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
