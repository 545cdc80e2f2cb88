package deploys_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// checkCancelled checks a rollback that was cancelled before a call, for the reason given.
func (e *env) checkCancelled(incidentID int64, reason string) {
	e.t.Helper()
	rb := e.onlyRollback(incidentID)
	if rb.Status != deploys.StatusCancelled || rb.FinishedAt == nil || !strings.Contains(rb.LastError, reason) {
		e.t.Fatalf("rollback %+v, want cancelled because %s", rb, reason)
	}
	lines := e.events(incidentID, deploys.KindRollbackCancelled)
	if len(lines) != 1 || !strings.Contains(lines[0].Text, "cancelled before the call") || !strings.Contains(lines[0].Text, reason) {
		e.t.Fatalf("rollback_cancelled lines %+v, want one saying %q", lines, reason)
	}
}

// The first call fails; while the rollback waits for its retry, a person resolves the
// incident. The retry does not call: the rollback is cancelled on the timeline.
func TestWaitingRollbackIsCancelledWhenTheIncidentIsResolved(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, always(503))
		release := make(chan struct{})
		rcv.holdUntilClosed(release)
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rcv.url())}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		eventually(t, "the first call", func() bool { return len(rcv.got()) == 1 })
		if _, err := e.m.Transition(context.Background(), inc.ID, incidents.Resolve, "alice", "it was the CDN"); err != nil {
			t.Fatal(err)
		}
		close(release)
		e.waitIdle()
		time.Sleep(50 * time.Millisecond)

		if n := len(rcv.got()); n != 1 {
			t.Fatalf("the hook was called %d times, want only the call before the incident was resolved", n)
		}
		e.checkCancelled(inc.ID, "the incident is resolved")
		if got := e.incident(inc.ID); got.Status != incidents.Resolved {
			t.Fatalf("incident %s", got.Status)
		}
	})
}

// A command waiting in the queue is not started once its incident is resolved.
func TestQueuedCommandIsNotStartedForAResolvedIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		hook, runs := countingHook(t)
		e := newIdleEnv(t, db, map[string]deploys.Hook{"checkout": hook}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		if _, err := e.m.Transition(context.Background(), inc.ID, incidents.Resolve, "alice", ""); err != nil {
			t.Fatal(err)
		}
		e.run()
		e.waitIdle()
		if n := runs(); n != 0 {
			t.Fatalf("the command ran %d times for a resolved incident", n)
		}
		e.checkCancelled(inc.ID, "the incident is resolved")
	})
}

// The deployer is down; Firebreak restarts with a changed config before the retry: the
// policy is now off, or the hook is gone, or an automatic rollback's policy is now confirm.
// No call is made and the rollback is cancelled, saying why.
func TestWaitingRollbackIsCancelledWhenThePolicyNoLongerAllowsIt(t *testing.T) {
	for name, c := range map[string]struct {
		hooks  func(url string) map[string]deploys.Hook
		reason string
	}{
		"policy off": {func(url string) map[string]deploys.Hook {
			return map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyOff, incidents.Sev2, url)}
		}, "rollback is now off for checkout"},
		"hook removed": {func(string) map[string]deploys.Hook { return map[string]deploys.Hook{} },
			"no rollback hook is configured for checkout any more"},
		"auto became confirm": {func(url string) map[string]deploys.Hook {
			return map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyConfirm, incidents.Sev2, url)}
		}, "the policy of checkout is now confirm"},
	} {
		t.Run(name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				var up atomic.Bool
				rcv := newReceiver(t, func(int) int {
					if up.Load() {
						return 200
					}
					return 503
				})
				e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rcv.url())},
					outbox.Options{BaseBackoff: time.Hour, MaxBackoff: time.Hour})
				e.record(checkoutDeploy(at(9, 56)))
				inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
				eventually(t, "the first attempt to fail", func() bool {
					return e.count(`SELECT COUNT(*) FROM rollbacks WHERE attempts = 1`) == 1
				})
				e.stop()
				up.Store(true)

				e.start(c.hooks(rcv.url()), outbox.Options{Clock: func() time.Time { return time.Now().Add(2 * time.Hour) }})
				e.waitIdle()
				time.Sleep(50 * time.Millisecond)
				if n := len(rcv.got()); n != 1 {
					t.Fatalf("the hook was called %d times, want only the first call", n)
				}
				e.checkCancelled(inc.ID, c.reason)
			})
		})
	}
}
