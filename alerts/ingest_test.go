package alerts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
)

// openIncident fires a and returns the incident it opened.
func (r *rig) openIncident(groupKey string, a template.Alert) int64 {
	r.t.Helper()
	res := r.ingest(payload(groupKey, a))
	wantResult(r.t, "first firing", res, 1, 1, 0, 0)
	if len(res.Incidents) != 1 {
		r.t.Fatalf("first firing touched incidents %v, want one", res.Incidents)
	}
	return res.Incidents[0]
}

func TestFirstAlertOpensAnIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		startsAt := t0.Add(-4*time.Minute - 30*time.Second + 250*time.Microsecond)
		a := fire("HighErrorRate", "checkout", "production", "error", startsAt, "instance", "checkout-1:8080")
		a.Annotations["description"] = "5xx above 5% for 5 minutes"

		res := r.ingest(payload("{}:{alertname=\"HighErrorRate\"}", a))
		wantResult(t, "first firing", res, 1, 1, 0, 0)
		if len(res.Incidents) != 1 || res.Incidents[0] == 0 {
			t.Fatalf("incidents %v, want the one opened", res.Incidents)
		}
		id := res.Incidents[0]

		inc := r.incident(id)
		if inc.Status != incidents.Observing {
			t.Errorf("status %s, want observing: nobody has looked yet", inc.Status)
		}
		if !strings.Contains(inc.Title, "HighErrorRate") || !strings.Contains(inc.Title, "checkout") {
			t.Errorf("title %q, want the alert name and the service", inc.Title)
		}
		if inc.Severity != incidents.Sev2 {
			t.Errorf("severity %s, want sev2 (severity=error through the map)", inc.Severity)
		}
		if inc.Service != "checkout" || inc.Environment != "production" {
			t.Errorf("service %q env %q, want checkout / production", inc.Service, inc.Environment)
		}
		if inc.GroupKey == nil || *inc.GroupKey != "{}:{alertname=\"HighErrorRate\"}" {
			t.Errorf("group key %v, want the payload's", inc.GroupKey)
		}
		if inc.Summary != "5xx above 5% for 5 minutes" {
			t.Errorf("summary %q, want the description annotation", inc.Summary)
		}
		if !inc.ImpactStartedAt.Equal(startsAt) {
			t.Errorf("impact started %s, want the alert's startsAt %s", inc.ImpactStartedAt, startsAt)
		}
		if !inc.OpenedAt.Equal(t0) {
			t.Errorf("opened %s, want now %s", inc.OpenedAt, t0)
		}
		if inc.AcknowledgedAt != nil || inc.MitigatedAt != nil || inc.ResolvedAt != nil || inc.ReopenedCount != 0 {
			t.Errorf("a new incident has later moments: %+v", inc)
		}

		evs := r.timeline(id)
		if len(evs) != 1 || evs[0].Kind != incidents.KindOpened || evs[0].Actor != "alertmanager" ||
			!strings.Contains(evs[0].Text, "HighErrorRate") || !evs[0].At.Equal(t0) {
			t.Errorf("timeline %+v, want one opened line by alertmanager naming the alert", evs)
		}

		as := r.alertsOf(id)
		if len(as) != 1 {
			t.Fatalf("%d alerts stored, want 1", len(as))
		}
		got := as[0]
		if got.Fingerprint != alerts.Fingerprint(a) || got.Status != "firing" || got.Repeats != 0 ||
			!got.StartsAt.Equal(startsAt) || got.EndsAt != nil || !got.LastSeenAt.Equal(t0) ||
			got.Labels["instance"] != "checkout-1:8080" || got.Labels["severity"] != "error" || len(got.Labels) != len(a.Labels) ||
			got.Annotations["summary"] != a.Annotations["summary"] || got.GeneratorURL != a.GeneratorURL {
			t.Errorf("stored alert %+v does not match what fired: %+v", got, a)
		}
	})
}

func TestRepeatedDeliveryIsDeduplicated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("HighErrorRate", "checkout", "production", "critical", t0.Add(-2*time.Minute))
		p := payload("g-checkout", a)
		id := r.openIncident("g-checkout", a)
		events := len(r.timeline(id))

		for i := 1; i <= 3; i++ {
			r.clock.Advance(time.Minute) // Alertmanager's repeat_interval, shortened
			res := r.ingest(p)
			wantResult(t, fmt.Sprintf("repeat %d", i), res, 1, 0, 1, 0)
			if !sameIDs(res.Incidents, []int64{id}) {
				t.Fatalf("repeat %d touched incidents %v, want [%d]", i, res.Incidents, id)
			}
		}
		as := r.alertsOf(id)
		if len(as) != 1 || as[0].Repeats != 3 || !as[0].LastSeenAt.Equal(t0.Add(3*time.Minute)) || as[0].Status != "firing" {
			t.Fatalf("alerts %+v, want one firing alert repeated 3 times, last seen at %s", as, t0.Add(3*time.Minute))
		}
		if n := r.count("incidents"); n != 1 {
			t.Fatalf("%d incidents, want 1", n)
		}
		if got := r.timeline(id); len(got) != events {
			t.Fatalf("timeline grew from %d to %v on repeats", events, kinds(got))
		}
	})
}

// TestAlertmanagerBodiesEndToEnd feeds the recorded webhook bodies through Decode and
// Ingest: nanosecond startsAt values must still match on repeat and on resolve.
func TestAlertmanagerBodiesEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		res := r.ingest(decodeFile(t, "firing_one.json"))
		wantResult(t, "firing_one.json", res, 1, 1, 0, 0)
		checkout := res.Incidents[0]
		inc := r.incident(checkout)
		if inc.Severity != incidents.Sev1 || inc.Service != "checkout" || inc.Environment != "production" ||
			!strings.Contains(inc.Title, "checkout 5xx rate above 5%") {
			t.Fatalf("incident %+v, want sev1 on checkout/production titled with the summary", inc)
		}
		if want := time.Date(2026, 11, 18, 9, 55, 12, 345678000, time.UTC); !inc.ImpactStartedAt.Equal(want) {
			t.Fatalf("impact started %s, want %s (startsAt to the microsecond)", inc.ImpactStartedAt, want)
		}

		r.clock.Advance(30 * time.Second)
		res = r.ingest(decodeFile(t, "firing_one.json"))
		wantResult(t, "firing_one.json again", res, 1, 0, 1, 0)

		res = r.ingest(decodeFile(t, "firing_group.json"))
		wantResult(t, "firing_group.json", res, 3, 3, 0, 0)
		if len(res.Incidents) != 1 || res.Incidents[0] == checkout {
			t.Fatalf("the payments group touched %v, want one new incident", res.Incidents)
		}
		payments := r.incident(res.Incidents[0])
		if payments.Service != "payments" || payments.Environment != "staging" || payments.Severity != incidents.Sev3 {
			t.Fatalf("incident %+v, want payments/staging sev3 (labels app, environment, severity=warning)", payments)
		}
		if n := len(r.alertsOf(payments.ID)); n != 3 {
			t.Fatalf("%d alerts in the payments incident, want 3", n)
		}

		res = r.ingest(decodeFile(t, "future_fields.json"))
		wantResult(t, "future_fields.json", res, 1, 1, 0, 0)
		if disk := r.incident(res.Incidents[0]); disk.Service != "node" || disk.Severity != incidents.Sev2 {
			t.Fatalf("incident %+v, want service from the job label and sev2", disk)
		}

		r.clock.Advance(30 * time.Second)
		res = r.ingest(decodeFile(t, "resolved.json"))
		wantResult(t, "resolved.json", res, 1, 0, 0, 1)
		inc = r.incident(checkout)
		if inc.Status != incidents.Resolved {
			t.Fatalf("checkout incident is %s after its only alert resolved, want resolved", inc.Status)
		}
		if want := time.Date(2026, 11, 18, 9, 58, 42, 123456000, time.UTC); !timePtrEq(inc.MitigatedAt, want) {
			t.Fatalf("mitigated at %v, want the alert's endsAt %s", inc.MitigatedAt, want)
		}
		as := r.alertsOf(checkout)
		if len(as) != 1 || as[0].Status != "resolved" || as[0].Repeats != 1 {
			t.Fatalf("alerts %+v, want the one occurrence, resolved, repeated once", as)
		}
	})
}

func TestSecondAlertOfTheServiceJoinsTheIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		id := r.openIncident("g-api", fire("HighLatency", "api", "production", "warning", t0.Add(-time.Minute)))

		r.clock.Advance(time.Minute)
		// Another alert of the same service and environment, and of the same group.
		b := fire("PodRestarting", "api", "production", "warning", t0)
		res := r.ingest(payload("g-api", b))
		wantResult(t, "second alert", res, 1, 1, 0, 0)
		if !sameIDs(res.Incidents, []int64{id}) {
			t.Fatalf("second alert went to %v, want the group's incident %d", res.Incidents, id)
		}
		if n := r.count("incidents"); n != 1 {
			t.Fatalf("%d incidents, want 1", n)
		}
		evs := r.timeline(id)
		firing := eventsOfKind(evs, incidents.KindAlertFiring)
		if len(firing) != 1 || !strings.Contains(firing[0].Text, "PodRestarting") || !firing[0].At.Equal(t0.Add(time.Minute)) ||
			firing[0].Actor != "alertmanager" {
			t.Fatalf("timeline %+v, want one alert_firing line for PodRestarting at %s", evs, t0.Add(time.Minute))
		}
		if len(evs) != 2 {
			t.Fatalf("timeline %v, want opened then alert_firing", kinds(evs))
		}
		if inc := r.incident(id); inc.Severity != incidents.Sev3 || !inc.ImpactStartedAt.Equal(t0.Add(-time.Minute)) {
			t.Fatalf("incident %+v changed severity or impact start for an alert that is neither worse nor earlier", inc)
		}
		if n := len(r.alertsOf(id)); n != 2 {
			t.Fatalf("%d alerts, want 2", n)
		}
	})
}

func TestCriticalAlertRaisesTheSeverity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		id := r.openIncident("g-db", fire("ReplicationLag", "db", "production", "warning", t0.Add(-time.Minute)))
		if inc := r.incident(id); inc.Severity != incidents.Sev3 {
			t.Fatalf("severity %s, want sev3 from warning", inc.Severity)
		}

		r.clock.Advance(2 * time.Minute)
		// The critical alert started before the warning one: impact began earlier too.
		earlier := t0.Add(-3 * time.Minute)
		res := r.ingest(payload("g-db", fire("PrimaryDown", "db", "production", "critical", earlier)))
		wantResult(t, "critical alert", res, 1, 1, 0, 0)
		inc := r.incident(id)
		if inc.Severity != incidents.Sev1 {
			t.Fatalf("severity %s after a critical alert joined, want sev1", inc.Severity)
		}
		if !inc.ImpactStartedAt.Equal(earlier) {
			t.Fatalf("impact started %s, want the earlier startsAt %s", inc.ImpactStartedAt, earlier)
		}
		changed := eventsOfKind(r.timeline(id), incidents.KindSeverityChanged)
		if len(changed) != 1 || !strings.Contains(changed[0].Text, "sev3") || !strings.Contains(changed[0].Text, "sev1") {
			t.Fatalf("severity events %+v, want one saying sev3 to sev1", changed)
		}

		// A milder alert never lowers it.
		res = r.ingest(payload("g-db", fire("SlowQueries", "db", "production", "info", t0)))
		wantResult(t, "info alert", res, 1, 1, 0, 0)
		if inc := r.incident(id); inc.Severity != incidents.Sev1 {
			t.Fatalf("severity %s after an info alert, want sev1 kept", inc.Severity)
		}
		if n := len(eventsOfKind(r.timeline(id), incidents.KindSeverityChanged)); n != 1 {
			t.Fatalf("%d severity events, want still 1", n)
		}
	})
}

func TestGroupingByServiceAndEnvironment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		id := r.openIncident("g-1", fire("HighLatency", "checkout", "production", "warning", t0))

		// Another Alertmanager group, same service and environment: the same incident.
		res := r.ingest(payload("g-2", fire("ErrorBudgetBurn", "checkout", "production", "warning", t0)))
		wantResult(t, "other group, same service", res, 1, 1, 0, 0)
		if !sameIDs(res.Incidents, []int64{id}) {
			t.Fatalf("same service+env went to %v, want the open incident %d", res.Incidents, id)
		}

		// Another service: a new incident.
		res = r.ingest(payload("g-3", fire("HighLatency", "payments", "production", "warning", t0)))
		wantResult(t, "other service", res, 1, 1, 0, 0)
		if len(res.Incidents) != 1 || res.Incidents[0] == id {
			t.Fatalf("another service went to %v, want a new incident", res.Incidents)
		}
		payments := res.Incidents[0]

		// The same service in another environment: a new incident too.
		res = r.ingest(payload("g-4", fire("HighLatency", "checkout", "staging", "warning", t0)))
		if len(res.Incidents) != 1 || res.Incidents[0] == id || res.Incidents[0] == payments {
			t.Fatalf("staging went to %v, want its own incident", res.Incidents)
		}
		if n := r.count("incidents"); n != 3 {
			t.Fatalf("%d incidents, want 3", n)
		}
		if n := len(r.alertsOf(id)); n != 2 {
			t.Fatalf("%d alerts in the checkout incident, want 2", n)
		}
	})
}

func TestIncidentResolvesWhenEveryAlertResolves(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("HighLatency", "api", "production", "warning", t0.Add(-5*time.Minute), "instance", "a")
		b := fire("HighLatency", "api", "production", "warning", t0.Add(-4*time.Minute), "instance", "b")
		res := r.ingest(payload("g-api", a, b))
		wantResult(t, "two alerts", res, 2, 2, 0, 0)
		id := res.Incidents[0]

		r.clock.Advance(5 * time.Minute)
		res = r.ingest(payload("g-api", resolve(a, t0.Add(4*time.Minute)), b))
		wantResult(t, "a resolves, b repeats", res, 2, 0, 1, 1)
		inc := r.incident(id)
		if inc.Status != incidents.Observing || inc.MitigatedAt != nil || inc.ResolvedAt != nil {
			t.Fatalf("incident %+v, want still observing and not mitigated while b fires", inc)
		}
		resolvedLines := eventsOfKind(r.timeline(id), incidents.KindAlertResolved)
		if len(resolvedLines) != 1 || !strings.Contains(resolvedLines[0].Text, "HighLatency") {
			t.Fatalf("timeline %v, want one alert_resolved line", kinds(r.timeline(id)))
		}

		r.clock.Advance(5 * time.Minute)
		bEnd := t0.Add(9 * time.Minute)
		res = r.ingest(payload("g-api", resolve(b, bEnd)))
		wantResult(t, "b resolves", res, 1, 0, 0, 1)
		if !sameIDs(res.Incidents, []int64{id}) {
			t.Fatalf("incidents %v, want [%d]", res.Incidents, id)
		}
		inc = r.incident(id)
		if inc.Status != incidents.Resolved {
			t.Fatalf("status %s, want resolved automatically: nobody acknowledged", inc.Status)
		}
		if !timePtrEq(inc.MitigatedAt, bEnd) {
			t.Fatalf("mitigated at %v, want the last alert's end %s", inc.MitigatedAt, bEnd)
		}
		if !timePtrEq(inc.ResolvedAt, t0.Add(10*time.Minute)) {
			t.Fatalf("resolved at %v, want now %s", inc.ResolvedAt, t0.Add(10*time.Minute))
		}
		evs := r.timeline(id)
		last := evs[len(evs)-1]
		if last.Kind != incidents.KindResolved || last.Actor != "alertmanager" {
			t.Fatalf("timeline %v, want it to end with resolved by alertmanager", kinds(evs))
		}
		for _, a := range r.alertsOf(id) {
			if a.Status != "resolved" || a.EndsAt == nil {
				t.Fatalf("alert %+v, want resolved with an end", a)
			}
		}

		// The resolved notification again changes nothing.
		events := len(evs)
		res = r.ingest(payload("g-api", resolve(b, bEnd)))
		wantResult(t, "b resolved again", res, 1, 0, 1, 0)
		if got := r.timeline(id); len(got) != events {
			t.Fatalf("timeline grew to %v on a repeated resolve", kinds(got))
		}
	})
}

func TestAcknowledgedIncidentWaitsForPeopleWhenAlertsClear(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("HighErrorRate", "checkout", "production", "critical", t0.Add(-time.Minute))
		id := r.openIncident("g-checkout", a)
		r.clock.Advance(2 * time.Minute)
		if _, err := r.m.Transition(context.Background(), id, incidents.Acknowledge, "alice", ""); err != nil {
			t.Fatalf("acknowledge: %v", err)
		}

		r.clock.Advance(10 * time.Minute)
		end := t0.Add(11 * time.Minute)
		res := r.ingest(payload("g-checkout", resolve(a, end)))
		wantResult(t, "resolve", res, 1, 0, 0, 1)
		inc := r.incident(id)
		if inc.Status != incidents.Responding {
			t.Fatalf("status %s, want responding: alice owns it and decides", inc.Status)
		}
		if inc.ResolvedAt != nil {
			t.Fatalf("resolved at %v, want unset", inc.ResolvedAt)
		}
		if !timePtrEq(inc.MitigatedAt, end) {
			t.Fatalf("mitigated at %v, want the alert's end %s", inc.MitigatedAt, end)
		}
		evs := r.timeline(id)
		cleared := eventsOfKind(evs, incidents.KindAlertsCleared)
		if len(cleared) != 1 || cleared[0].Actor != "alertmanager" || evs[len(evs)-1].Kind != incidents.KindAlertsCleared {
			t.Fatalf("timeline %v, want it to end with one alerts_cleared line", kinds(evs))
		}
	})
}

func TestLateFiringDeliveryOfAResolvedOccurrenceIsIgnored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("HighLatency", "api", "production", "warning", t0.Add(-time.Minute))
		id := r.openIncident("g-api", a)
		r.clock.Advance(time.Minute)
		r.ingest(payload("g-api", resolve(a, t0.Add(30*time.Second))))
		if inc := r.incident(id); inc.Status != incidents.Resolved {
			t.Fatalf("status %s, want resolved", inc.Status)
		}
		events := len(r.timeline(id))

		// A firing notification of the same occurrence, delayed in a retry queue, arrives.
		r.clock.Advance(time.Minute)
		res := r.ingest(payload("g-api", a))
		wantResult(t, "late firing", res, 1, 0, 1, 0)
		inc := r.incident(id)
		if inc.Status != incidents.Resolved || inc.ReopenedCount != 0 {
			t.Fatalf("incident %+v, want still resolved, never reopened", inc)
		}
		if got := r.timeline(id); len(got) != events {
			t.Fatalf("timeline grew to %v on a late delivery", kinds(got))
		}
		as := r.alertsOf(id)
		if len(as) != 1 || as[0].Status != "resolved" {
			t.Fatalf("alerts %+v, want the one occurrence still resolved", as)
		}
		if n := r.count("incidents"); n != 1 {
			t.Fatalf("%d incidents, want 1", n)
		}
	})
}

func TestFlappingAlertReopensWithinTheWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		first := t0.Add(-time.Minute)
		a := fire("HighLatency", "api", "production", "warning", first)
		id := r.openIncident("g-api", a)
		r.clock.Advance(time.Minute)
		r.ingest(payload("g-api", resolve(a, t0)))
		if inc := r.incident(id); inc.Status != incidents.Resolved {
			t.Fatalf("status %s, want resolved", inc.Status)
		}

		r.clock.Advance(10 * time.Minute)
		again := r.clock.Now().Add(-10 * time.Second)
		res := r.ingest(payload("g-api", refire(a, again)))
		wantResult(t, "re-fire after 10 minutes", res, 1, 1, 0, 0)
		if !sameIDs(res.Incidents, []int64{id}) {
			t.Fatalf("re-fire went to %v, want the resolved incident %d reopened", res.Incidents, id)
		}
		inc := r.incident(id)
		if inc.Status != incidents.Observing || inc.ReopenedCount != 1 || inc.ResolvedAt != nil || inc.MitigatedAt != nil {
			t.Fatalf("incident %+v, want observing, reopened once, end moments cleared", inc)
		}
		if !inc.ImpactStartedAt.Equal(first) {
			t.Fatalf("impact started %s, want the first occurrence's %s: one span for MTTR", inc.ImpactStartedAt, first)
		}
		if n := len(eventsOfKind(r.timeline(id), incidents.KindReopened)); n != 1 {
			t.Fatalf("timeline %v, want one reopened line", kinds(r.timeline(id)))
		}
		as := r.alertsOf(id)
		if len(as) != 2 || as[0].Status != "resolved" || as[1].Status != "firing" || !as[1].StartsAt.Equal(again) {
			t.Fatalf("alerts %+v, want the resolved occurrence and the new firing one", as)
		}
		if n := r.count("incidents"); n != 1 {
			t.Fatalf("%d incidents, want 1", n)
		}
	})
}

func TestAlertAfterTheReopenWindowOpensANewIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("HighLatency", "api", "production", "warning", t0.Add(-time.Minute))
		id := r.openIncident("g-api", a)
		r.clock.Advance(time.Minute)
		r.ingest(payload("g-api", resolve(a, t0)))

		r.clock.Advance(31 * time.Minute)
		res := r.ingest(payload("g-api", refire(a, r.clock.Now())))
		wantResult(t, "re-fire after 31 minutes", res, 1, 1, 0, 0)
		if len(res.Incidents) != 1 || res.Incidents[0] == id {
			t.Fatalf("re-fire went to %v, want a new incident", res.Incidents)
		}
		if old := r.incident(id); old.Status != incidents.Resolved || old.ReopenedCount != 0 {
			t.Fatalf("old incident %+v, want left resolved", old)
		}
		if inc := r.incident(res.Incidents[0]); inc.Status != incidents.Observing || !inc.OpenedAt.Equal(r.clock.Now()) {
			t.Fatalf("new incident %+v, want observing, opened now", inc)
		}
		if n := r.count("incidents"); n != 2 {
			t.Fatalf("%d incidents, want 2", n)
		}
	})
}

func TestForIncidentReturnsEveryAlert(t *testing.T) {
	t.Parallel() // one of the slow stories; they overlap each other
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		const n = 1500
		as := make([]template.Alert, n)
		for i := range as {
			as[i] = fire("TargetDown", "fleet", "production", "warning", t0.Add(-time.Minute), "instance", fmt.Sprintf("node-%04d:9100", i))
		}
		res := r.ingest(payload("g-fleet", as...))
		wantResult(t, "1500 alerts", res, n, n, 0, 0)
		if len(res.Incidents) != 1 {
			t.Fatalf("incidents %v, want one", res.Incidents)
		}
		got := r.alertsOf(res.Incidents[0])
		if len(got) != n {
			t.Fatalf("ForIncident returned %d alerts, want all %d", len(got), n)
		}
		seen := map[string]bool{}
		for i, a := range got {
			seen[a.Labels["instance"]] = true
			if i > 0 && got[i-1].ID >= a.ID {
				t.Fatalf("alerts not oldest first at %d", i)
			}
		}
		if len(seen) != n {
			t.Fatalf("%d distinct instances, want %d", len(seen), n)
		}
	})
}

func TestResolvedAlertNeverSeenFiringIsNotStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("HighLatency", "api", "production", "warning", t0.Add(-time.Hour))
		res := r.ingest(payload("g-api", resolve(a, t0.Add(-time.Minute))))
		wantResult(t, "unknown resolved alert", res, 1, 0, 1, 0)
		if len(res.Incidents) != 0 {
			t.Fatalf("incidents %v, want none", res.Incidents)
		}
		for _, table := range []string{"alerts", "incidents", "timeline_events"} {
			if n := r.count(table); n != 0 {
				t.Fatalf("%d rows in %s, want none", n, table)
			}
		}
	})
}

func TestOddTimesStillResolveTheIncident(t *testing.T) {
	// A sender with odd but parseable times (far offsets, an endsAt before its startsAt,
	// even before the year 1 in UTC) must not leave an incident that never resolves or
	// measures a negative time to mitigate.
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		p, err := alerts.Decode([]byte(alertWith(`2026-11-18T09:00:00Z`, `2026-11-18T23:30:00+14:00`)))
		if err != nil {
			t.Fatal(err)
		}
		res := r.ingest(p)
		id := res.Incidents[0]
		if inc := r.incident(id); !inc.ImpactStartedAt.Equal(time.Date(2026, 11, 18, 9, 30, 0, 0, time.UTC)) {
			t.Fatalf("impact started %s, want 09:30 UTC", inc.ImpactStartedAt)
		}
		a := p.Alerts[0]
		a.Status = "resolved"
		a.EndsAt = time.Date(1, 1, 1, 0, 0, 1, 0, time.FixedZone("", 3600)) // the year 0 in UTC
		r.clock.Advance(time.Minute)
		res = r.ingest(payload(p.GroupKey, a))
		wantResult(t, "odd endsAt", res, 1, 0, 0, 1)
		inc := r.incident(id)
		if inc.MitigatedAt == nil || inc.MitigatedAt.Before(inc.ImpactStartedAt) || inc.MitigatedAt.After(r.clock.Now()) {
			t.Fatalf("mitigated at %v, want between impact start %s and now", inc.MitigatedAt, inc.ImpactStartedAt)
		}
		as := r.alertsOf(id)
		if len(as) != 1 || as[0].EndsAt == nil || as[0].EndsAt.Before(as[0].StartsAt) {
			t.Fatalf("alerts %+v, want an end no earlier than the start", as)
		}
	})
}

func TestLargePayloadOfRepeatsIsMarkedInChunks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		var as []template.Alert
		for i := 0; i < 450; i++ { // more than one statement's chunk
			as = append(as, fire("DiskFull", "storage", "prod", "warning", start, "instance", fmt.Sprintf("node-%d", i)))
		}
		p := payload("{}:{alertname=\"DiskFull\"}", as...)
		wantResult(t, "first delivery", r.ingest(p), 450, 450, 0, 0)
		// The same alert twice in one payload is one repeat, not two.
		p.Alerts = append(p.Alerts, as[0])
		res := r.ingest(p)
		wantResult(t, "repeat", res, 451, 0, 451, 0)
		if len(res.Incidents) != 1 {
			t.Fatalf("incidents %v, want one", res.Incidents)
		}
		got := r.alertsOf(res.Incidents[0])
		if len(got) != 450 {
			t.Fatalf("%d alerts, want 450", len(got))
		}
		for _, a := range got {
			if a.Repeats != 1 {
				t.Fatalf("alert %s has %d repeats, want 1", a.Fingerprint, a.Repeats)
			}
		}
	})
}

// TestHugeGroupKeyAndServiceLabelAreStoredNotRefused: PostgreSQL cannot index an 8 KB
// value, and refusing the payload would make Alertmanager drop its alerts.
func TestHugeGroupKeyAndServiceLabelAreStoredNotRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		a := fire("Huge", strings.Repeat("s", 8000), "prod", "warning", start)
		p := payload("{}:{alertname=\""+strings.Repeat("k", 8000)+"\"}", a)
		first := r.ingest(p)
		wantResult(t, "first", first, 1, 1, 0, 0)
		second := r.ingest(payload(p.GroupKey, fire("Huge2", strings.Repeat("s", 8000), "prod", "warning", start)))
		if !sameIDs(first.Incidents, second.Incidents) {
			t.Fatalf("a second alert of the same huge group opened %v, want %v", second.Incidents, first.Incidents)
		}
		if inc := r.incident(first.Incidents[0]); len([]rune(inc.Service)) != incidents.MaxName {
			t.Fatalf("service kept %d characters, want it cut to %d", len([]rune(inc.Service)), incidents.MaxName)
		}
	})
}
