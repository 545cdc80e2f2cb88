package deploys_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// Firebreak restarts between two attempts of a rollback: the new process finishes it, once.
func TestRollbackSurvivesARestartBetweenRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var deployerUp atomic.Bool
		rcv := newReceiver(t, func(int) int {
			if deployerUp.Load() {
				return 200
			}
			return 503
		})
		hooks := map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rcv.url())}
		// The first process waits a while before retrying, so it is stopped in between.
		e := newEnv(t, db, hooks, outbox.Options{BaseBackoff: 400 * time.Millisecond})
		d := e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		eventually(t, "the first attempt to fail", func() bool {
			return e.count(`SELECT COUNT(*) FROM rollbacks WHERE attempts >= 1`) == 1
		})
		e.stop()
		before := len(rcv.got())
		if before == 0 {
			t.Fatal("no attempt reached the receiver")
		}
		if rb := e.onlyRollback(inc.ID); rb.Status != "pending" {
			t.Fatalf("rollback before the restart: %+v", rb)
		}

		deployerUp.Store(true)
		e.start(hooks, outbox.Options{})
		e.waitIdle()
		time.Sleep(100 * time.Millisecond)

		calls := rcv.got()
		var ok int
		for _, c := range calls {
			if c.Key != fmt.Sprintf("rollback-%d-%d", inc.ID, d.ID) {
				t.Errorf("call with Idempotency-Key %q", c.Key)
			}
			if c.Status == 200 {
				ok++
			}
		}
		if ok != 1 || len(calls) != before+1 {
			t.Fatalf("receiver saw %d calls (%d before the restart), %d succeeded; want exactly one more, succeeding", len(calls), before, ok)
		}
		rb := e.onlyRollback(inc.ID)
		if rb.Status != "succeeded" || rb.Attempts != len(calls) {
			t.Fatalf("rollback %+v, want succeeded on attempt %d", rb, len(calls))
		}
		if n := len(e.events(inc.ID, deploys.KindRollbackSucceeded)); n != 1 {
			t.Fatalf("%d rollback_succeeded lines, want 1", n)
		}
		if n := len(e.events(inc.ID, deploys.KindRollbackRequested)); n != 1 {
			t.Fatalf("%d rollback_requested lines, want 1", n)
		}
		if got := e.incident(inc.ID); got.MitigatedAt != nil {
			t.Fatal("not mitigated after the rollback succeeded")
		}
	})
}
