package app

import (
	"time"

	"firebreak/config"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
)

// wireDeploys makes the rollback service (which registers its outbox handler) and the deploy
// tracker, and lets the tracker see every incident change, to match suspects and start
// automatic rollbacks.
func wireDeploys(db *store.DB, incs *incidents.Manager, jobs *outbox.Outbox, hooks map[string]deploys.Hook, cfg config.Config) (*deploys.Rollbacks, *deploys.Tracker) {
	rollbacks := deploys.NewRollbacks(db, incs, jobs, hooks, cfg.PublicURL)
	rollbacks.HideEnv(secretVariables(cfg)...)
	tracker := deploys.NewTracker(db, incs, time.Duration(cfg.Deploys.CorrelationWindow), rollbacks)
	incs.OnChange(tracker.OnIncidentChange)
	return rollbacks, tracker
}

// rollbackHooks translates services.*.rollback of the config.
func rollbackHooks(cfg config.Config) map[string]deploys.Hook {
	hooks := map[string]deploys.Hook{}
	for name, svc := range cfg.Services {
		rb := svc.Rollback
		if rb == nil {
			continue
		}
		h := deploys.Hook{Policy: rb.Policy, MinSeverity: incidents.Severity(rb.MinSeverity), Command: rb.Command,
			Timeout: time.Duration(rb.Timeout)}
		if rb.Webhook != nil {
			h.WebhookURL, h.Secret, h.Timeout = rb.Webhook.URL, []byte(rb.Webhook.Secret), time.Duration(rb.Webhook.Timeout)
		}
		hooks[name] = h
	}
	return hooks
}

// secretVariables names every environment variable the config reads a secret from, so
// command hooks do not inherit them.
func secretVariables(cfg config.Config) []string {
	var names []string
	for _, t := range cfg.Tokens {
		names = append(names, t.TokenEnv)
	}
	for _, svc := range cfg.Services {
		if svc.Rollback != nil && svc.Rollback.Webhook != nil {
			names = append(names, svc.Rollback.Webhook.SecretEnv)
		}
	}
	if cfg.Slack != nil {
		names = append(names, cfg.Slack.BotTokenEnv, cfg.Slack.SigningSecretEnv)
	}
	if cfg.Statuspage != nil {
		for _, p := range cfg.Statuspage.Publish {
			names = append(names, p.SecretEnv)
		}
	}
	return names
}
