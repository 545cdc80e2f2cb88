package app

import (
	"time"

	"firebreak/config"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/metrics"
	"firebreak/outbox"
	"firebreak/store"
)

// wireDeploys makes the rollback service (which registers its outbox handler) and the deploy
// tracker, and lets the tracker see every incident change, to match suspects and start
// automatic rollbacks. Deploys recorded under an environment's alias are kept under its
// canonical name; rollback outcomes are counted in m.
func wireDeploys(db *store.DB, incs *incidents.Manager, jobs *outbox.Outbox, hooks map[string]deploys.Hook, m *metrics.Set,
	cfg config.Config) (*deploys.Rollbacks, *deploys.Tracker) {
	rollbacks := deploys.NewRemedies(db, incs, jobs, hooks, remedyHooks(cfg), cfg.PublicURL)
	rollbacks.SetMetrics(m)
	tracker := deploys.NewTracker(db, incs, time.Duration(cfg.Deploys.CorrelationWindow), rollbacks)
	tracker.AliasEnvironments(cfg.EnvironmentAliases())
	incs.OnChange(tracker.OnIncidentChange)
	return rollbacks, tracker
}

// rollbackHooks translates services.*.rollback of the config.
func rollbackHooks(cfg config.Config) map[string]deploys.Hook {
	hooks := map[string]deploys.Hook{}
	for name, svc := range cfg.Services {
		if svc.Rollback != nil {
			hooks[name] = hookOf(*svc.Rollback)
		}
	}
	return hooks
}

// remedyHooks translates services.*.actions of the config: service, then action name.
func remedyHooks(cfg config.Config) map[string]map[string]deploys.Hook {
	out := map[string]map[string]deploys.Hook{}
	for name, svc := range cfg.Services {
		for action, a := range svc.Actions {
			if a == nil {
				continue
			}
			if out[name] == nil {
				out[name] = map[string]deploys.Hook{}
			}
			out[name][action] = hookOf(*a)
		}
	}
	return out
}

// hookOf is one configured remedy hook as the deploys package runs it.
func hookOf(rb config.Rollback) deploys.Hook {
	h := deploys.Hook{Policy: rb.Policy, MinSeverity: incidents.Severity(rb.MinSeverity), Command: rb.Command,
		Timeout: time.Duration(rb.Timeout)}
	if rb.Webhook != nil {
		h.WebhookURL, h.Secret, h.Timeout = rb.Webhook.URL, []byte(rb.Webhook.Secret), time.Duration(rb.Webhook.Timeout)
	}
	return h
}
