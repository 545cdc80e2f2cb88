package config

import (
	"strings"
	"testing"
)

func TestUIValidation(t *testing.T) {
	for _, tc := range []struct {
		ui   UI
		want string
	}{
		{UI{}, ""},
		{UI{ProxyAuth: &ProxyAuth{Header: "X-Forwarded-User"}, TrustedProxies: []string{"127.0.0.1/32", "::1"}}, ""},
		{UI{ProxyAuth: &ProxyAuth{Header: "X-Forwarded-User"}}, "ui.trusted_proxies"},
		{UI{ProxyAuth: &ProxyAuth{Header: ""}, TrustedProxies: []string{"10.0.0.0/8"}}, "ui.proxy_auth.header"},
		{UI{TrustedProxies: []string{"localhost"}}, "ui.trusted_proxies[0]"},
	} {
		var p problems
		p.checkUI(tc.ui)
		got := ""
		if len(p) > 0 {
			got = p[0].Error()
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%+v: got %q, want a problem naming %q", tc.ui, got, tc.want)
		}
	}
}
