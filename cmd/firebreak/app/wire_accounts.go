package app

import (
	"strings"

	"firebreak/accounts"
	"firebreak/config"
	"firebreak/store"
	"firebreak/web"
)

// wireAccounts makes the store of the web UI's users and sessions.
func wireAccounts(db *store.DB, cfg config.Config, opts Options) (*accounts.Store, error) {
	if _, err := accounts.ParseTrustedProxies(cfg.UI.TrustedProxies); err != nil {
		return nil, err
	}
	return accounts.New(db, accounts.Options{Now: opts.Now}), nil
}

// uiOptions reads the web UI's settings: Secure cookies when public_url is https, and the
// login proxy's header, believed only from the trusted proxies.
func uiOptions(cfg config.Config) web.UIOptions {
	o := web.UIOptions{SecureCookies: strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://")}
	o.TrustedProxies, _ = accounts.ParseTrustedProxies(cfg.UI.TrustedProxies) // checked by wireAccounts
	if cfg.UI.ProxyAuth != nil {
		o.ProxyHeader = cfg.UI.ProxyAuth.Header
	}
	return o
}
