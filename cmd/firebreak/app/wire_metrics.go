package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"firebreak/incidents"
	"firebreak/metrics"
	"firebreak/outbox"
	"firebreak/store"
)

// wireMetrics finishes Firebreak's own metrics once every service is wired, so it must run
// last in Build: the series of every outbox kind registered start at 0, the outbox backlog
// is read from the database at scrape time, and incidents opened and resolved are counted.
func wireMetrics(a *App, now func() time.Time) {
	kinds := a.Outbox.Kinds()
	a.Metrics.OutboxKinds(kinds)
	a.Registry.MustRegister(outbox.NewCollector(a.DB, kinds, now))
	a.Incidents.OnChange(countIncidents(a.Metrics))
	a.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "firebreak_alert_repeats_unwritten",
		Help: "Alerts whose repeats were answered from memory and wait for the next flush (every 500 ms).",
	}, func() float64 { return float64(a.Alerts.UnwrittenRepeats()) }))
}

// countIncidents is an incidents hook counting incidents opened (by alerts or declared) and
// resolved, by severity. Hooks run inside the change's transaction, which a group commit may
// roll back and run again: the count is taken once the change has committed
// (store.AfterCommit), so it is never counted twice nor counted when it never happened. Each
// replica counts what it committed; sum them across replicas.
func countIncidents(m *metrics.Set) incidents.Hook {
	return func(_ context.Context, q store.Querier, inc incidents.Incident, ev incidents.Event) error {
		sev := string(inc.Severity)
		switch ev.Kind {
		case incidents.KindOpened, incidents.KindDeclared:
			store.AfterCommit(q, func() { m.Opened(sev) })
		case incidents.KindResolved:
			store.AfterCommit(q, func() { m.Resolved(sev) })
		}
		return nil
	}
}
