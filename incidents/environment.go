package incidents

// EnvironmentAliases maps each alias of an environment to its canonical name (the config's
// environments section: {production: [prod, prd]} gives prod → production and prd →
// production). Alerts, deploys and queries pass their environment through Canonical, so an
// alert saying "prod" and a deploy saying "production" meet in one environment.
type EnvironmentAliases map[string]string

// Canonical is the canonical name of env: env itself unless it is an alias. A nil map
// changes nothing.
func (a EnvironmentAliases) Canonical(env string) string {
	if c, ok := a[env]; ok {
		return c
	}
	return env
}

// AliasEnvironments makes Declare record the canonical name of an environment given by an
// alias. Call it while wiring, before serving.
func (m *Manager) AliasEnvironments(a EnvironmentAliases) { m.envs = a }
