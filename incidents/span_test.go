package incidents

import (
	"testing"
	"time"
)

// TestOneSpanAcrossReopens: the first acknowledgement and the first remediation count for
// MTTR however often the incident is reopened, and a person's reopen is an acknowledgement.
func TestOneSpanAcrossReopens(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	inc := &Incident{ID: 1, Status: Observing, Severity: Sev2, ImpactStartedAt: t0, OpenedAt: t0}
	step := func(a Action, at time.Time) {
		t.Helper()
		if _, err := apply(inc, a, at, "alice", ""); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	step(Acknowledge, t0.Add(time.Minute))
	step(Remediate, t0.Add(2*time.Minute))
	step(Resolve, t0.Add(3*time.Minute))
	step(ReopenByAlerts, t0.Add(4*time.Minute))
	step(Acknowledge, t0.Add(5*time.Minute))
	step(Remediate, t0.Add(6*time.Minute))
	if !inc.AcknowledgedAt.Equal(t0.Add(time.Minute)) || !inc.RemediationStartedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("acknowledged %v, remediation %v: the first ones must stay", inc.AcknowledgedAt, inc.RemediationStartedAt)
	}

	never := &Incident{ID: 2, Status: Resolved, Severity: Sev3, ImpactStartedAt: t0, OpenedAt: t0, ResolvedAt: timePtr(t0)}
	if _, err := apply(never, Reopen, t0.Add(time.Hour), "bob", ""); err != nil {
		t.Fatal(err)
	}
	if never.Status != Responding || never.AcknowledgedAt == nil || !never.AcknowledgedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("a person's reopen of a never-acknowledged incident: %+v", never)
	}
}
