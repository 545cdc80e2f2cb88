package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// UI configures the web UI.
type UI struct {
	// ProxyAuth, when set, lets a login proxy in front of Firebreak name the user in a header.
	ProxyAuth *ProxyAuth `yaml:"proxy_auth,omitempty"`
	// TrustedProxies are the networks (CIDR) whose requests may carry that header; the
	// header of any other peer is ignored.
	TrustedProxies []string `yaml:"trusted_proxies,omitempty"`
}

// ProxyAuth names the header a login proxy puts the authenticated username in.
type ProxyAuth struct {
	Header string `yaml:"header"`
}

// checkUI wants a header name when proxy_auth is given, trusted proxies to go with it, and
// every trusted proxy to be an address or a CIDR network.
func (p *problems) checkUI(u UI) {
	for i, s := range u.TrustedProxies {
		if _, err := netip.ParsePrefix(s); err != nil {
			if _, err := netip.ParseAddr(s); err != nil {
				p.add(fmt.Sprintf("ui.trusted_proxies[%d]", i), "%q is not an address or a CIDR network (for example 127.0.0.1/32)", s)
			}
		}
	}
	if u.ProxyAuth == nil {
		return
	}
	h := strings.TrimSpace(u.ProxyAuth.Header)
	if h == "" || strings.ContainsAny(h, " :\t\r\n") {
		p.add("ui.proxy_auth.header", "%q is not a header name (for example X-Forwarded-User)", u.ProxyAuth.Header)
	}
	if len(u.TrustedProxies) == 0 {
		p.add("ui.trusted_proxies", "required with ui.proxy_auth: the header is believed only from these networks")
	}
}
