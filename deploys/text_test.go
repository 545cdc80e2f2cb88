package deploys_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// Text that reaches the database is valid UTF-8 cut at character boundaries (PostgreSQL
// refuses anything else, and a refused write would lose a rollback's outcome), and secrets
// in hook URLs never reach it. Every story here runs on PostgreSQL too.

// storable reports whether s is text PostgreSQL accepts.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// checkTimelineStorable fails on a timeline line or rollback error PostgreSQL would refuse.
func (e *env) checkTimelineStorable(incidentID int64) {
	e.t.Helper()
	for _, ev := range e.timeline(incidentID) {
		if !storable(ev.Text) {
			e.t.Errorf("timeline line %s is not valid UTF-8: %q", ev.Kind, ev.Text)
		}
	}
	for _, rb := range e.rollbacks(incidentID) {
		if !storable(rb.LastError) {
			e.t.Errorf("rollback %d last_error is not valid UTF-8: %q", rb.ID, rb.LastError)
		}
	}
}

// A tool that prints Latin-1, and output long enough to be cut inside a multibyte
// character: the outcome is recorded (once), as valid UTF-8.
func TestCommandOutputIsStoredAsValidUTF8(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		// 7,999 'a's then '€' (3 bytes) straddles the 8,000 bytes kept of the output.
		long := script(t, dir, "long.sh", `printf 'd\351ploiement annul\351 '; head -c 7979 /dev/zero | tr '\0' a; printf '\342\202\254 trailing\n'`)
		latin := script(t, dir, "latin.sh", `printf 'erreur: d\351ploiement \0introuvable\n' >&2; exit 2`)
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": commandHook(long), "search": commandHook(latin)}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		e.record(deploys.Input{Service: "search", Environment: "prod", Version: "7", PreviousVersion: "6", FinishedAt: ptr(at(9, 56))})
		ok := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		failed := e.declare("Search is failing", incidents.Sev1, "search", "prod", at(10, 0))
		e.waitIdle()

		if rb := e.onlyRollback(ok.ID); rb.Status != deploys.StatusSucceeded || rb.Attempts != 1 {
			t.Fatalf("checkout rollback %+v", rb)
		}
		line := e.lastOutcome(ok.ID).Text
		if !strings.Contains(line, "d\uFFFDploiement annul\uFFFD aaa") || !strings.Contains(line, "…") {
			t.Errorf("success line %.120q…, want the Latin-1 bytes as U+FFFD and the long output cut", line)
		}
		if n := utf8.RuneCountInString(line); n > 2200 {
			t.Errorf("success line is %d characters, want the output cut near 2,000", n)
		}
		if rb := e.onlyRollback(failed.ID); rb.Status != deploys.StatusFailed || !strings.Contains(rb.LastError, "erreur: d\uFFFDploiement \uFFFDintrouvable") {
			t.Fatalf("search rollback %+v", rb)
		}
		e.checkTimelineStorable(ok.ID)
		e.checkTimelineStorable(failed.ID)
	})
}

// Output cut to its first 2,000 characters, with a multibyte character where a cut by bytes
// would fall: the line keeps whole characters and records on PostgreSQL.
func TestCommandOutputIsCutAtACharacterBoundary(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		// 1,998 'a's and three '€': 2,001 characters, and byte 2,000 is inside the first '€'.
		hook := script(t, dir, "euros.sh", `head -c 1998 /dev/zero | tr '\0' a; printf '\342\202\254\342\202\254\342\202\254'`)
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": commandHook(hook)}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()
		if rb := e.onlyRollback(inc.ID); rb.Status != deploys.StatusSucceeded || rb.Attempts != 1 {
			t.Fatalf("rollback %+v", rb)
		}
		line := e.lastOutcome(inc.ID).Text
		if !strings.HasSuffix(line, "aaa€….") || strings.ContainsRune(line, utf8.RuneError) {
			t.Errorf("success line ends %q, want the output cut after a whole character", line[len(line)-20:])
		}
		e.checkTimelineStorable(inc.ID)
	})
}

// A receiver refusing with a Latin-1 error page: the failure is recorded, as valid UTF-8.
func TestWebhookErrorBodyIsStoredAsValidUTF8(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte("d\xe9ploiement inconnu\x00 " + strings.Repeat("\xe9", 300)))
		}))
		defer srv.Close()
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, srv.URL)}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()
		rb := e.onlyRollback(inc.ID)
		if rb.Status != deploys.StatusFailed || rb.Attempts != 1 || !strings.Contains(rb.LastError, "HTTP 422") ||
			!strings.Contains(rb.LastError, "d\uFFFDploiement inconnu\uFFFD") {
			t.Fatalf("rollback %+v", rb)
		}
		e.checkTimelineStorable(inc.ID)
	})
}

// A person's note with a rollback request is checked like every note: not valid UTF-8, a
// NUL byte, or longer than incidents.MaxNote is refused (400), and nothing is recorded.
func TestRollbackNoteIsCheckedLikeOtherNotes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, always(200))
		e := newIdleEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyConfirm, incidents.Sev2, rcv.url())}, outbox.Options{})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		for name, note := range map[string]string{
			"Latin-1":   "annul\xe9",
			"NUL":       "a\x00b",
			"too long":  strings.Repeat("é", incidents.MaxNote+1),
			"cut there": strings.Repeat("a", incidents.MaxNote-1) + "\xe2\x82",
		} {
			if _, err := e.rb.RequestWithNote(context.Background(), inc.ID, 0, "alice", note); !errors.Is(err, incidents.ErrInvalid) {
				t.Errorf("%s: got %v, want incidents.ErrInvalid", name, err)
			}
		}
		if n := len(e.rollbacks(inc.ID)); n != 0 {
			t.Fatalf("refused notes left %d rollbacks", n)
		}
		long := strings.Repeat("é", incidents.MaxNote)
		if _, err := e.rb.RequestWithNote(context.Background(), inc.ID, 0, "alice", long); err != nil {
			t.Fatalf("a note of exactly MaxNote characters: %v", err)
		}
		req := e.events(inc.ID, deploys.KindRollbackRequested)
		if len(req) != 1 || !strings.HasSuffix(req[0].Text, long) {
			t.Fatalf("rollback_requested does not carry the whole note")
		}
	})
}

// A commit that is not plain hex, longer than twelve bytes: the suspect line shows its first
// twelve characters, whole, and the incident opens on PostgreSQL.
func TestShortCommitIsCutAtACharacterBoundary(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, map[string]deploys.Hook{}, outbox.Options{})
		in := checkoutDeploy(at(9, 56))
		in.Commit = "a" + strings.Repeat("é", 20) // the 12th byte is inside an 'é'
		d := e.record(in)
		if got := d.ShortCommit(); got != "a"+strings.Repeat("é", 11) {
			t.Errorf("ShortCommit = %q", got)
		}
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		lines := e.events(inc.ID, deploys.KindDeploySuspected)
		if len(lines) != 1 || !strings.Contains(lines[0].Text, "(commit a"+strings.Repeat("é", 11)+")") {
			t.Fatalf("deploy_suspected lines %+v", lines)
		}
		e.checkTimelineStorable(inc.ID)
		if got := (deploys.Deploy{Commit: ptr("abc123def4567890")}).ShortCommit(); got != "abc123def456" {
			t.Errorf("ShortCommit of a hex commit = %q", got)
		}
		if got := (deploys.Deploy{}).ShortCommit(); got != "" {
			t.Errorf("ShortCommit without a commit = %q", got)
		}
	})
}

// The deployer's URL carries credentials (user info, a token in the query): a failing call
// is recorded on the timeline and in the rollback without them.
func TestHookURLSecretsNeverReachTheTimeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t, always(503))
		url := strings.Replace(rcv.url(), "http://", "http://deploy-bot:pa55word@", 1) + "?token=s3cret-t0ken"
		e := newEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, url)},
			outbox.Options{MaxAttempts: 2})
		e.record(checkoutDeploy(at(9, 56)))
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()
		if n := len(rcv.got()); n != 2 {
			t.Fatalf("receiver saw %d calls, want 2", n)
		}
		var texts []string
		for _, ev := range e.timeline(inc.ID) {
			texts = append(texts, ev.Text)
		}
		rb := e.onlyRollback(inc.ID)
		texts = append(texts, rb.LastError)
		var jobErr string
		if err := db.R.Get(&jobErr, `SELECT last_error FROM outbox_jobs WHERE kind = 'rollback'`); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, jobErr)
		all := strings.Join(texts, "\n")
		for _, secret := range []string{"pa55word", "deploy-bot", "s3cret-t0ken"} {
			if strings.Contains(all, secret) {
				t.Errorf("%q reached the timeline or the stored errors:\n%s", secret, all)
			}
		}
		if !strings.Contains(rb.LastError, "HTTP 503") || !strings.Contains(rb.LastError, "/rollback?token=xxxxx") {
			t.Errorf("last_error %q does not name the receiver", rb.LastError)
		}
	})
}
