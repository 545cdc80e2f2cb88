package postmortem_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/outbox"
	"firebreak/postmortem"
	"firebreak/store"
)

// story is Firebreak wired as serve wires it over one database, with the incident clock in
// the test's hands: alerts come in through the ingester, deploys through the tracker,
// rollbacks through a real webhook on loopback delivered by the outbox.
type story struct {
	t      *testing.T
	db     *store.DB
	clock  *testkit.Clock
	m      *incidents.Manager
	tr     *deploys.Tracker
	rb     *deploys.Rollbacks
	alerts *alerts.Ingester
	pm     *postmortem.Service
}

// at is a time on Monday 2 March 2026, when the main story happens.
func at(h, m, s int) time.Time { return time.Date(2026, 3, 2, h, m, s, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

var hookSecret = []byte("checkout-rollback-secret")

// newStory wires the platform with a rollback webhook for checkout (policy confirm) that
// answers 200, and the clock at 2026-03-02 12:00.
func newStory(t *testing.T, db *store.DB) *story {
	t.Helper()
	return newStoryWithHook(t, db, deploys.PolicyConfirm, http.StatusOK)
}

// newStoryWithHook is newStory with checkout's rollback policy and the status its hook
// answers.
func newStoryWithHook(t *testing.T, db *store.DB, policy string, status int) *story {
	t.Helper()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"rolled_back":true}`)
	}))
	t.Cleanup(hook.Close)
	s := &story{t: t, db: db, clock: testkit.NewClock(at(12, 0, 0))}
	quiet := slog.New(slog.DiscardHandler)
	s.m = incidents.NewManager(db, s.clock.Now)
	ob := outbox.New(db, outbox.Options{Poll: 5 * time.Millisecond, BaseBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		MaxAttempts: 3, Log: quiet})
	s.rb = deploys.NewRollbacks(db, s.m, ob, map[string]deploys.Hook{"checkout": {Policy: policy,
		MinSeverity: incidents.Sev4, WebhookURL: hook.URL + "/rollback", Secret: hookSecret, Timeout: 5 * time.Second}}, "http://firebreak.test")
	s.tr = deploys.NewTracker(db, s.m, 30*time.Minute, s.rb)
	s.m.OnChange(s.tr.OnIncidentChange)
	writes := store.NewGroupCommitter(db, 1, 128, 4096, quiet)
	s.alerts = alerts.NewIngester(db, s.m, writes, alerts.Options{ServiceLabels: []string{"service"},
		EnvironmentLabels: []string{"env"}, SeverityMap: map[string]incidents.Severity{"critical": incidents.Sev1, "warning": incidents.Sev3},
		ReopenWindow: 30 * time.Minute})
	s.pm = postmortem.New(db, s.m, s.tr, s.rb)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ob.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; writes.Close() })
	return s
}

// set moves the incident clock.
func (s *story) set(t time.Time) { s.clock.Set(t) }

// ingest sends one Alertmanager payload through the alert path, as the webhook would.
func (s *story) ingest(groupKey string, as ...template.Alert) alerts.Result {
	s.t.Helper()
	status := "resolved"
	for _, a := range as {
		if a.Status == "firing" {
			status = "firing"
		}
	}
	res, err := s.alerts.Ingest(context.Background(), alerts.Payload{Version: "4", GroupKey: groupKey,
		Data: template.Data{Receiver: "firebreak", Status: status, Alerts: as, ExternalURL: "http://alertmanager:9093"}})
	if err != nil {
		s.t.Fatalf("ingest: %v", err)
	}
	return res
}

// firing is an alert of checkout in prod that started at startsAt.
func firing(name, instance, severity string, startsAt time.Time) template.Alert {
	return template.Alert{Status: "firing", StartsAt: startsAt,
		Labels:      template.KV{"alertname": name, "service": "checkout", "env": "prod", "severity": severity, "instance": instance},
		Annotations: template.KV{"summary": name + " on " + instance}}
}

func resolved(a template.Alert, endsAt time.Time) template.Alert {
	a.Status, a.EndsAt = "resolved", endsAt
	return a
}

// declare opens an incident by hand, as actor, at the clock's time.
func (s *story) declare(actor, title, service string, impact time.Time) incidents.Incident {
	s.t.Helper()
	inc, err := s.m.Declare(context.Background(), actor, incidents.DeclareInput{Title: title, Severity: "sev2",
		Service: service, Environment: "prod", ImpactStartedAt: &impact})
	if err != nil {
		s.t.Fatalf("declare %q: %v", title, err)
	}
	return inc
}

// do applies a state change at time t.
func (s *story) do(t time.Time, id int64, action incidents.Action, actor, note string) {
	s.t.Helper()
	s.set(t)
	if _, err := s.m.Transition(context.Background(), id, action, actor, note); err != nil {
		s.t.Fatalf("%s incident %d: %v", action, id, err)
	}
}

// note adds a note at time t.
func (s *story) note(t time.Time, id int64, actor, text string, public bool) {
	s.t.Helper()
	s.set(t)
	if _, err := s.m.AddNote(context.Background(), id, actor, text, public); err != nil {
		s.t.Fatalf("note on incident %d: %v", id, err)
	}
}

// earlierIncident is a declared incident with its moments at the given minutes after
// declaration (impactBefore minutes before it); a negative minute leaves the step out.
func (s *story) earlierIncident(service string, declared time.Time, impactBefore, ack, mitigate, resolve int) incidents.Incident {
	s.t.Helper()
	s.set(declared)
	inc := s.declare("carol", "Earlier trouble in "+service, service, declared.Add(-time.Duration(impactBefore)*time.Minute))
	min := func(n int) time.Time { return declared.Add(time.Duration(n) * time.Minute) }
	if ack >= 0 {
		s.do(min(ack), inc.ID, incidents.Acknowledge, "carol", "")
	}
	if mitigate >= 0 {
		s.do(min(mitigate), inc.ID, incidents.Mitigate, "carol", "")
	}
	if resolve >= 0 {
		s.do(min(resolve), inc.ID, incidents.Resolve, "carol", "")
	}
	return inc
}

// waitRollbacks waits until no rollback of the incident is pending or running.
func (s *story) waitRollbacks(id int64) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rbs, err := s.rb.ForIncident(context.Background(), id)
		if err != nil {
			s.t.Fatal(err)
		}
		settled := true
		for _, rb := range rbs {
			if rb.Status == deploys.StatusPending || rb.Status == deploys.StatusRunning {
				settled = false
			}
		}
		if settled {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("rollbacks of incident %d never settled: %+v", id, rbs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkoutOutage plays the main story and returns its incident: checkout 1.4.2 deployed at
// 13:55, alerts from 14:00, bob acknowledges and rolls back, the alerts clear at 14:18, a
// status update, bob resolves at 14:40. Four checkout incidents come before it (two within
// 90 days, one older, one of another service) and one after it.
func (s *story) checkoutOutage() incidents.Incident {
	s.t.Helper()
	ctx := context.Background()
	s.earlierIncident("checkout", time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC), 5, 1, 20, 30) // over 90 days before
	s.earlierIncident("checkout", time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC), 10, 4, 30, 60)
	s.earlierIncident("search", time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC), 1, 1, 2, 3)
	s.earlierIncident("checkout", time.Date(2026, 2, 20, 16, 0, 0, 0, time.UTC), 2, 10, -1, 60)

	s.set(at(13, 56, 0))
	if _, err := s.tr.Record(ctx, deploys.Input{Service: "checkout", Environment: "prod", Version: "1.4.2",
		PreviousVersion: "1.4.1", Commit: "abc123def4567890", Author: "dana", URL: "https://ci.example.com/runs/42",
		StartedAt: ptr(at(13, 53, 0)), FinishedAt: ptr(at(13, 55, 0))}); err != nil {
		s.t.Fatal(err)
	}
	errA := firing("HighErrorRate", "checkout-a", "critical", at(14, 0, 0))
	errB := firing("HighErrorRate", "checkout-b", "critical", at(14, 1, 0))
	slow := firing("LatencyHigh", "checkout-a", "warning", at(14, 0, 30))
	s.set(at(14, 2, 0))
	res := s.ingest("{}:{service=\"checkout\"}", errA, errB, slow)
	if len(res.Incidents) != 1 {
		s.t.Fatalf("ingest opened %v, want one incident", res.Incidents)
	}
	id := res.Incidents[0]
	s.do(at(14, 5, 0), id, incidents.Acknowledge, "bob", "")
	s.note(at(14, 7, 0), id, "bob", "Error rate is **12%** on `/pay` since the deploy.\nRolling back.", false)
	s.set(at(14, 8, 0))
	if _, err := s.rb.RequestWithNote(ctx, id, 0, "bob", "errors started right after 1.4.2"); err != nil {
		s.t.Fatal(err)
	}
	s.waitRollbacks(id)
	s.set(at(14, 20, 0))
	s.ingest("{}:{service=\"checkout\"}", resolved(errA, at(14, 18, 0)), resolved(errB, at(14, 17, 0)), resolved(slow, at(14, 16, 0)))
	s.note(at(14, 30, 0), id, "alice", "Checkout is working again.", true)
	s.do(at(14, 40, 0), id, incidents.Resolve, "bob", "error rate back to normal for 20 min")

	s.earlierIncident("checkout", time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC), 1, 1, 1, 1) // after it: left out
	inc, err := s.m.Get(ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return inc
}
