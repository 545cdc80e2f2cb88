package deploys_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// A rollback command runs at most once (PRODUCT.md): these stories run a real command that
// appends a line to a file each time it runs, and break the database where a real outage
// would, with a trigger that refuses to record some rollback statuses.

// countingHook is a command hook whose script appends "ran" to a file per run; runs counts
// them.
func countingHook(t *testing.T) (hook deploys.Hook, runs func() int) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "runs")
	path := script(t, dir, "rollback.sh", `echo ran >> "`+log+`"
echo "deployment.apps/checkout rolled back"
`)
	return commandHook(path), func() int {
		raw, err := os.ReadFile(log)
		if os.IsNotExist(err) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(raw), "ran\n")
	}
}

// refuseStatuses makes the database refuse to set a rollback to any of statuses, as a
// database that fails just then would; the returned function lifts it.
func refuseStatuses(t *testing.T, db *store.DB, statuses ...string) (lift func()) {
	t.Helper()
	list := "'" + strings.Join(statuses, "', '") + "'"
	var stmts []string
	if db.Dialect == store.Postgres {
		stmts = []string{
			`CREATE FUNCTION refuse_rollback_status() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.status IN (` + list + `) THEN RAISE EXCEPTION 'disk full (test)'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER refuse_rollback_status BEFORE UPDATE ON rollbacks FOR EACH ROW EXECUTE FUNCTION refuse_rollback_status()`,
		}
	} else {
		stmts = []string{`CREATE TRIGGER refuse_rollback_status BEFORE UPDATE OF status ON rollbacks WHEN NEW.status IN (` + list + `)
			BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`}
	}
	for _, s := range stmts {
		if _, err := db.W.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return func() {
		drop := []string{`DROP TRIGGER refuse_rollback_status`}
		if db.Dialect == store.Postgres {
			drop = []string{`DROP TRIGGER refuse_rollback_status ON rollbacks`, `DROP FUNCTION refuse_rollback_status()`}
		}
		for _, s := range drop {
			if _, err := db.W.ExecContext(context.Background(), s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
}

// openByAlerts opens the checkout incident the way Alertmanager does, so no person has
// touched it and only a hold can keep it from resolving by itself.
func (e *env) openByAlerts() (incidents.Incident, func()) {
	e.t.Helper()
	alert := firing("CheckoutErrors", at(10, 0))
	res := e.ingest("{}:{alertname=\"CheckoutErrors\"}", alert)
	if len(res.Incidents) != 1 {
		e.t.Fatalf("ingest opened %v", res.Incidents)
	}
	return e.incident(res.Incidents[0]), func() { e.ingest("{}:{alertname=\"CheckoutErrors\"}", resolved(alert, at(10, 20))) }
}

// checkUnknownAndHeld checks what people must see of a command whose outcome is unknown: the
// status, one timeline line saying so, and an incident that waits for them even once every
// alert has cleared.
func (e *env) checkUnknownAndHeld(inc incidents.Incident, clear func()) {
	e.t.Helper()
	rb := e.onlyRollback(inc.ID)
	if rb.Status != deploys.StatusUnknown || rb.FinishedAt == nil || !strings.Contains(rb.LastError, "outcome unknown") {
		e.t.Fatalf("rollback %+v, want unknown", rb)
	}
	lines := e.events(inc.ID, deploys.KindRollbackUnknown)
	if len(lines) != 1 || !strings.Contains(lines[0].Text, "outcome unknown") || !strings.Contains(lines[0].Text, "check whether") ||
		!strings.Contains(lines[0].Text, "will not be run again") {
		e.t.Fatalf("rollback_unknown lines %+v", lines)
	}
	if n := len(e.events(inc.ID, deploys.KindRollbackSucceeded)); n != 0 {
		e.t.Fatalf("%d rollback_succeeded lines for an unknown outcome", n)
	}
	if got := e.incident(inc.ID); got.HeldFor == "" {
		e.t.Fatalf("incident not held for people: %+v", got)
	}
	clear()
	got := e.incident(inc.ID)
	if got.Status == incidents.Resolved || got.MitigatedAt == nil {
		e.t.Fatalf("after every alert cleared: %s, mitigated %v; want mitigated but waiting for people", got.Status, got.MitigatedAt)
	}
	if cleared := e.events(inc.ID, incidents.KindAlertsCleared); len(cleared) != 1 || !strings.Contains(cleared[0].Text, "unknown") {
		e.t.Fatalf("alerts_cleared lines %+v, want one naming the unknown rollback", cleared)
	}
}

// The command exits 0 but recording the success fails: it is not run again; its outcome is
// unknown and the incident waits for people.
func TestCommandWhoseSuccessCannotBeRecordedNeverRunsAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		hook, runs := countingHook(t)
		lift := refuseStatuses(t, db, deploys.StatusSucceeded)
		defer lift()
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": hook}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc, clear := e.openByAlerts()
		e.waitIdle()
		time.Sleep(50 * time.Millisecond) // a few polls: a retry would run it again

		if n := runs(); n != 1 {
			t.Fatalf("the command ran %d times, want exactly once", n)
		}
		if line := e.events(inc.ID, deploys.KindRollbackUnknown)[0]; !strings.Contains(line.Text, "exited 0") ||
			!strings.Contains(line.Text, "disk full") {
			t.Errorf("the unknown line does not say what Firebreak saw: %q", line.Text)
		}
		e.checkUnknownAndHeld(inc, clear)
	})
}

// Nothing can be recorded after the command ran (not the success, not even "unknown"):
// the rollback stays running on record. Firebreak restarts; the new process finds it
// running and marks it unknown, without running it again.
func TestCommandWhoseResultIsLostIsNotRunAgainAfterARestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		hook, runs := countingHook(t)
		hooks := map[string]deploys.Hook{"checkout": hook}
		lift := refuseStatuses(t, db, deploys.StatusSucceeded, deploys.StatusUnknown)
		// The first process retries only after an hour, so it is stopped first.
		e := newEnv(t, db, hooks, outbox.Options{BaseBackoff: time.Hour, MaxBackoff: time.Hour})
		e.record(checkoutDeploy(at(9, 56)))
		inc, clear := e.openByAlerts()
		eventually(t, "the job to wait for its retry", func() bool {
			return e.count(`SELECT COUNT(*) FROM outbox_jobs WHERE attempts = 1 AND locked_until IS NULL AND status = 'pending'`) == 1
		})
		if rb := e.onlyRollback(inc.ID); rb.Status != deploys.StatusRunning || rb.Attempts != 1 {
			t.Fatalf("rollback before the restart: %+v, want running", rb)
		}
		e.stop()
		lift()

		// Restarted two hours later, when the retry is due.
		e.start(hooks, outbox.Options{Clock: func() time.Time { return time.Now().Add(2 * time.Hour) }})
		e.waitIdle()
		time.Sleep(50 * time.Millisecond)
		if n := runs(); n != 1 {
			t.Fatalf("the command ran %d times, want exactly once", n)
		}
		if line := e.events(inc.ID, deploys.KindRollbackUnknown)[0]; !strings.Contains(line.Text, "found running") {
			t.Errorf("the unknown line does not say why: %q", line.Text)
		}
		e.checkUnknownAndHeld(inc, clear)
	})
}

// A process dies while its command runs: the rollback is running on record and its job's
// lease runs out. The process that takes the job over never starts the command.
func TestCommandFoundRunningIsNeverStartedAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		hook, runs := countingHook(t)
		e := newIdleEnv(t, db, map[string]deploys.Hook{"checkout": hook}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc, clear := e.openByAlerts()
		rb := e.onlyRollback(inc.ID)
		// What the dead process left: the rollback running, its job claimed with a lease
		// that has run out.
		for _, s := range []string{`UPDATE rollbacks SET status = 'running', attempts = 1 WHERE id = ?`,
			`UPDATE outbox_jobs SET attempts = 1, locked_until = ? WHERE kind = 'rollback'`} {
			args := []any{rb.ID}
			if strings.Contains(s, "locked_until") {
				args = []any{time.Now().UTC().Add(-time.Minute)}
			}
			if _, err := db.W.ExecContext(ctx, db.W.Rebind(s), args...); err != nil {
				t.Fatal(err)
			}
		}
		e.run()
		e.waitIdle()
		time.Sleep(50 * time.Millisecond)
		if n := runs(); n != 0 {
			t.Fatalf("the command was started %d times after it was found running", n)
		}
		e.checkUnknownAndHeld(inc, clear)
		if job := e.count(`SELECT COUNT(*) FROM outbox_jobs WHERE status = 'dead' AND last_error LIKE '%outcome unknown%'`); job != 1 {
			t.Errorf("the job does not say the outcome is unknown")
		}
	})
}

// SIGTERM while a command runs: the outbox stops taking jobs but lets the command finish
// within its own timeout and records its success; after the restart it is not run again.
func TestShutdownLetsARunningCommandFinish(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		log, release := filepath.Join(dir, "log"), filepath.Join(dir, "release")
		path := script(t, dir, "rollback.sh", fmt.Sprintf(`echo started >> %q
while [ ! -e %q ]; do sleep 0.01; done
echo finished >> %q
`, log, release, log))
		hooks := map[string]deploys.Hook{"checkout": commandHook(path)}
		e := newEnv(t, db, hooks, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		eventually(t, "the command to start", func() bool {
			raw, _ := os.ReadFile(log)
			return string(raw) == "started\n"
		})
		stopped := make(chan struct{})
		go func() { e.stop(); close(stopped) }()
		if err := os.WriteFile(release, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		<-stopped

		if rb := e.onlyRollback(inc.ID); rb.Status != deploys.StatusSucceeded || rb.Attempts != 1 {
			t.Fatalf("rollback after the shutdown: %+v, want succeeded on attempt 1", rb)
		}
		e.start(hooks, outbox.Options{})
		time.Sleep(100 * time.Millisecond)
		e.waitIdle()
		if raw, _ := os.ReadFile(log); string(raw) != "started\nfinished\n" {
			t.Fatalf("the command's log %q, want one whole run", raw)
		}
	})
}
