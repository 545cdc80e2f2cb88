package publish_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/notify/webhook"
	"firebreak/statuspage"
	"firebreak/statuspage/publish"
	"firebreak/store"
	"firebreak/store/storetest"
)

// publishNow enqueues a push as a public change would, in a transaction of its own.
func (e *env) publishNow() {
	e.t.Helper()
	if err := e.db.InTx(context.Background(), func(q store.Querier) error { return e.svc.PublishTx(context.Background(), q) }); err != nil {
		e.t.Fatal(err)
	}
}

// TestPushesReachAStatusServer: with the outbox running, a public note shows on a real
// status-server, signed and accepted, and the resolve follows; every push has a greater
// sequence than the one before.
func TestPushesReachAStatusServer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := testkit.NewClock(start)
		ss := startStatusServer(t, clock.Now)
		e := newEnvAt(t, db, clock, publish.Options{Components: shop, Targets: []publish.Target{ss.target()}})
		e.runOutbox()
		inc := e.declare("Checkout down", "sev1", "checkout")
		ss.waitFor("Checkout in major outage", func(s summaryJSON) bool { return s.componentStatus("Checkout") == "major_outage" })
		first := ss.savedSequence()
		if first < start.UnixMilli() {
			t.Fatalf("first sequence %d: want at least the Unix time in milliseconds (%d)", first, start.UnixMilli())
		}

		e.note(inc.ID, "Checkout is down for everyone.", true)
		s := ss.waitFor("the incident", func(s summaryJSON) bool { return len(s.Incidents) == 1 })
		if s.Incidents[0].Name != "Checkout down" || s.Incidents[0].Impact != "critical" || s.Incidents[0].Status != "investigating" {
			t.Fatalf("incident on the page: %+v", s.Incidents[0])
		}
		e.transition(inc.ID, incidents.Resolve)
		ss.waitFor("the resolve", func(s summaryJSON) bool {
			return len(s.Incidents) == 0 && s.componentStatus("Checkout") == "operational" // summary lists unresolved incidents only
		})
		if last := ss.savedSequence(); last <= first {
			t.Fatalf("sequence went from %d to %d", first, last)
		}
	})
}

// TestPushesCoalesce: changes made while no worker delivers leave one push waiting per
// status-server, and it goes out once, carrying the latest state.
func TestPushesCoalesce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := testkit.NewClock(start)
		ss := startStatusServer(t, clock.Now)
		e := newEnvAt(t, db, clock, publish.Options{Components: shop, Targets: []publish.Target{ss.target()}})
		inc := e.declare("Search down", "sev2", "search")
		e.note(inc.ID, "Search is down.", true)
		e.publishNow()
		e.publishNow()
		if n := e.pendingPushes(); n != 1 {
			t.Fatalf("%d pushes wait, want 1", n)
		}
		e.runOutbox()
		ss.waitFor("the incident", func(s summaryJSON) bool {
			return len(s.Incidents) == 1 && s.componentStatus("Search") == "partial_outage"
		})
		if n := ss.pushes.Load(); n != 1 {
			t.Fatalf("the status-server got %d pushes, want 1", n)
		}
	})
}

// TestAStatusServerWithANewerSnapshotEndsThePush: a 409 (the status-server holds a newer
// sequence) is not a failure worth retrying: the job is done at its first attempt.
func TestAStatusServerWithANewerSnapshotEndsThePush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := testkit.NewClock(start)
		ss := startStatusServer(t, clock.Now)
		// Someone pushed sequence 2^62 before: every sequence of ours is older.
		future := statuspage.Snapshot{Sequence: 1 << 62, GeneratedAt: start, Page: statuspage.Page{Name: "Elsewhere"}}
		body, _ := json.Marshal(future)
		req, _ := http.NewRequest(http.MethodPost, ss.target().URL, bytes.NewReader(body))
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(start.Unix(), 10))
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(pushSecret, start, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("seeding push: %v %v", resp, err)
		}
		resp.Body.Close()

		e := newEnvAt(t, db, clock, publish.Options{Components: shop, Targets: []publish.Target{ss.target()}})
		e.publishNow()
		e.runOutbox()
		waitJob(t, db, func(j jobRow) bool { return j.Status != "pending" })
		j := lastJob(t, db)
		if j.Status != "done" || j.Attempts != 1 {
			t.Fatalf("push answered 409: job %+v, want done after one attempt", j)
		}
		if ss.savedSequence() != 1<<62 {
			t.Fatal("the older push replaced the newer snapshot")
		}
	})
}

// jobRow is a push job as the outbox keeps it.
type jobRow struct {
	Status    string `db:"status"`
	Attempts  int    `db:"attempts"`
	LastError string `db:"last_error"`
}

func lastJob(t *testing.T, db *store.DB) jobRow {
	t.Helper()
	var j jobRow
	err := db.R.Get(&j, db.R.Rebind(`SELECT status, attempts, last_error FROM outbox_jobs WHERE kind = ? ORDER BY id DESC LIMIT 1`), publish.KindPush)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func waitJob(t *testing.T, db *store.DB, ok func(jobRow) bool) {
	t.Helper()
	waitUntil(t, "the push job to finish", func() bool { return ok(lastJob(t, db)) })
}

// TestOnlyWhatThePageShowsIsPushed: an incident of a service no component follows, or an
// internal note, pushes nothing; an incident of a followed service, a public note, and any
// change of a public incident push. Service names holding LIKE's wildcards match only
// themselves.
func TestOnlyWhatThePageShowsIsPushed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, publish.Options{Targets: []publish.Target{{URL: "http://127.0.0.1:9/api/push", Secret: pushSecret}},
			Components: []publish.ConfigComponent{{Name: "Payments", Services: []string{"pay_ments%"}, Automatic: true}}})
		pushesAfter := func(what string, change func()) int {
			t.Helper()
			if _, err := db.W.Exec(`DELETE FROM outbox_jobs`); err != nil {
				t.Fatal(err)
			}
			change()
			return e.pendingPushes()
		}
		var other incidents.Incident
		if n := pushesAfter("an incident of another service", func() { other = e.declare("Pay down", "sev1", "payXmentsX") }); n != 0 {
			t.Errorf("an incident of a service no component follows pushed %d times", n)
		}
		if n := pushesAfter("an internal note", func() { e.note(other.ID, "looking", false) }); n != 0 {
			t.Errorf("an internal note pushed")
		}
		if n := pushesAfter("an incident of a followed service", func() { e.declare("Pay down", "sev3", "pay_ments%") }); n != 1 {
			t.Errorf("an incident of a followed service: %d pushes waiting, want 1", n)
		}
		if n := pushesAfter("a public note", func() { e.note(other.ID, "Payments fail.", true) }); n != 1 {
			t.Errorf("a public note: %d pushes waiting, want 1", n)
		}
		if n := pushesAfter("a public incident's change", func() { e.transition(other.ID, incidents.Acknowledge) }); n != 1 {
			t.Errorf("acknowledging a public incident: %d pushes waiting, want 1", n)
		}
	})
}
