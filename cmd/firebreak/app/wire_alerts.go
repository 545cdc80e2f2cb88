package app

import (
	"time"

	"firebreak/alerts"
	"firebreak/config"
	"firebreak/incidents"
	"firebreak/store"
)

// wireAlerts makes the Alertmanager webhook ingester; its writes go through the group
// committer.
func wireAlerts(db *store.DB, incs *incidents.Manager, writes *store.GroupCommitter, cfg config.Config) *alerts.Ingester {
	return alerts.NewIngester(db, incs, writes, alertOptions(cfg))
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
	}
}
