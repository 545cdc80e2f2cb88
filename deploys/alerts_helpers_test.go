package deploys_test

import (
	"context"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/store"
)

// ingester is Alertmanager's path into the env's incidents, wired as `serve` wires it.
func (e *env) ingester() *alerts.Ingester {
	e.t.Helper()
	gc := store.NewGroupCommitter(e.db, 1, 128, 1024, nil)
	e.t.Cleanup(gc.Close)
	return alerts.NewIngester(e.db, e.m, gc, alerts.Options{ServiceLabels: []string{"service"},
		EnvironmentLabels: []string{"env"}, ReopenWindow: 30 * time.Minute})
}

// fireAlert sends one firing alert of service in prod, started at startsAt, and returns the
// incident it went to.
func (e *env) fireAlert(in *alerts.Ingester, name, service string, startsAt time.Time) int64 {
	e.t.Helper()
	p := alerts.Payload{Version: "4", GroupKey: `{}:{alertname="` + name + `"}`}
	p.Status = "firing"
	p.Alerts = template.Alerts{{Status: "firing", StartsAt: startsAt,
		Labels: template.KV{"alertname": name, "service": service, "env": "prod", "severity": "critical"}}}
	res, err := in.Ingest(context.Background(), p)
	if err != nil {
		e.t.Fatalf("ingest %s: %v", name, err)
	}
	if len(res.Incidents) != 1 {
		e.t.Fatalf("alert %s went to incidents %v, want one", name, res.Incidents)
	}
	return res.Incidents[0]
}

// moveImpactStart moves an incident's impact start back, as an earlier alert does.
func (e *env) moveImpactStart(id int64, to time.Time) incidents.Incident {
	e.t.Helper()
	var inc incidents.Incident
	err := e.db.InTx(context.Background(), func(q store.Querier) error {
		var err error
		inc, err = e.m.MoveImpactStartTx(context.Background(), q, id, to, "an earlier alert joined")
		return err
	})
	if err != nil {
		e.t.Fatalf("move impact start of %d: %v", id, err)
	}
	return inc
}

// versions lists the versions of matched deploys, in the order given.
func versions(ms []deploys.Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Deploy.Version
	}
	return out
}
