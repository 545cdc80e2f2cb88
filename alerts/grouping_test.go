package alerts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
)

// byAlertname is the group key Alertmanager sends for a route with group_by: [alertname].
const byAlertname = `{}:{alertname="HighErrorRate"}`

// TestOneNotificationOfTwoServicesOpensTwoIncidents: Alertmanager groups by alertname, so one
// notification carries the alerts of two services. Each service gets its own incident (which
// is what lets each be correlated with its own deploys), and a later notification of the
// same group adds each alert to its service's incident.
func TestOneNotificationOfTwoServicesOpensTwoIncidents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		search := fire("HighErrorRate", "search", "production", "critical", t0.Add(-2*time.Minute), "instance", "search-1")
		inventory := fire("HighErrorRate", "inventory", "production", "warning", t0.Add(-time.Minute), "instance", "inventory-1")
		res := r.ingest(payload(byAlertname, search, inventory))
		wantResult(t, "two services in one notification", res, 2, 2, 0, 0)
		if len(res.Incidents) != 2 {
			t.Fatalf("incidents %v, want two: one per service", res.Incidents)
		}
		byService := map[string]incidents.Incident{}
		for _, id := range res.Incidents {
			inc := r.incident(id)
			byService[inc.Service] = inc
			if as := r.alertsOf(id); len(as) != 1 || as[0].Labels["service"] != inc.Service {
				t.Fatalf("incident %d of %s holds %+v, want its service's one alert", id, inc.Service, as)
			}
		}
		if s, i := byService["search"], byService["inventory"]; s.Severity != incidents.Sev1 || i.Severity != incidents.Sev3 ||
			!s.ImpactStartedAt.Equal(t0.Add(-2*time.Minute)) || !i.ImpactStartedAt.Equal(t0.Add(-time.Minute)) {
			t.Fatalf("incidents %+v, want each with its own alert's severity and start", byService)
		}

		r.clock.Advance(time.Minute)
		search2 := fire("HighErrorRate", "search", "production", "critical", t0, "instance", "search-2")
		res = r.ingest(payload(byAlertname, search, inventory, search2))
		wantResult(t, "the group again, one alert more", res, 3, 1, 2, 0)
		if !sameIDs(res.Incidents, []int64{byService["search"].ID, byService["inventory"].ID}) {
			t.Fatalf("incidents %v, want the two of before", res.Incidents)
		}
		if n := len(r.alertsOf(byService["search"].ID)); n != 2 {
			t.Fatalf("search incident holds %d alerts, want 2", n)
		}
		if n := r.count("incidents"); n != 2 {
			t.Fatalf("%d incidents, want 2", n)
		}
	})
}

// TestAlertOfAnotherServiceInTheSameGroupOpensItsOwnIncident: the service decides, not the
// Alertmanager group; and the same service's alert from another group joins its incident.
func TestAlertOfAnotherServiceInTheSameGroupOpensItsOwnIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		api := r.openIncident("g-api", fire("HighLatency", "api", "production", "warning", t0.Add(-time.Minute)))

		res := r.ingest(payload("g-api", fire("PodRestarting", "api-worker", "production", "warning", t0)))
		wantResult(t, "another service, same group", res, 1, 1, 0, 0)
		if len(res.Incidents) != 1 || res.Incidents[0] == api {
			t.Fatalf("api-worker went to %v, want an incident of its own", res.Incidents)
		}
		if inc := r.incident(res.Incidents[0]); inc.Service != "api-worker" {
			t.Fatalf("incident %+v, want api-worker's", inc)
		}

		res = r.ingest(payload("g-other", fire("ErrorBudgetBurn", "api", "production", "warning", t0)))
		if !sameIDs(res.Incidents, []int64{api}) {
			t.Fatalf("api from another group went to %v, want api's incident %d", res.Incidents, api)
		}
		if n := r.count("incidents"); n != 2 {
			t.Fatalf("%d incidents, want 2", n)
		}
	})
}

// TestAlertWithoutServiceJoinsItsGroupKeysIncident: with no service label there is nothing
// to correlate by, so Alertmanager's group decides; a service's incident opened by an alert
// of that group stays the service's.
func TestAlertWithoutServiceJoinsItsGroupKeysIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		node := func(name, instance string) template.Alert {
			return fire(name, "", "production", "warning", t0.Add(-time.Minute), "instance", instance)
		}
		first := r.openIncident("g-nodes", node("NodeDown", "node-1"))
		res := r.ingest(payload("g-nodes", node("NodeDiskFull", "node-2")))
		if !sameIDs(res.Incidents, []int64{first}) {
			t.Fatalf("second alert of g-nodes went to %v, want %d", res.Incidents, first)
		}
		res = r.ingest(payload("g-other", node("NodeDown", "node-3")))
		if len(res.Incidents) != 1 || res.Incidents[0] == first {
			t.Fatalf("alert of g-other went to %v, want an incident of its own", res.Incidents)
		}
		if inc := r.incident(first); inc.Service != "" || inc.GroupKey == nil || *inc.GroupKey != "g-nodes" {
			t.Fatalf("incident %+v, want no service and group key g-nodes", inc)
		}

		api := r.openIncident("g-mixed", fire("HighErrorRate", "api", "production", "critical", t0))
		res = r.ingest(payload("g-mixed", node("NodeDown", "node-4")))
		if len(res.Incidents) != 1 || res.Incidents[0] == api {
			t.Fatalf("alert without service in api's group went to %v, want an incident of its own", res.Incidents)
		}
		res = r.ingest(payload("g-mixed", node("NodeDiskFull", "node-5")))
		if len(res.Incidents) != 1 || res.Incidents[0] == api || r.incident(res.Incidents[0]).Service != "" {
			t.Fatalf("second alert without service went to %v, want the group's incident without service", res.Incidents)
		}
	})
}

// TestServiceWithoutEnvironmentGroupsWithItsAlertsWithoutOne: a service's alerts without an
// environment label share an incident; the same service with one is another incident.
func TestServiceWithoutEnvironmentGroupsWithItsAlertsWithoutOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		bare := r.openIncident("g-1", fire("HighLatency", "api", "", "warning", t0))
		res := r.ingest(payload("g-2", fire("HighErrorRate", "api", "", "warning", t0)))
		if !sameIDs(res.Incidents, []int64{bare}) {
			t.Fatalf("api without environment went to %v, want %d", res.Incidents, bare)
		}
		res = r.ingest(payload("g-1", fire("HighLatency", "api", "production", "warning", t0)))
		if len(res.Incidents) != 1 || res.Incidents[0] == bare {
			t.Fatalf("api in production went to %v, want its own incident", res.Incidents)
		}
		if inc := r.incident(bare); inc.Environment != "" {
			t.Fatalf("incident %+v, want no environment", inc)
		}
	})
}

// TestGroupByGroupKeyMakesTheGroupKeyTheRule: alerts.group_by: group_key groups every alert
// by its Alertmanager group, service label or not.
func TestGroupByGroupKeyMakesTheGroupKeyTheRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := testOptions()
		opts.GroupBy = alerts.GroupByGroupKey
		r := newRigOpts(t, db, testkit.NewClock(t0), 1, nil, opts)
		res := r.ingest(payload(byAlertname,
			fire("HighErrorRate", "search", "production", "critical", t0),
			fire("HighErrorRate", "inventory", "production", "critical", t0)))
		wantResult(t, "two services, one group", res, 2, 2, 0, 0)
		if len(res.Incidents) != 1 {
			t.Fatalf("incidents %v, want one for the group", res.Incidents)
		}
		group := res.Incidents[0]
		res = r.ingest(payload("g-search", fire("HighLatency", "search", "production", "critical", t0)))
		if len(res.Incidents) != 1 || res.Incidents[0] == group {
			t.Fatalf("search in another group went to %v, want that group's own incident", res.Incidents)
		}
	})
}

// TestAlertsClearingNeverResolveADeclaredIncident: a person declared the incident of a
// service; an alert of that service joins it and resolves. The incident is mitigated but
// stays open, and the timeline says people decide.
func TestAlertsClearingNeverResolveADeclaredIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		impact := t0.Add(-10 * time.Minute)
		declared, err := r.m.Declare(context.Background(), "alice", incidents.DeclareInput{Title: "Checkout is failing",
			Severity: "sev2", Service: "checkout", Environment: "production", ImpactStartedAt: &impact})
		if err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(time.Minute)
		a := fire("HighErrorRate", "checkout", "production", "critical", t0.Add(-5*time.Minute))
		res := r.ingest(payload(byAlertname, a))
		wantResult(t, "alert of the declared service", res, 1, 1, 0, 0)
		if !sameIDs(res.Incidents, []int64{declared.ID}) {
			t.Fatalf("alert went to %v, want the declared incident %d", res.Incidents, declared.ID)
		}

		r.clock.Advance(5 * time.Minute)
		end := r.clock.Now().Add(-time.Minute)
		res = r.ingest(payload(byAlertname, resolve(a, end)))
		wantResult(t, "the alert resolves", res, 1, 0, 0, 1)
		inc := r.incident(declared.ID)
		if inc.Status != incidents.Observing || inc.ResolvedAt != nil {
			t.Fatalf("declared incident %+v, want still observing: alice declared it, alice resolves it", inc)
		}
		if !timePtrEq(inc.MitigatedAt, end) {
			t.Fatalf("mitigated at %v, want the alert's end %s", inc.MitigatedAt, end)
		}
		evs := r.timeline(declared.ID)
		last := evs[len(evs)-1]
		if last.Kind != incidents.KindAlertsCleared || !strings.Contains(last.Text, "until a person resolves it") {
			t.Fatalf("timeline %v ends with %+v, want the alerts_cleared line saying people decide", kinds(evs), last)
		}
		if n := len(eventsOfKind(evs, incidents.KindResolved)); n != 0 {
			t.Fatalf("timeline %v has a resolved line", kinds(evs))
		}
	})
}
