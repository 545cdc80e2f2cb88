package alerts_test

import (
	"testing"
	"time"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
)

// TestFiringWithAnotherStartIsTheSameOccurrence: the two Prometheus servers of an HA pair
// both fire an alert, a few seconds apart. Whatever startsAt each notification carries, while
// the alert fires it is one occurrence: counted, last seen moved, no new line; an earlier
// start moves the stored one (and the impact start) back, a later one changes nothing.
func TestFiringWithAnotherStartIsTheSameOccurrence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		early, late := t0.Add(-2*time.Minute), t0.Add(-2*time.Minute+15*time.Second)
		id := r.openIncident("g-api", fire("HighLatency", "api", "production", "warning", late))
		lines := len(r.timeline(id))

		r.clock.Advance(time.Minute)
		res := r.ingest(payload("g-api", fire("HighLatency", "api", "production", "warning", early)))
		wantResult(t, "the same alert with an earlier start", res, 1, 0, 1, 0)
		if !sameIDs(res.Incidents, []int64{id}) {
			t.Fatalf("incidents %v, want [%d]", res.Incidents, id)
		}
		as := r.alertsOf(id)
		if len(as) != 1 || !as[0].StartsAt.Equal(early) || as[0].Repeats != 1 || !as[0].LastSeenAt.Equal(r.clock.Now()) || as[0].Status != "firing" {
			t.Fatalf("alerts %+v, want one firing occurrence starting at %s, repeated once, seen now", as, early)
		}
		if inc := r.incident(id); !inc.ImpactStartedAt.Equal(early) {
			t.Fatalf("impact started %s, want it moved back to %s", inc.ImpactStartedAt, early)
		}
		evs := r.timeline(id)
		if len(eventsOfKind(evs, incidents.KindAlertFiring)) != 0 || len(evs) != lines+1 ||
			evs[len(evs)-1].Kind != incidents.KindImpactStartMoved {
			t.Fatalf("timeline %v, want only the impact start moved back", kinds(evs))
		}

		r.clock.Advance(time.Minute)
		res = r.ingest(payload("g-api", fire("HighLatency", "api", "production", "warning", late)))
		wantResult(t, "the later start again", res, 1, 0, 1, 0)
		if as := r.alertsOf(id); len(as) != 1 || !as[0].StartsAt.Equal(early) || as[0].Repeats != 2 {
			t.Fatalf("alerts %+v, want the start kept at %s and two repeats", as, early)
		}
		if got := r.timeline(id); len(got) != lines+1 {
			t.Fatalf("timeline grew to %v on a repeat", kinds(got))
		}
		if n := r.count("alerts"); n != 1 {
			t.Fatalf("%d alert rows, want one occurrence", n)
		}
	})
}

// TestResolvedNotificationResolvesWhateverItsStartsAt: the resolve comes from the peer whose
// start was not kept; it still ends the firing occurrence.
func TestResolvedNotificationResolvesWhateverItsStartsAt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		early, late := t0.Add(-2*time.Minute), t0.Add(-time.Minute)
		a := fire("HighLatency", "api", "production", "warning", early)
		id := r.openIncident("g-api", a)

		r.clock.Advance(time.Minute)
		end := t0.Add(30 * time.Second)
		res := r.ingest(payload("g-api", resolve(fire("HighLatency", "api", "production", "warning", late), end)))
		wantResult(t, "resolved with the other start", res, 1, 0, 0, 1)
		as := r.alertsOf(id)
		if len(as) != 1 || as[0].Status != "resolved" || as[0].EndsAt == nil || !as[0].EndsAt.Equal(end) || !as[0].StartsAt.Equal(early) {
			t.Fatalf("alerts %+v, want the occurrence of %s resolved at %s", as, early, end)
		}
		if inc := r.incident(id); inc.Status != incidents.Resolved || !timePtrEq(inc.MitigatedAt, end) {
			t.Fatalf("incident %+v, want resolved, mitigated at %s", inc, end)
		}
	})
}

// TestAfterAResolveLateDeliveriesAreIgnoredAndLaterStartsAreNew: once the occurrence has
// ended, a firing notification that started no later than that end belongs to it (a late
// delivery); one that started after it is a new occurrence.
func TestAfterAResolveLateDeliveriesAreIgnoredAndLaterStartsAreNew(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		start, end := t0.Add(-3*time.Minute), t0.Add(-time.Minute)
		a := fire("HighLatency", "api", "production", "warning", start)
		id := r.openIncident("g-api", a)
		r.ingest(payload("g-api", resolve(a, end)))
		lines := len(r.timeline(id))

		r.clock.Advance(time.Minute)
		// From the HA peer whose start was a little later, still before the end: late.
		res := r.ingest(payload("g-api", refire(a, start.Add(20*time.Second))))
		wantResult(t, "late delivery with another start", res, 1, 0, 1, 0)
		// Started exactly at the end: still the same occurrence.
		res = r.ingest(payload("g-api", refire(a, end)))
		wantResult(t, "late delivery starting at the end", res, 1, 0, 1, 0)
		if inc := r.incident(id); inc.Status != incidents.Resolved || inc.ReopenedCount != 0 {
			t.Fatalf("incident %+v, want still resolved", inc)
		}
		if got := r.timeline(id); len(got) != lines {
			t.Fatalf("timeline grew to %v on late deliveries", kinds(got))
		}

		again := end.Add(time.Second)
		res = r.ingest(payload("g-api", refire(a, again)))
		wantResult(t, "started after the end", res, 1, 1, 0, 0)
		if !sameIDs(res.Incidents, []int64{id}) {
			t.Fatalf("incidents %v, want %d reopened", res.Incidents, id)
		}
		as := r.alertsOf(id)
		if len(as) != 2 || as[1].Status != "firing" || !as[1].StartsAt.Equal(again) {
			t.Fatalf("alerts %+v, want the ended occurrence and a new firing one from %s", as, again)
		}
	})
}

// TestLateNotificationsOfAnEarlierOccurrenceLeaveTheFiringOneAlone: a resolved notification
// that ended before the firing occurrence began, or a firing one that started before the
// earlier occurrence ended, is about that earlier one, delivered late.
func TestLateNotificationsOfAnEarlierOccurrenceLeaveTheFiringOneAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		first := fire("HighLatency", "api", "production", "warning", t0.Add(-10*time.Minute))
		id := r.openIncident("g-api", first)
		oldResolve := resolve(first, t0.Add(-8*time.Minute))
		r.ingest(payload("g-api", oldResolve))
		r.clock.Advance(time.Minute)
		second := refire(first, t0.Add(-5*time.Minute))
		res := r.ingest(payload("g-api", second))
		wantResult(t, "the second occurrence", res, 1, 1, 0, 0)

		res = r.ingest(payload("g-api", oldResolve))
		wantResult(t, "the first resolve again", res, 1, 0, 1, 0)
		res = r.ingest(payload("g-api", first))
		wantResult(t, "the first firing again", res, 1, 0, 1, 0)
		as := r.alertsOf(id)
		if len(as) != 2 || as[1].Status != "firing" || !as[1].StartsAt.Equal(second.StartsAt) {
			t.Fatalf("alerts %+v, want the second occurrence still firing from %s", as, second.StartsAt)
		}
		if inc := r.incident(id); !inc.ImpactStartedAt.Equal(first.StartsAt) || len(eventsOfKind(r.timeline(id), incidents.KindImpactStartMoved)) != 0 {
			t.Fatalf("incident %+v, want its impact start unmoved", inc)
		}
		if inc := r.incident(id); inc.Status != incidents.Observing {
			t.Fatalf("incident %+v, want observing: its alert fires", inc)
		}
	})
}

// TestTheSameAlertTwiceInOnePayloadStartsOneOccurrence: a payload naming a new alert twice,
// with two starts, stores one occurrence from the earlier.
func TestTheSameAlertTwiceInOnePayloadStartsOneOccurrence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("HighLatency", "api", "production", "warning", t0.Add(-time.Minute))
		res := r.ingest(payload("g-api", a, refire(a, t0.Add(-2*time.Minute))))
		wantResult(t, "one alert twice", res, 2, 1, 1, 0)
		as := r.alertsOf(res.Incidents[0])
		if len(as) != 1 || !as[0].StartsAt.Equal(t0.Add(-2*time.Minute)) || as[0].Fingerprint != alerts.Fingerprint(a) {
			t.Fatalf("alerts %+v, want one occurrence from the earlier start", as)
		}
	})
}

// A flapping alert with several ended occurrences is judged against its latest: a start
// within that one's firing period is a late delivery, even though it falls after an earlier
// occurrence ended; a start after it is a new occurrence.
func TestAFlappingAlertIsJudgedAgainstItsLatestOccurrence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		base := t0.Add(-time.Hour)
		a := fire("DiskFull", "db", "production", "warning", base)
		for i := 0; i < 3; i++ { // fires 10 minutes, clears 10 minutes, three times
			start := base.Add(time.Duration(i) * 20 * time.Minute)
			r.ingest(payload("g-db", refire(a, start)))
			r.ingest(payload("g-db", resolve(refire(a, start), start.Add(10*time.Minute))))
		}
		// The third occurrence fired from base+40m to base+50m.
		res := r.ingest(payload("g-db", refire(a, base.Add(45*time.Minute))))
		wantResult(t, "a start within the latest occurrence", res, 1, 0, 1, 0)
		res = r.ingest(payload("g-db", refire(a, base.Add(55*time.Minute))))
		wantResult(t, "a start after the latest occurrence", res, 1, 1, 0, 0)
		if n := r.count("alerts"); n != 4 {
			t.Fatalf("%d occurrences stored, want 4", n)
		}
	})
}
