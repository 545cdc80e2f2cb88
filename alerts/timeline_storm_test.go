package alerts_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
)

// In a storm the first alerts of an incident get a line each and the rest are summed up,
// one line per minute, while every alert is still stored.
func TestAStormKeepsTheTimelineReadable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		start := t0.Add(-time.Minute)
		var storm []template.Alert
		for i := 0; i < 500; i++ {
			storm = append(storm, fire(fmt.Sprintf("PodCrash%03d", i), "checkout", "production", "critical", start))
		}
		res := r.ingest(payload("{}:{service=\"checkout\"}", storm[:300]...))
		if len(res.Incidents) != 1 {
			t.Fatalf("storm opened %v, want one incident", res.Incidents)
		}
		id := res.Incidents[0]
		r.clock.Advance(20 * time.Second) // the same minute
		r.ingest(payload("{}:{service=\"checkout\"}", storm[300:400]...))
		r.clock.Advance(time.Minute) // the next minute
		r.ingest(payload("{}:{service=\"checkout\"}", storm[400:]...))

		evs := r.timeline(id)
		if n := len(eventsOfKind(evs, incidents.KindAlertFiring)); n != 20 {
			t.Errorf("%d alert_firing lines, want the first 20", n)
		}
		sums := eventsOfKind(evs, incidents.KindAlertsFiredSummary)
		// 500 alerts: one names the "opened" line, 20 get their own, 479 are summed up:
		// 279 + 100 in the first minute, 100 in the next.
		if len(sums) != 2 || sums[0].Text != "379 more alerts fired." || sums[1].Text != "100 more alerts fired." {
			t.Fatalf("summary lines %+v, want 379 then 100 more alerts fired", sums)
		}
		if n := len(r.alertsOf(id)); n != 500 {
			t.Fatalf("%d alerts stored, want every one of 500", n)
		}

		r.clock.Advance(time.Minute)
		var resolved []template.Alert
		for _, a := range storm {
			resolved = append(resolved, resolve(a, r.clock.Now()))
		}
		r.ingest(payload("{}:{service=\"checkout\"}", resolved...))
		evs = r.timeline(id)
		if n := len(eventsOfKind(evs, incidents.KindAlertResolved)); n != 20 {
			t.Errorf("%d alert_resolved lines, want the first 20", n)
		}
		if sums := eventsOfKind(evs, incidents.KindAlertsResolvedSummary); len(sums) != 1 || sums[0].Text != "480 more alerts resolved." {
			t.Fatalf("resolved summary %+v, want 480 more alerts resolved", sums)
		}
		if inc := r.incident(id); inc.Status != incidents.Resolved {
			t.Fatalf("incident %s after every alert resolved, want resolved", inc.Status)
		}
		if len(evs) > 50 {
			t.Errorf("the timeline of a 500-alert storm has %d lines", len(evs))
		}
	})
}

// Two replicas take turns growing one incident's summary line: each remembers the line as
// it last wrote it, and neither loses the other's count.
func TestTwoReplicasGrowOneSummaryLine(t *testing.T) {
	clock := testkit.NewClock(t0)
	rs := twoReplicas(t, clock, &warningLog{}, testOptions())
	start := t0.Add(-time.Minute)
	key := "{}:{service=\"checkout\"}"
	var first []template.Alert
	for i := 0; i < 21; i++ { // the opening line and 20 lines of their own
		first = append(first, fire(fmt.Sprintf("Crash%03d", i), "checkout", "production", "critical", start))
	}
	id := rs[0].ingest(payload(key, first...)).Incidents[0]
	for round := 0; round < 6; round++ {
		var more []template.Alert
		for i := 0; i < 5; i++ {
			more = append(more, fire(fmt.Sprintf("More%d-%d", round, i), "checkout", "production", "critical", start))
		}
		rs[round%2].ingest(payload(key, more...))
		clock.Advance(time.Second)
	}
	sums := eventsOfKind(rs[1].timeline(id), incidents.KindAlertsFiredSummary)
	if len(sums) != 1 || sums[0].Text != "30 more alerts fired." {
		t.Fatalf("summary lines %+v, want one saying 30 more alerts fired", sums)
	}
}
