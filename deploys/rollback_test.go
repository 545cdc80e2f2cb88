package deploys_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
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

func TestAutoRollbackCallsTheHookOnceWithoutAnyoneAsking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, always(200))
		release := make(chan struct{})
		rcv.holdUntilClosed(release)
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rcv.url())}, outbox.Options{})
		d := e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))

		// While the deployer works, the incident is remediating and not yet mitigated.
		eventually(t, "the hook to be called", func() bool { return len(rcv.got()) == 1 })
		during := e.incident(inc.ID)
		// Automation is not a person: remediating, but not acknowledged.
		if during.Status != incidents.Remediating || during.RemediationStartedAt == nil || during.AcknowledgedAt != nil || during.MitigatedAt != nil {
			t.Fatalf("while rolling back: %+v", during)
		}
		if rb := e.onlyRollback(inc.ID); rb.Status != "pending" || rb.RequestedBy != "firebreak (auto rollback)" || rb.DeployID != d.ID {
			t.Fatalf("rollback while in flight: %+v", rb)
		}
		e.clock.Set(at(10, 7))
		close(release)
		e.waitIdle()

		calls := rcv.got()
		if len(calls) != 1 {
			t.Fatalf("hook called %d times, want once", len(calls))
		}
		c := calls[0]
		if want := fmt.Sprintf("rollback-%d-%d", inc.ID, d.ID); c.Key != want {
			t.Errorf("Idempotency-Key %q, want %q", c.Key, want)
		}
		b := c.Body
		if b.Action != "rollback" || b.Incident.ID != inc.ID || b.Incident.Title != "Checkout is failing" || b.Incident.Severity != "sev1" ||
			b.Incident.URL != "http://firebreak.test/incidents/"+strconv.FormatInt(inc.ID, 10) || b.Service != "checkout" ||
			b.Environment != "prod" || b.RollbackFrom != "1.4.2" || b.RollbackTo == nil || *b.RollbackTo != "1.4.1" {
			t.Errorf("hook body %+v (rollback_to %v)", b, b.RollbackTo)
		}
		stored, err := e.tr.Get(context.Background(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The hook got the deploy as it was before it acted; its success rolled it back.
		if stored.State != deploys.StateRolledBack {
			t.Errorf("deploy state after the rollback %q, want rolled_back", stored.State)
		}
		want := asJSONMap(t, stored)
		want["state"] = deploys.StatePromoted
		if !equalJSON(c.Deploy, want) {
			t.Errorf("hook got deploy %v, want the deploy object %v", c.Deploy, want)
		}

		after := e.incident(inc.ID)
		// A remedy's success is a timeline line, not mitigation: the alerts clearing show that.
		if after.Status != incidents.Remediating || after.MitigatedAt != nil || after.AcknowledgedAt != nil {
			t.Fatalf("after the rollback: status %s, mitigated_at %v, acknowledged_at %v", after.Status, after.MitigatedAt, after.AcknowledgedAt)
		}
		rb := e.onlyRollback(inc.ID)
		if rb.Status != "succeeded" || rb.Attempts != 1 || rb.FinishedAt == nil || rb.LastError != "" {
			t.Fatalf("rollback %+v", rb)
		}
		var kinds []string
		for _, ev := range e.timeline(inc.ID) {
			kinds = append(kinds, string(ev.Kind))
		}
		if got, want := strings.Join(kinds, " "), "declared deploy_suspected remediation_started rollback_requested rollback_succeeded"; got != want {
			t.Fatalf("timeline %s, want %s", got, want)
		}
		req := e.events(inc.ID, deploys.KindRollbackRequested)[0]
		if !strings.Contains(req.Text, "checkout 1.4.2 (prod) to 1.4.1") || req.Actor != "firebreak (auto rollback)" {
			t.Errorf("rollback_requested %+v", req)
		}
		ok := e.events(inc.ID, deploys.KindRollbackSucceeded)[0]
		if !strings.Contains(ok.Text, "HTTP 200") || strings.Contains(ok.Text, "mitigated") {
			t.Errorf("rollback_succeeded %+v", ok)
		}

		// Nothing else arrives later, and asking again changes nothing.
		if _, err := e.rb.Request(context.Background(), inc.ID, 0, "alice"); !errors.Is(err, deploys.ErrAlreadyRequested) {
			t.Fatalf("second request: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(rcv.got()); n != 1 {
			t.Fatalf("hook called %d times, want once", n)
		}
	})
}

func TestAutoRollbackWaitsForTheMinimumSeverity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rcv := newReceiver(t, always(200))
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rcv.url())}, outbox.Options{})
		d := e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is a bit slow", incidents.Sev3, "checkout", "prod", at(10, 0))
		if len(e.suspects(inc.ID)) != 1 {
			t.Fatal("no suspect")
		}
		time.Sleep(100 * time.Millisecond)
		e.waitIdle()
		if n := len(rcv.got()); n != 0 {
			t.Fatalf("a sev3 incident was rolled back (%d calls) under min_severity sev2", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM rollbacks`) + e.count(`SELECT COUNT(*) FROM outbox_jobs`); n != 0 {
			t.Fatalf("%d rollback rows or jobs for a sev3 incident", n)
		}
		if got := e.incident(inc.ID); got.Status != incidents.Observing {
			t.Fatalf("status %s, want observing", got.Status)
		}

		// Alerts make it worse: sev1 crosses the threshold and the rollback fires.
		err := db.InTx(ctx, func(q store.Querier) error {
			_, err := e.m.RaiseSeverityTx(ctx, q, inc.ID, incidents.Sev1, time.Time{}, "checkout 5xx above 20%")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.waitIdle()
		calls := rcv.got()
		if len(calls) != 1 || calls[0].Body.Incident.Severity != "sev1" || calls[0].Key != fmt.Sprintf("rollback-%d-%d", inc.ID, d.ID) {
			t.Fatalf("after raising to sev1: %+v", calls)
		}
	})
}

func TestConfirmPolicyWaitsForAPersonToAsk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rcv := newReceiver(t, always(202))
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyConfirm, incidents.Sev4, rcv.url())}, outbox.Options{})
		d := e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		time.Sleep(100 * time.Millisecond)
		e.waitIdle()
		if n := len(rcv.got()); n != 0 {
			t.Fatalf("confirm policy called the hook %d times before anyone asked", n)
		}
		if got := e.incident(inc.ID); got.Status != incidents.Observing || len(e.rollbacks(inc.ID)) != 0 {
			t.Fatalf("before asking: %+v", got)
		}

		rb, err := e.rb.Request(ctx, inc.ID, 0, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if rb.ID == 0 || rb.Status != "pending" || rb.RequestedBy != "alice" || rb.DeployID != d.ID || rb.IncidentID != inc.ID ||
			!rb.RequestedAt.Equal(e.clock.Now()) {
			t.Fatalf("requested rollback %+v", rb)
		}
		e.waitIdle()
		if calls := rcv.got(); len(calls) != 1 || calls[0].Body.Deploy == nil {
			t.Fatalf("hook called %d times, want once", len(calls))
		}
		got := e.incident(inc.ID)
		// A person asked: that is remediation by a person, which acknowledges; the success does
		// not mitigate.
		if got.Status != incidents.Remediating || got.MitigatedAt != nil || got.AcknowledgedAt == nil {
			t.Fatalf("after the rollback: %+v", got)
		}
		reqs := e.events(inc.ID, deploys.KindRollbackRequested)
		if len(reqs) != 1 || reqs[0].Actor != "alice" || !strings.Contains(reqs[0].Text, "requested by alice") {
			t.Fatalf("rollback_requested %+v", reqs)
		}
		if ok := e.events(inc.ID, deploys.KindRollbackSucceeded); len(ok) != 1 || !strings.Contains(ok[0].Text, "HTTP 202") {
			t.Fatalf("rollback_succeeded %+v", ok)
		}
	})
}

func TestRollbackRequestsThatCannotBeHonoured(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rcv := newReceiver(t, always(200))
		e := newEnv(t, db, map[string]deploys.Hook{
			"checkout": webhookHook(deploys.PolicyConfirm, incidents.Sev4, rcv.url()),
			"search":   webhookHook(deploys.PolicyOff, incidents.Sev4, rcv.url()),
		}, outbox.Options{})
		e.record(deploys.Input{Service: "search", Environment: "prod", Version: "7", FinishedAt: ptr(at(9, 56))})
		e.record(deploys.Input{Service: "payments", Environment: "prod", Version: "3", FinishedAt: ptr(at(9, 56))})
		checkoutDep := e.record(checkoutDeploy(at(9, 56)))
		search := e.declare("Search is down", incidents.Sev1, "search", "prod", at(10, 0))
		payments := e.declare("Payments are down", incidents.Sev1, "payments", "prod", at(10, 0))
		quiet := e.declare("Checkout staging is down", incidents.Sev1, "checkout", "staging", at(10, 0))
		done := e.declare("Checkout was down", incidents.Sev1, "checkout", "prod", at(10, 0))
		if _, err := e.m.Transition(ctx, done.ID, incidents.Resolve, "alice", ""); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{search.ID, payments.ID, done.ID} {
			if len(e.suspects(id)) != 1 {
				t.Fatalf("incident %d has no suspect", id)
			}
		}
		timelines := map[int64]int{}
		for _, id := range []int64{search.ID, payments.ID, quiet.ID, done.ID} {
			timelines[id] = len(e.timeline(id))
		}
		cases := []struct {
			name     string
			incident int64
			deploy   int64
			want     error
		}{
			{"policy off", search.ID, 0, deploys.ErrPolicyOff},
			{"service without a hook", payments.ID, 0, deploys.ErrNoHook},
			{"no suspect and no deploy named", quiet.ID, 0, deploys.ErrNoSuspect},
			{"resolved incident", done.ID, 0, deploys.ErrIncidentResolved},
			{"resolved incident, deploy named", done.ID, checkoutDep.ID, deploys.ErrIncidentResolved},
			{"unknown incident", 987654, 0, incidents.ErrNotFound},
			{"unknown deploy", quiet.ID, 987654, deploys.ErrNotFound},
			{"another environment's deploy", quiet.ID, checkoutDep.ID, deploys.ErrWrongDeploy},
		}
		for _, c := range cases {
			rb, err := e.rb.Request(ctx, c.incident, c.deploy, "alice")
			if !errors.Is(err, c.want) {
				t.Errorf("%s: got %v (%+v), want %v", c.name, err, rb, c.want)
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM rollbacks`) + e.count(`SELECT COUNT(*) FROM outbox_jobs`); n != 0 {
			t.Fatalf("refused requests left %d rollback rows or jobs", n)
		}
		for id, n := range timelines {
			if got := len(e.timeline(id)); got != n {
				t.Errorf("incident %d timeline grew from %d to %d lines on a refused request", id, n, got)
			}
		}
		if got := e.incident(quiet.ID); got.Status != incidents.Observing {
			t.Errorf("refused request moved the incident to %s", got.Status)
		}

		// Naming the deploy works where there is no suspect: a staging deploy made during the
		// incident.
		stagingDep := e.record(deploys.Input{Service: "checkout", Environment: "staging", Version: "1.4.3", FinishedAt: ptr(at(10, 3))})
		rb, err := e.rb.Request(ctx, quiet.ID, stagingDep.ID, "alice")
		if err != nil || rb.DeployID != stagingDep.ID {
			t.Fatalf("request naming deploy %d: %+v %v", stagingDep.ID, rb, err)
		}
		e.waitIdle()
		if calls := rcv.got(); len(calls) != 1 || calls[0].Key != fmt.Sprintf("rollback-%d-%d", quiet.ID, stagingDep.ID) {
			t.Fatalf("calls %+v", calls)
		}
	})
}

func TestConcurrentRequestsRollBackOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, always(200))
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyConfirm, incidents.Sev4, rcv.url())}, outbox.Options{})
		d := e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))

		const n = 20
		start := make(chan struct{})
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				// Half name the deploy, half take the top suspect: the same rollback.
				var id int64
				if i%2 == 0 {
					id = d.ID
				}
				_, err := e.rb.Request(context.Background(), inc.ID, id, fmt.Sprintf("responder-%d", i))
				errs <- err
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		var ok, already int
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, deploys.ErrAlreadyRequested):
				already++
				if !strings.Contains(err.Error(), "status") || !strings.Contains(err.Error(), "responder-") {
					t.Errorf("refusal does not say who asked and how it went: %v", err)
				}
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || already != n-1 {
			t.Fatalf("%d succeeded and %d were told it was already requested, want 1 and %d", ok, already, n-1)
		}
		e.waitIdle()
		time.Sleep(50 * time.Millisecond)
		if calls := rcv.got(); len(calls) != 1 {
			t.Fatalf("receiver saw %d calls, want 1", len(calls))
		}
		if got := len(e.events(inc.ID, deploys.KindRollbackRequested)); got != 1 {
			t.Fatalf("%d rollback_requested lines, want 1", got)
		}
		if got := len(e.events(inc.ID, incidents.KindRemediationStarted)); got != 1 {
			t.Fatalf("%d remediation_started lines, want 1", got)
		}
		if rb := e.onlyRollback(inc.ID); rb.Status != "succeeded" {
			t.Fatalf("rollback %+v", rb)
		}
	})
}

func TestRollbackRetriesUntilTheHookAnswers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, func(n int) int {
			if n <= 3 {
				return 500
			}
			return 200
		})
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rcv.url())}, outbox.Options{})
		d := e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()

		calls := rcv.got()
		if len(calls) != 4 {
			t.Fatalf("receiver saw %d calls, want 4", len(calls))
		}
		key := fmt.Sprintf("rollback-%d-%d", inc.ID, d.ID)
		for i, c := range calls {
			if c.Key != key {
				t.Errorf("call %d has Idempotency-Key %q, want %q", i+1, c.Key, key)
			}
		}
		var lines []string
		for _, ev := range e.timeline(inc.ID) {
			if ev.Kind == deploys.KindRollbackFailed || ev.Kind == deploys.KindRollbackSucceeded {
				lines = append(lines, string(ev.Kind)+": "+ev.Text)
			}
		}
		if len(lines) != 4 {
			t.Fatalf("rollback outcome lines:\n%s", strings.Join(lines, "\n"))
		}
		for i := range 3 {
			want := fmt.Sprintf("rollback_failed: Rollback attempt %d of 5 failed", i+1)
			if !strings.HasPrefix(lines[i], want) || !strings.Contains(lines[i], "HTTP 500") || !strings.Contains(lines[i], "Retrying") {
				t.Errorf("line %d: %q, want it to start %q and name HTTP 500", i+1, lines[i], want)
			}
		}
		if !strings.HasPrefix(lines[3], "rollback_succeeded:") || !strings.Contains(lines[3], "attempt 4") {
			t.Errorf("last line %q", lines[3])
		}
		rb := e.onlyRollback(inc.ID)
		if rb.Status != "succeeded" || rb.Attempts != 4 || rb.LastError != "" {
			t.Fatalf("rollback %+v, want succeeded after 4 attempts", rb)
		}
		if got := e.incident(inc.ID); got.MitigatedAt != nil {
			t.Fatal("a successful rollback marked the incident mitigated")
		}
	})
}

func TestRollbackGivesUpAfterMaxAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, always(500))
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rcv.url())},
			outbox.Options{MaxAttempts: 3})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()

		if n := len(rcv.got()); n != 3 {
			t.Fatalf("receiver saw %d calls, want 3", n)
		}
		rb := e.onlyRollback(inc.ID)
		if rb.Status != "failed" || rb.Attempts != 3 || rb.FinishedAt == nil || !strings.Contains(rb.LastError, "HTTP 500") {
			t.Fatalf("rollback %+v", rb)
		}
		tl := e.timeline(inc.ID)
		last := tl[len(tl)-1]
		if last.Kind != deploys.KindRollbackFailed || !strings.Contains(last.Text, "will not be retried") || !strings.Contains(last.Text, "attempt 3") {
			t.Fatalf("last timeline line %+v", last)
		}
		if n := len(e.events(inc.ID, deploys.KindRollbackFailed)); n != 3 {
			t.Fatalf("%d rollback_failed lines, want 3", n)
		}
		got := e.incident(inc.ID)
		if got.Status != incidents.Remediating || got.MitigatedAt != nil {
			t.Fatalf("after giving up: status %s, mitigated_at %v; want remediating, not mitigated", got.Status, got.MitigatedAt)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(rcv.got()); n != 3 {
			t.Fatalf("receiver saw %d calls after giving up, want 3", n)
		}
	})
}

func TestRefusedRollbackIsNotRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, always(422))
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rcv.url())}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()
		if n := len(rcv.got()); n != 1 {
			t.Fatalf("a 422 was retried: %d calls", n)
		}
		rb := e.onlyRollback(inc.ID)
		if rb.Status != "failed" || rb.Attempts != 1 || !strings.Contains(rb.LastError, "HTTP 422") || !strings.Contains(rb.LastError, `"answer":422`) {
			t.Fatalf("rollback %+v", rb)
		}
	})
}

func TestUnreachableOrSlowHooksFailTheirAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// A port nobody listens on: bind one, then free it.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		refused := "http://" + ln.Addr().String() + "/rollback"
		ln.Close()
		slow := newReceiver(t, always(200))
		slow.sleep(5 * time.Second)
		slowHook := webhookHook(deploys.PolicyAuto, incidents.Sev2, slow.url())
		slowHook.Timeout = 100 * time.Millisecond
		e := newEnv(t, db, map[string]deploys.Hook{
			"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, refused),
			"search":   slowHook,
		}, outbox.Options{MaxAttempts: 2})
		began := time.Now()
		e.record(checkoutDeploy(at(9, 56)))
		e.record(deploys.Input{Service: "search", Environment: "prod", Version: "7", PreviousVersion: "6", FinishedAt: ptr(at(9, 56))})
		checkout := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		search := e.declare("Search is failing", incidents.Sev1, "search", "prod", at(10, 0))
		e.waitIdle()
		if took := time.Since(began); took > 4*time.Second {
			t.Fatalf("took %v: the 100ms hook timeout was not applied", took)
		}

		for _, c := range []struct {
			inc  incidents.Incident
			errs []string
		}{
			{checkout, []string{"connection refused"}},
			{search, []string{"deadline exceeded", "Timeout exceeded"}},
		} {
			rb := e.onlyRollback(c.inc.ID)
			mentions := false
			for _, s := range c.errs {
				mentions = mentions || strings.Contains(rb.LastError, s)
			}
			if rb.Status != "failed" || rb.Attempts != 2 || !mentions {
				t.Errorf("%s: rollback %+v, want failed after 2 attempts with one of %q", c.inc.Title, rb, c.errs)
			}
			// One line per failed attempt, in the order their reports came: on a busy machine
			// the second attempt may be reported before the first.
			fails := e.events(c.inc.ID, deploys.KindRollbackFailed)
			first, last := 0, 0
			for _, f := range fails {
				if strings.Contains(f.Text, "attempt 1 of 2") {
					first++
				}
				if strings.Contains(f.Text, "will not be retried") {
					last++
				}
			}
			if len(fails) != 2 || first != 1 || last != 1 {
				t.Errorf("%s: rollback_failed lines %+v", c.inc.Title, fails)
			}
			if got := e.incident(c.inc.ID); got.MitigatedAt != nil || got.Status != incidents.Remediating {
				t.Errorf("%s: %s, mitigated %v", c.inc.Title, got.Status, got.MitigatedAt)
			}
		}
		if n := len(slow.got()); n != 2 {
			t.Fatalf("slow receiver saw %d calls, want 2", n)
		}
	})
}

// A report of a failed attempt that arrives after a later attempt succeeded (two workers,
// one of them slow to record) must not put the rollback back to pending.
func TestLateFailureReportDoesNotUndoASuccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rcv := newReceiver(t, always(200))
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rcv.url())}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()
		rb := e.onlyRollback(inc.ID)
		if rb.Status != "succeeded" {
			t.Fatalf("rollback %+v", rb)
		}
		job := outbox.Job{Kind: deploys.JobKind, Payload: []byte(fmt.Sprintf(`{"rollback_id":%d}`, rb.ID)), Attempts: 1}
		e.rb.Failed(ctx, job, outbox.Outcome{Attempt: 1, MaxAttempts: 5, Err: errors.New("post: HTTP 502"), NextAt: time.Now()})
		e.rb.Failed(ctx, job, outbox.Outcome{Attempt: 1, MaxAttempts: 1, Err: errors.New("post: HTTP 502"), GaveUp: true})
		after := e.onlyRollback(inc.ID)
		if after.Status != "succeeded" || after.Attempts != rb.Attempts || after.LastError != "" || after.FinishedAt == nil {
			t.Fatalf("a late failure report changed a succeeded rollback: %+v", after)
		}
	})
}

func TestRollbackOfAnotherServicesDeployIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rec := newReceiver(t, always(200))
		e := newEnv(t, db, map[string]deploys.Hook{
			"checkout": webhookHook(deploys.PolicyConfirm, incidents.Sev2, rec.url()),
			"payments": webhookHook(deploys.PolicyConfirm, incidents.Sev2, rec.url()),
		}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		payments := e.record(deploys.Input{Service: "payments", Environment: "prod", Version: "9", FinishedAt: ptr(at(9, 57))})
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		_, err := e.rb.Request(context.Background(), inc.ID, payments.ID, "alice")
		if !errors.Is(err, deploys.ErrWrongDeploy) {
			t.Fatalf("rollback of payments' deploy for a checkout incident: %v, want ErrWrongDeploy", err)
		}
		e.waitIdle()
		if n := len(rec.got()); n != 0 {
			t.Fatalf("the receiver got %d calls", n)
		}
	})
}

// A failed attempt reported after a later attempt settled the rollback keeps its timeline
// line, which neither promises a retry nor undoes the later attempt's outcome.
func TestAFailedAttemptReportedLateKeepsItsLine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		refused := newReceiver(t, always(500))
		e := newIdleEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, refused.url())},
			outbox.Options{MaxAttempts: 2})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		rb := e.onlyRollback(inc.ID)
		job := outbox.Job{Payload: []byte(fmt.Sprintf(`{"rollback_id": %d}`, rb.ID))}
		boom := errors.New("HTTP 500")
		// Attempt 2 is reported first and gives up; attempt 1's report comes after it.
		e.rb.Failed(context.Background(), job, outbox.Outcome{Attempt: 2, MaxAttempts: 2, Err: boom, GaveUp: true})
		e.rb.Failed(context.Background(), job, outbox.Outcome{Attempt: 1, MaxAttempts: 2, Err: boom, NextAt: at(10, 6)})

		got := e.onlyRollback(inc.ID)
		if got.Status != "failed" || got.Attempts != 2 {
			t.Fatalf("rollback %s after %d attempts, want failed after 2: the late report undid the give-up", got.Status, got.Attempts)
		}
		fails := e.events(inc.ID, deploys.KindRollbackFailed)
		if len(fails) != 2 || !strings.Contains(fails[0].Text, "will not be retried") ||
			!strings.Contains(fails[1].Text, "attempt 1 of 2 failed") || strings.Contains(fails[1].Text, "Retrying") {
			t.Fatalf("rollback_failed lines %+v, want the give-up, then attempt 1's late line without a retry", fails)
		}
	})
}
