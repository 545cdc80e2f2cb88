package app

import (
	"log/slog"
	"time"

	"firebreak/alerts"
	"firebreak/config"
	"firebreak/incidents"
	"firebreak/metrics"
	"firebreak/store"
)

// wireAlerts makes the Alertmanager webhook ingester; its writes go through the group
// committer, its results are counted in m, and late alerts get a debug line in log.
func wireAlerts(db *store.DB, incs *incidents.Manager, writes *store.GroupCommitter, cfg config.Config, m *metrics.Set,
	log *slog.Logger) *alerts.Ingester {
	opts := alertOptions(cfg)
	opts.Metrics, opts.Log = m, log
	return alerts.NewIngester(db, incs, writes, opts)
}

// alertOptions translates the alerts section of the config.
func alertOptions(cfg config.Config) alerts.Options {
	sevs := make(map[string]incidents.Severity, len(cfg.Alerts.SeverityMap))
	for label, sev := range cfg.Alerts.SeverityMap {
		sevs[label] = incidents.Severity(sev) // validated by config
	}
	return alerts.Options{
		ServiceLabels:     cfg.Alerts.ServiceLabels,
		EnvironmentLabels: cfg.Alerts.EnvironmentLabels,
		SeverityMap:       sevs,
		ReopenWindow:      time.Duration(cfg.Alerts.ReopenWindow),
		GroupBy:           cfg.Alerts.GroupBy,
		// The environment label naming an alias means the canonical environment.
		EnvironmentAliases: cfg.EnvironmentAliases(),
	}
}
