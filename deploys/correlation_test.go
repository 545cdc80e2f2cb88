package deploys_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

func TestDeployFourMinutesBeforeImpactIsTheSuspect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		d := e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev2, "checkout", "prod", at(10, 0))

		s := e.suspects(inc.ID)
		if len(s) != 1 {
			t.Fatalf("%d suspects, want 1: %+v", len(s), s)
		}
		if s[0].Deploy.ID != d.ID || !strings.Contains(s[0].Reason, "4 min before") || s[0].Score <= 0 || s[0].Score >= 1 {
			t.Fatalf("suspect %+v, want deploy %d, reason with \"4 min before\", 0 < score < 1", s[0], d.ID)
		}
		if a, b := asJSONMap(t, s[0].Deploy), asJSONMap(t, d); !equalJSON(a, b) {
			t.Fatalf("suspect shows deploy %v, recorded %v", a, b)
		}
		if len(e.during(inc.ID)) != 0 {
			t.Fatal("a suspect is also listed as deployed during the incident")
		}
		lines := e.events(inc.ID, deploys.KindDeploySuspected)
		if len(lines) != 1 {
			t.Fatalf("%d deploy_suspected lines, want 1: %+v", len(lines), e.timeline(inc.ID))
		}
		for _, want := range []string{"checkout 1.4.2 (prod)", "4 min before impact started", "alice", "abc123def456"} {
			if !strings.Contains(lines[0].Text, want) {
				t.Errorf("timeline line %q lacks %q", lines[0].Text, want)
			}
		}
		if lines[0].Actor == "" || lines[0].Public {
			t.Errorf("timeline line %+v: want an actor and not public", lines[0])
		}
	})
}

func TestSuspectsAreRankedClosestFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		early := e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "1.4.0", FinishedAt: ptr(at(9, 40))})
		closest := e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "1.4.1", FinishedAt: ptr(at(9, 58))})
		// Recorded last but finished in between: ranking goes by time, not by recording order.
		middle := e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "1.3.9", FinishedAt: ptr(at(9, 50))})
		inc := e.declare("Checkout is slow", incidents.Sev3, "checkout", "prod", at(10, 0))

		s := e.suspects(inc.ID)
		if len(s) != 3 {
			t.Fatalf("%d suspects, want 3", len(s))
		}
		want := []int64{closest.ID, middle.ID, early.ID}
		for i, m := range s {
			if m.Deploy.ID != want[i] {
				t.Fatalf("suspect %d is deploy %d (%s), want %d; all: %+v", i, m.Deploy.ID, m.Deploy.Version, want[i], s)
			}
			if i > 0 && m.Score >= s[i-1].Score {
				t.Fatalf("scores not decreasing: %v then %v", s[i-1].Score, m.Score)
			}
		}
		if !strings.Contains(s[0].Reason, "2 min before") || !strings.Contains(s[2].Reason, "20 min before") {
			t.Fatalf("reasons %q, %q", s[0].Reason, s[2].Reason)
		}
		if n := len(e.events(inc.ID, deploys.KindDeploySuspected)); n != 3 {
			t.Fatalf("%d deploy_suspected lines, want 3", n)
		}
	})
}

func TestDeploysOutsideTheWindowOrOfAnotherServiceAreNotSuspects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "too-old", FinishedAt: ptr(at(9, 29))})
		e.record(deploys.Input{Service: "checkout", Environment: "staging", Version: "other-env", FinishedAt: ptr(at(9, 56))})
		e.record(deploys.Input{Service: "search", Environment: "prod", Version: "other-service", FinishedAt: ptr(at(9, 56))})
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "after-impact", FinishedAt: ptr(at(10, 1))})
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		if s := e.suspects(inc.ID); len(s) != 0 {
			t.Fatalf("suspects %+v, want none", s)
		}
		if n := len(e.events(inc.ID, deploys.KindDeploySuspected)); n != 0 {
			t.Fatalf("%d deploy_suspected lines, want none", n)
		}

		// The one just inside the window, for contrast: 29 minutes before is a suspect.
		e.record(deploys.Input{Service: "search", Environment: "prod", Version: "inside", FinishedAt: ptr(at(9, 31))})
		other := e.declare("Search is failing", incidents.Sev1, "search", "prod", at(10, 0))
		if s := e.suspects(other.ID); len(s) != 2 || s[0].Deploy.Version != "other-service" || s[1].Deploy.Version != "inside" {
			t.Fatalf("search suspects %+v", s)
		}

		// An incident of no particular service has no suspects.
		loose := e.declare("Something is off", incidents.Sev1, "", "prod", at(10, 0))
		if s := e.suspects(loose.ID); len(s) != 0 {
			t.Fatalf("serviceless incident has suspects %+v", s)
		}
	})
}

func TestDeployRecordedAfterTheIncidentOpenedIsStillASuspect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		inc := e.declare("Checkout is failing", incidents.Sev2, "checkout", "prod", at(10, 0))
		other := e.declare("Checkout staging is failing", incidents.Sev2, "checkout", "staging", at(10, 0))
		if len(e.suspects(inc.ID)) != 0 {
			t.Fatal("suspects before any deploy")
		}
		// The pipeline reports late: at 10:05 it says it finished at 09:58.
		d := e.record(checkoutDeploy(at(9, 58)))
		s := e.suspects(inc.ID)
		if len(s) != 1 || s[0].Deploy.ID != d.ID || !strings.Contains(s[0].Reason, "(recorded after the incident opened)") ||
			!strings.Contains(s[0].Reason, "2 min before") {
			t.Fatalf("suspects %+v", s)
		}
		lines := e.events(inc.ID, deploys.KindDeploySuspected)
		if len(lines) != 1 || !strings.Contains(lines[0].Text, "recorded after the incident opened") {
			t.Fatalf("deploy_suspected lines %+v", lines)
		}
		if len(e.suspects(other.ID)) != 0 || len(e.during(other.ID)) != 0 {
			t.Fatal("a prod deploy was matched with the staging incident")
		}

		// A late deploy from outside the window is nothing to this incident.
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "old", FinishedAt: ptr(at(9, 20))})
		if len(e.suspects(inc.ID)) != 1 || len(e.during(inc.ID)) != 0 {
			t.Fatal("a deploy 40 minutes before impact was matched")
		}
	})
}

func TestDeployDuringTheIncidentIsShownButNotSuspected(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		inc := e.declare("Checkout is failing", incidents.Sev2, "checkout", "prod", at(10, 0))
		e.clock.Set(at(10, 12))
		// A hotfix goes out while people work on it; it finishes when it is recorded.
		fix := e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "1.4.3", PreviousVersion: "1.4.2", Author: "bob"})
		if s := e.suspects(inc.ID); len(s) != 0 {
			t.Fatalf("a deploy during the incident is a suspect: %+v", s)
		}
		d := e.during(inc.ID)
		if len(d) != 1 || d[0].Deploy.ID != fix.ID || !strings.Contains(d[0].Reason, "deployed during the incident") ||
			!strings.Contains(d[0].Reason, "12 min after impact started") {
			t.Fatalf("during %+v", d)
		}
		lines := e.events(inc.ID, deploys.KindDeployDuring)
		if len(lines) != 1 || !strings.Contains(lines[0].Text, "checkout 1.4.3 (prod)") || !strings.Contains(lines[0].Text, "by bob") {
			t.Fatalf("deploy_during lines %+v", lines)
		}
		if n := len(e.events(inc.ID, deploys.KindDeploySuspected)); n != 0 {
			t.Fatalf("%d deploy_suspected lines", n)
		}

		// Once the incident is resolved, deploys are nothing to it.
		if _, err := e.m.Transition(context.Background(), inc.ID, incidents.Resolve, "alice", ""); err != nil {
			t.Fatal(err)
		}
		before := len(e.timeline(inc.ID))
		e.clock.Set(at(10, 30))
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "1.4.4"})
		if len(e.during(inc.ID)) != 1 || len(e.timeline(inc.ID)) != before {
			t.Fatal("a deploy after the incident was resolved was matched with it")
		}
	})
}

func TestCorrelationWindowIsConfigurable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		// A tracker with a 10-minute window, as `deploys.correlation_window: 10m` makes.
		m := incidents.NewManager(db, e.clock.Now)
		tr := deploys.NewTracker(db, m, 10*time.Minute, nil)
		m.OnChange(tr.OnIncidentChange)
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "near", FinishedAt: ptr(at(9, 52))})
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "far", FinishedAt: ptr(at(9, 45))})
		inc, err := m.Declare(context.Background(), "alice", incidents.DeclareInput{Title: "x", Severity: "sev2",
			Service: "checkout", Environment: "prod", ImpactStartedAt: ptr(at(10, 0))})
		if err != nil {
			t.Fatal(err)
		}
		s, err := tr.Suspects(context.Background(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 1 || s[0].Deploy.Version != "near" {
			t.Fatalf("10-minute window suspects %+v, want only near", s)
		}
	})
}

// TestDeployRecordedWhileTheIncidentOpensIsNotMissed: on PostgreSQL the two transactions
// run side by side; without a common lock each could miss the other and the deploy would
// never become a suspect.
func TestDeployRecordedWhileTheIncidentOpensIsNotMissed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		for i := 0; i < 15; i++ {
			service := fmt.Sprintf("race-%d", i)
			var wg sync.WaitGroup
			var inc incidents.Incident
			wg.Add(2)
			go func() {
				defer wg.Done()
				finished := at(9, 58)
				if _, err := e.tr.Record(context.Background(), deploys.Input{Service: service, Environment: "prod", Version: "v2", FinishedAt: &finished}); err != nil {
					t.Error(err)
				}
			}()
			go func() {
				defer wg.Done()
				impact := at(10, 0)
				var err error
				inc, err = e.m.Declare(context.Background(), "alice", incidents.DeclareInput{Title: "down", Severity: "sev2",
					Service: service, Environment: "prod", ImpactStartedAt: &impact})
				if err != nil {
					t.Error(err)
				}
			}()
			wg.Wait()
			if got := e.suspects(inc.ID); len(got) != 1 {
				t.Fatalf("round %d: %d suspects, want the deploy that raced the declaration", i, len(got))
			}
		}
	})
}

// TestSuspectsFollowTheImpactStartBack: an earlier alert moves the impact start from 10:00
// back to 09:50. The deploy of 09:56 was a suspect and is now deployed during the incident;
// the one of 09:20, 40 minutes before the first start, is a suspect now (30 minutes before
// the new one); the one of 09:45 stays a suspect, ranked by its new distance. One timeline
// line says what changed.
func TestSuspectsFollowTheImpactStartBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "old", FinishedAt: ptr(at(9, 20))})
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "middle", FinishedAt: ptr(at(9, 45))})
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "late", FinishedAt: ptr(at(9, 56))})
		inc := e.declare("Checkout is failing", incidents.Sev2, "checkout", "prod", at(10, 0))
		if got := versions(e.suspects(inc.ID)); strings.Join(got, ",") != "late,middle" {
			t.Fatalf("suspects %v, want late, middle", got)
		}

		e.moveImpactStart(inc.ID, at(9, 50))
		s := e.suspects(inc.ID)
		if got := versions(s); strings.Join(got, ",") != "middle,old" {
			t.Fatalf("suspects after the move %v, want middle, old", got)
		}
		if !strings.Contains(s[0].Reason, "5 min before") || !strings.Contains(s[1].Reason, "30 min before") || s[0].Score <= s[1].Score {
			t.Fatalf("suspects %+v, want reasons and scores from the new start", s)
		}
		d := e.during(inc.ID)
		if len(d) != 1 || d[0].Deploy.Version != "late" || !strings.Contains(d[0].Reason, "6 min after impact started") {
			t.Fatalf("during %+v, want late, 6 min after the new start", d)
		}
		lines := e.events(inc.ID, deploys.KindSuspectsRevised)
		if len(lines) != 1 || !strings.Contains(lines[0].Text, "09:50:00Z") || !strings.Contains(lines[0].Text, "checkout old (prod)") ||
			!strings.Contains(lines[0].Text, "Deployed during the incident now: checkout late (prod)") || lines[0].Actor != incidents.ActorFirebreak {
			t.Fatalf("suspects_revised lines %+v", lines)
		}
		if n := len(e.events(inc.ID, incidents.KindImpactStartMoved)); n != 1 {
			t.Fatalf("%d impact_start_moved lines, want 1", n)
		}

		// A start that is not earlier changes nothing.
		before := len(e.timeline(inc.ID))
		e.moveImpactStart(inc.ID, at(9, 55))
		if got := len(e.timeline(inc.ID)); got != before || !e.incident(inc.ID).ImpactStartedAt.Equal(at(9, 50)) {
			t.Fatalf("a later start changed the incident: %d lines, was %d", got, before)
		}
	})
}

// TestEarlierAlertMovesTheSuspects: the same through Alertmanager's path. The incident opens
// on an alert of 10:00; a second alert of the service, started at 09:50, joins it.
func TestEarlierAlertMovesTheSuspects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "old", FinishedAt: ptr(at(9, 25))})
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "late", FinishedAt: ptr(at(9, 56))})
		in := e.ingester()
		id := e.fireAlert(in, "HighErrorRate", "checkout", at(10, 0))
		if got := versions(e.suspects(id)); strings.Join(got, ",") != "late" {
			t.Fatalf("suspects %v, want late", got)
		}
		if joined := e.fireAlert(in, "HighLatency", "checkout", at(9, 50)); joined != id {
			t.Fatalf("the earlier alert went to incident %d, want %d", joined, id)
		}
		if inc := e.incident(id); !inc.ImpactStartedAt.Equal(at(9, 50)) {
			t.Fatalf("impact started %s, want 09:50", inc.ImpactStartedAt)
		}
		if got := versions(e.suspects(id)); strings.Join(got, ",") != "old" {
			t.Fatalf("suspects %v, want old (25 min before 09:50)", got)
		}
		if got := versions(e.during(id)); strings.Join(got, ",") != "late" {
			t.Fatalf("during %v, want late", got)
		}
		if n := len(e.events(id, deploys.KindSuspectsRevised)); n != 1 {
			t.Fatalf("%d suspects_revised lines, want 1", n)
		}
	})
}
