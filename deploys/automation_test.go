package deploys_test

import (
	"context"
	"strings"
	"testing"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// Alerts open an incident, the auto policy rolls the suspect back and the alerts clear: no
// person took part, so the incident resolves by itself. Automation neither acknowledged it
// nor mitigated it; the alerts clearing did.
func TestIncidentOnlyAutomationTouchedResolvesWhenItsAlertsClear(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, always(200))
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rcv.url())}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc, clear := e.openByAlerts()
		e.waitIdle()

		if rb := e.onlyRollback(inc.ID); rb.Status != deploys.StatusSucceeded || rb.RequestedBy != incidents.ActorAutoRollback {
			t.Fatalf("rollback %+v", rb)
		}
		rolledBack := e.incident(inc.ID)
		if rolledBack.Status != incidents.Remediating || rolledBack.RemediationStartedAt == nil {
			t.Fatalf("after the automatic rollback: %s, remediation started %v; want remediating", rolledBack.Status, rolledBack.RemediationStartedAt)
		}
		if rolledBack.AcknowledgedAt != nil || rolledBack.MitigatedAt != nil {
			t.Fatalf("automation acknowledged (%v) or mitigated (%v) the incident", rolledBack.AcknowledgedAt, rolledBack.MitigatedAt)
		}
		started := e.events(inc.ID, incidents.KindRemediationStarted)
		if len(started) != 1 || started[0].Actor != incidents.ActorAutoRollback {
			t.Fatalf("remediation_started lines %+v", started)
		}

		e.clock.Set(at(10, 21))
		clear()
		done := e.incident(inc.ID)
		if done.Status != incidents.Resolved || done.ResolvedAt == nil || !done.ResolvedAt.Equal(at(10, 21)) {
			t.Fatalf("after the alerts cleared: %s, resolved %v; want resolved by itself at 10:21", done.Status, done.ResolvedAt)
		}
		if done.MitigatedAt == nil || !done.MitigatedAt.Equal(at(10, 20)) || done.AcknowledgedAt != nil {
			t.Fatalf("mitigated %v (want 10:20, when the last alert ended), acknowledged %v (want none)", done.MitigatedAt, done.AcknowledgedAt)
		}
	})
}

// The same story with a person asking for the rollback: a person's remediation acknowledges
// the incident, and it then waits for people when its alerts clear.
func TestIncidentAPersonRolledBackWaitsForPeople(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, always(200))
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyConfirm, incidents.Sev4, rcv.url())}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc, clear := e.openByAlerts()
		if _, err := e.rb.RequestWithNote(context.Background(), inc.ID, 0, "alice", "errors since 1.4.2"); err != nil {
			t.Fatal(err)
		}
		e.waitIdle()
		got := e.incident(inc.ID)
		if got.Status != incidents.Remediating || got.AcknowledgedAt == nil || got.MitigatedAt != nil {
			t.Fatalf("after alice's rollback: %s, acknowledged %v, mitigated %v", got.Status, got.AcknowledgedAt, got.MitigatedAt)
		}
		if ok := e.events(inc.ID, deploys.KindRollbackSucceeded); len(ok) != 1 || strings.Contains(ok[0].Text, "mitigated") {
			t.Fatalf("rollback_succeeded lines %+v", ok)
		}
		clear()
		if got := e.incident(inc.ID); got.Status != incidents.Remediating || got.MitigatedAt == nil {
			t.Fatalf("after the alerts cleared: %s, mitigated %v; want mitigated, still remediating", got.Status, got.MitigatedAt)
		}
	})
}
