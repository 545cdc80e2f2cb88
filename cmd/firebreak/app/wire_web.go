package app

import (
	"log/slog"
	"time"

	"firebreak/web"
)

// wireWeb makes the HTTP server over the wired services; its metrics go to the App's
// registry, which /metrics serves.
func wireWeb(a *App, log *slog.Logger) *web.Server {
	cfg := a.Config
	return web.New(web.Deps{
		DB:              a.DB,
		Incidents:       a.Incidents,
		Alerts:          a.Alerts,
		Deploys:         a.Tracker,
		Rollbacks:       a.Rollbacks,
		Postmortems:     wirePostmortems(a),
		Statuspage:      a.Statuspage,
		Auth:            a.Tokens,
		Slack:           a.slackForWeb(),
		Sessions:        a.Accounts,
		Accounts:        a.Accounts,
		UI:              uiOptions(cfg),
		Registry:        a.Registry,
		Metrics:         a.Metrics,
		Logger:          log,
		MaxBodyBytes:    int(cfg.Server.MaxBodyBytes),
		MaxWebhookBytes: int(cfg.Alerts.MaxBodyBytes),
		ReadTimeout:     time.Duration(cfg.Server.ReadTimeout),
		WriteTimeout:    time.Duration(cfg.Server.WriteTimeout),
	})
}
