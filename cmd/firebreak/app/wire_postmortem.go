package app

import (
	"time"

	"firebreak/config"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/postmortem"
	"firebreak/store"
)

// wirePostmortems makes the postmortem service over the wired incidents, deploy tracker and
// rollbacks; the web server serves it.
func wirePostmortems(a *App) *postmortem.Service {
	return postmortem.New(a.DB, a.Incidents, a.Tracker, a.Rollbacks)
}

// Postmortems wires what reading and editing postmortems needs over an open database, for
// the `postmortem` command: nothing runs, nothing is sent. Its outbox is never started and
// its rollback service has no hooks, so no secret is needed: both only read here.
func Postmortems(db *store.DB, cfg config.Config) *postmortem.Service {
	m := incidents.NewManager(db, nil)
	rollbacks := deploys.NewRollbacks(db, m, outbox.New(db, outbox.Options{}), nil, cfg.PublicURL)
	tracker := deploys.NewTracker(db, m, time.Duration(cfg.Deploys.CorrelationWindow), rollbacks)
	return postmortem.New(db, m, tracker, rollbacks)
}
