package deploys_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// script writes an executable /bin/sh script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func commandHook(argv ...string) deploys.Hook {
	return deploys.Hook{Policy: deploys.PolicyAuto, MinSeverity: incidents.Sev2, Command: argv, Timeout: 10 * time.Second}
}

// lastOutcome is the last rollback_succeeded or rollback_failed line of an incident.
func (e *env) lastOutcome(id int64) incidents.Event {
	e.t.Helper()
	var last incidents.Event
	for _, ev := range e.timeline(id) {
		if ev.Kind == deploys.KindRollbackFailed || ev.Kind == deploys.KindRollbackSucceeded {
			last = ev
		}
	}
	if last.Kind == "" {
		e.t.Fatalf("incident %d has no rollback outcome on its timeline: %+v", id, e.timeline(id))
	}
	return last
}

func TestCommandHookGetsTheFactsInItsEnvironment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		envFile := filepath.Join(dir, "env.txt")
		argsFile := filepath.Join(dir, "args.txt")
		hook := script(t, dir, "rollback.sh", `env | grep '^FIREBREAK_' | sort > "$1"
printf '%s\n' "$@" > "$2"
echo "deployment.apps/checkout rolled back to $FIREBREAK_ROLLBACK_TO"
`)
		// Something Firebreak itself might have in its environment must not shadow the facts.
		t.Setenv("FIREBREAK_ACTION", "nothing")
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": commandHook(hook, envFile, argsFile, "--namespace=shop")}, outbox.Options{})
		d := e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()

		rb := e.onlyRollback(inc.ID)
		if rb.Status != "succeeded" || rb.Attempts != 1 {
			t.Fatalf("rollback %+v: %+v", rb, e.timeline(inc.ID))
		}
		raw, err := os.ReadFile(envFile)
		if err != nil {
			t.Fatalf("the command did not run: %v", err)
		}
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			k, v, _ := strings.Cut(line, "=")
			got[k] = v
		}
		want := map[string]string{
			"FIREBREAK_ACTION":        "rollback",
			"FIREBREAK_INCIDENT_ID":   strconv.FormatInt(inc.ID, 10),
			"FIREBREAK_SERVICE":       "checkout",
			"FIREBREAK_ENVIRONMENT":   "prod",
			"FIREBREAK_DEPLOY_ID":     strconv.FormatInt(d.ID, 10),
			"FIREBREAK_ROLLBACK_FROM": "1.4.2",
			"FIREBREAK_ROLLBACK_TO":   "1.4.1",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s=%q, want %q (environment: %v)", k, got[k], v, got)
			}
		}
		args, _ := os.ReadFile(argsFile)
		if string(args) != envFile+"\n"+argsFile+"\n--namespace=shop\n" {
			t.Errorf("argv reached the command as %q", args)
		}
		out := e.lastOutcome(inc.ID)
		if out.Kind != deploys.KindRollbackSucceeded || !strings.Contains(out.Text, "deployment.apps/checkout rolled back to 1.4.1") ||
			!strings.Contains(out.Text, "exited 0") {
			t.Fatalf("outcome line %+v", out)
		}
		if got := e.incident(inc.ID); got.MitigatedAt != nil || got.Status != incidents.Remediating {
			t.Fatalf("a successful command moved the incident to %s, mitigated %v; a remedy's success is not mitigation", got.Status, got.MitigatedAt)
		}
	})
}

func TestFailingCommandIsNotRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		counter := filepath.Join(dir, "runs")
		hook := script(t, dir, "undo.sh", `echo run >> "`+counter+`"
echo 'error: deployment "checkout" not found' >&2
exit 3
`)
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": commandHook(hook)}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()

		rb := e.onlyRollback(inc.ID)
		if rb.Status != "failed" || rb.Attempts != 1 || !strings.Contains(rb.LastError, "exit status 3") {
			t.Fatalf("rollback %+v", rb)
		}
		time.Sleep(50 * time.Millisecond)
		if runs, _ := os.ReadFile(counter); strings.Count(string(runs), "run") != 1 {
			t.Fatalf("the command ran %d times, want once", strings.Count(string(runs), "run"))
		}
		out := e.lastOutcome(inc.ID)
		if out.Kind != deploys.KindRollbackFailed || !strings.Contains(out.Text, `deployment "checkout" not found`) ||
			!strings.Contains(out.Text, "will not be retried") {
			t.Fatalf("outcome line %+v", out)
		}
		if got := e.incident(inc.ID); got.Status != incidents.Remediating || got.MitigatedAt != nil {
			t.Fatalf("after a failed command: %s, mitigated %v", got.Status, got.MitigatedAt)
		}
	})
}

func TestCommandsThatCannotRunOrHang(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		hang := commandHook("sleep", "30")
		hang.Timeout = 100 * time.Millisecond
		e := newEnv(t, db, map[string]deploys.Hook{
			"checkout": commandHook(filepath.Join(dir, "no-such-script")),
			"search":   commandHook("firebreak-no-such-tool-on-path"),
			"payments": hang,
		}, outbox.Options{})
		began := time.Now()
		var incs []incidents.Incident
		for _, svc := range []string{"checkout", "search", "payments"} {
			e.record(deploys.Input{Service: svc, Environment: "prod", Version: "2", PreviousVersion: "1", FinishedAt: ptr(at(9, 56))})
			incs = append(incs, e.declare(svc+" is failing", incidents.Sev1, svc, "prod", at(10, 0)))
		}
		e.waitIdle()
		if took := time.Since(began); took > 5*time.Second {
			t.Fatalf("took %v: the 100ms command timeout was not applied", took)
		}
		for i, want := range []string{"cannot be run", "cannot be run", "timed out"} {
			inc := incs[i]
			rb := e.onlyRollback(inc.ID)
			if rb.Status != "failed" || rb.Attempts != 1 || !strings.Contains(rb.LastError, want) {
				t.Errorf("%s: rollback %+v, want failed once with %q", inc.Service, rb, want)
			}
			if out := e.lastOutcome(inc.ID); out.Kind != deploys.KindRollbackFailed || !strings.Contains(out.Text, want) {
				t.Errorf("%s: outcome line %+v", inc.Service, out)
			}
			if got := e.incident(inc.ID); got.Status != incidents.Remediating || got.MitigatedAt != nil {
				t.Errorf("%s: %s, mitigated %v", inc.Service, got.Status, got.MitigatedAt)
			}
		}
	})
}

func TestIncidentTextNeverReachesAShell(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// A short directory, so the paths fit in a title.
		dir, err := os.MkdirTemp("", "fb")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		pwned := filepath.Join(dir, "pwned")
		keep := filepath.Join(dir, "keep")
		if err := os.WriteFile(keep, []byte("still here"), 0o644); err != nil {
			t.Fatal(err)
		}
		seen := filepath.Join(dir, "seen")
		hook := script(t, dir, "rollback.sh", `echo "$FIREBREAK_SERVICE $FIREBREAK_ROLLBACK_FROM $FIREBREAK_ROLLBACK_TO" > "`+seen+`"
`)
		evil := "$(touch " + pwned + ") `touch " + pwned + "` ; rm -rf " + keep + " ; touch " + pwned
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": commandHook(hook)}, outbox.Options{})
		e.record(deploys.Input{Service: "checkout", Environment: "prod", Version: "1.4.2; touch " + pwned,
			PreviousVersion: "$(touch " + pwned + ")", Description: evil, FinishedAt: ptr(at(9, 56))})
		inc := e.declare("Checkout down "+evil, incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()

		if rb := e.onlyRollback(inc.ID); rb.Status != "succeeded" {
			t.Fatalf("rollback %+v", rb)
		}
		if _, err := os.Stat(pwned); err == nil {
			t.Fatal("text from the incident or deploy was executed: the marker file exists")
		}
		if _, err := os.Stat(keep); err != nil {
			t.Fatalf("text from the incident was executed: %v", err)
		}
		got, _ := os.ReadFile(seen)
		if want := "checkout 1.4.2; touch " + pwned + " $(touch " + pwned + ")\n"; string(got) != want {
			t.Fatalf("the hook saw %q, want the values verbatim %q", got, want)
		}
	})
}

// A command hook gets the rollback's facts and PATH, HOME, LANG and TZ, and nothing else of
// Firebreak's environment: not its secrets, not the PostgreSQL settings libpq tools read.
func TestCommandHookGetsOnlyTheListedVariables(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		envFile := filepath.Join(dir, "env.txt")
		hook := script(t, dir, "rollback.sh", `env > "$1"`)
		for k, v := range map[string]string{
			"SLACK_BOT_TOKEN": "xoxb-secret", "FIREBREAK_DATABASE_URL": "postgres://user:pw@db/firebreak",
			"PGPASSWORD": "pg-secret", "PGHOST": "db.internal", "CHECKOUT_ROLLBACK_SECRET": "hmac-secret",
			"KUBECONFIG": "/etc/kube/config", "HOME": "/home/firebreak", "LANG": "C.UTF-8", "TZ": "Europe/Paris",
		} {
			t.Setenv(k, v)
		}
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": commandHook(hook, envFile)}, outbox.Options{})
		d := e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()
		if rb := e.onlyRollback(inc.ID); rb.Status != "succeeded" {
			t.Fatalf("rollback %+v", rb)
		}
		raw, err := os.ReadFile(envFile)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			k, v, _ := strings.Cut(line, "=")
			got[k] = v
		}
		delete(got, "PWD") // set by the shell that runs the script, not inherited
		want := map[string]string{
			"FIREBREAK_ACTION": "rollback", "FIREBREAK_INCIDENT_ID": strconv.FormatInt(inc.ID, 10), "FIREBREAK_SERVICE": "checkout",
			"FIREBREAK_ENVIRONMENT": "prod", "FIREBREAK_DEPLOY_ID": strconv.FormatInt(d.ID, 10), "FIREBREAK_ROLLBACK_FROM": "1.4.2",
			"FIREBREAK_ROLLBACK_TO": "1.4.1", "PATH": os.Getenv("PATH"), "HOME": "/home/firebreak", "LANG": "C.UTF-8", "TZ": "Europe/Paris",
		}
		for k, v := range got {
			if w, ok := want[k]; !ok || w != v {
				t.Errorf("the command got %s=%q", k, v)
			}
		}
		for k := range want {
			if _, ok := got[k]; !ok {
				t.Errorf("the command lacks %s", k)
			}
		}
	})
}
