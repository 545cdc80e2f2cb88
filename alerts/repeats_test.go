package alerts_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"firebreak/alerts"
	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
)

// storedRepeats reads an alert row's repeats and last-seen time as the database holds them,
// without what the ingester keeps in memory.
func storedRepeats(t *testing.T, db *store.DB, fp string) (int, time.Time) {
	t.Helper()
	var row struct {
		Repeats  int       `db:"repeats"`
		LastSeen time.Time `db:"last_seen_at"`
	}
	err := db.R.GetContext(context.Background(), &row, db.R.Rebind(
		`SELECT repeats, last_seen_at FROM alerts WHERE fingerprint = ? ORDER BY id DESC LIMIT 1`), fp)
	if err != nil {
		t.Fatalf("read alert %s: %v", fp, err)
	}
	var flushed []struct {
		Repeats  int       `db:"repeats"`
		LastSeen time.Time `db:"last_seen_at"`
	}
	err = db.R.SelectContext(context.Background(), &flushed, db.R.Rebind(`SELECT alert_repeats.repeats, alert_repeats.last_seen_at
		FROM alert_repeats JOIN alerts ON alerts.id = alert_repeats.alert_id
		WHERE alerts.fingerprint = ? ORDER BY alerts.id DESC LIMIT 1`), fp)
	if err != nil {
		t.Fatalf("read flushed repeats of %s: %v", fp, err)
	}
	for _, f := range flushed {
		row.Repeats += f.Repeats
		if f.LastSeen.After(row.LastSeen) {
			row.LastSeen = f.LastSeen
		}
	}
	return row.Repeats, row.LastSeen.UTC()
}

// A payload of repeats is answered from memory: the writer never sees it, reads on this
// replica show its count at once, and the database has it after the flush.
func TestRepeatsAreAnsweredFromMemoryAndWrittenByTheFlush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("DiskFull", "db", "prod", "critical", t0.Add(-time.Minute))
		b := fire("DiskSlow", "db", "prod", "warning", t0.Add(-time.Minute))
		id := r.ingest(payload("g", a, b)).Incidents[0]
		fp := alerts.Fingerprint(a)
		events := len(r.timeline(id))

		for i := 1; i <= 3; i++ {
			r.clock.Advance(10 * time.Second)
			queued := r.gc.Queued()
			res := r.ingest(payload("g", a, b))
			wantResult(t, "repeat", res, 2, 0, 2, 0)
			if !sameIDs(res.Incidents, []int64{id}) {
				t.Fatalf("repeat answered incidents %v, want [%d]", res.Incidents, id)
			}
			if n, _ := storedRepeats(t, db, fp); n != 0 || r.gc.Queued() != queued {
				t.Fatalf("after repeat %d the database holds %d repeats: want 0 until the flush", i, n)
			}
		}
		// A read on this replica shows what memory holds.
		for _, al := range r.alertsOf(id) {
			if al.Repeats != 3 || !al.LastSeenAt.Equal(t0.Add(30*time.Second)) {
				t.Fatalf("alert %s read before the flush: repeats %d last seen %s, want 3 and %s", al.Fingerprint, al.Repeats, al.LastSeenAt, t0.Add(30*time.Second))
			}
		}
		if err := r.in.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		n, seen := storedRepeats(t, db, fp)
		if n != 3 || !seen.Equal(t0.Add(30*time.Second)) {
			t.Fatalf("after the flush the database holds repeats %d last seen %s, want 3 and %s", n, seen, t0.Add(30*time.Second))
		}
		// Read again: the flushed counts are not added twice.
		if al := r.alertsOf(id)[0]; al.Repeats != 3 {
			t.Fatalf("read after the flush: %d repeats, want 3", al.Repeats)
		}
		if got := len(r.timeline(id)); got != events {
			t.Fatalf("repeats wrote %d timeline lines", got-events)
		}
	})
}

// Only committed work teaches the ingester an occurrence: one stored by a transaction that
// rolled back is new when it comes again, not a repeat of a row that never existed.
func TestAnOccurrenceOfARolledBackTransactionIsNotKnown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("CPUHigh", "api", "prod", "warning", t0.Add(-time.Minute))
		rollback := errors.New("roll back")
		err := db.InTx(context.Background(), func(q store.Querier) error {
			if _, err := r.in.IngestTx(context.Background(), q, payload("g", a)); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("transaction: %v", err)
		}
		res := r.ingest(payload("g", a))
		wantResult(t, "after the rollback", res, 1, 1, 0, 0)
		if r.count("alerts") != 1 {
			t.Fatalf("%d alert rows, want 1", r.count("alerts"))
		}
	})
}

// A resolve makes the occurrence unknown: the next firing notification takes the writer,
// which tells a late delivery (same start) from a new occurrence (later start).
func TestAfterAResolveFiringAgainIsANewOccurrence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("CPUHigh", "api", "prod", "warning", t0.Add(-time.Minute))
		r.ingest(payload("g", a))
		r.ingest(payload("g", a)) // known, answered from memory
		r.clock.Advance(time.Minute)
		res := r.ingest(payload("g", resolve(a, t0.Add(30*time.Second))))
		wantResult(t, "resolve", res, 1, 0, 0, 1)
		r.clock.Advance(time.Minute)
		wantResult(t, "late delivery of the resolved one", r.ingest(payload("g", a)), 1, 0, 1, 0)
		again := refire(a, t0.Add(90*time.Second))
		wantResult(t, "firing again", r.ingest(payload("g", again)), 1, 1, 0, 0)
		if err := r.in.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		var rows []struct {
			Status  string `db:"status"`
			Repeats int    `db:"repeats"`
		}
		if err := db.R.SelectContext(context.Background(), &rows, `SELECT alerts.status, alerts.repeats + COALESCE(alert_repeats.repeats, 0) AS repeats
			FROM alerts LEFT JOIN alert_repeats ON alert_repeats.alert_id = alerts.id ORDER BY alerts.id`); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Status != "resolved" || rows[0].Repeats != 1 || rows[1].Status != "firing" || rows[1].Repeats != 0 {
			t.Fatalf("rows %+v, want the resolved occurrence with its one repeat and a new firing one", rows)
		}
	})
}

// Two replicas on PostgreSQL: the first knows an occurrence the second then resolves. A
// repeat with the same start reaching the first is a late delivery either way — it changes
// nothing, and its count lands nowhere — while a new occurrence (a later start) is stored.
func TestARepeatOfAnOccurrenceAnotherReplicaResolvedChangesNothing(t *testing.T) {
	clock := testkit.NewClock(t0)
	rs := twoReplicas(t, clock, &warningLog{}, testOptions())
	a := fire("CPUHigh", "api", "prod", "warning", t0.Add(-time.Minute))
	id := rs[0].ingest(payload("g", a)).Incidents[0]
	rs[0].ingest(payload("g", a))
	clock.Advance(time.Minute)
	wantResult(t, "resolve on the second replica", rs[1].ingest(payload("g", resolve(a, t0.Add(30*time.Second)))), 1, 0, 0, 1)
	clock.Advance(time.Minute)
	res := rs[0].ingest(payload("g", a))
	wantResult(t, "the stale repeat on the first", res, 1, 0, 1, 0)
	again := refire(a, t0.Add(90*time.Second))
	wantResult(t, "firing again on the first", rs[0].ingest(payload("g", again)), 1, 1, 0, 0)
	for _, r := range rs {
		if err := r.in.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	as := rs[1].alertsOf(id)
	if len(as) != 2 || as[0].Status != "resolved" || as[0].Repeats != 1 || as[1].Status != "firing" {
		t.Fatalf("alerts %+v, want the resolved occurrence with the one repeat seen before its resolve, and the new one", as)
	}
	if inc := rs[1].incident(id); !inc.Open() {
		t.Fatalf("incident %s, want it open again for the new occurrence", inc.Status)
	}
}

// A flush never waits for an alert row the writer holds (a resolve in progress on
// PostgreSQL): it writes beside the alert rows and only reads them.
func TestFlushNeverWaitsForAnAlertRowTheWriterHolds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Dialect != store.Postgres {
			return // SQLite has one writer: nothing else can hold a row
		}
		r := newRig(t, db)
		a := fire("A", "api", "prod", "warning", t0.Add(-time.Minute))
		r.ingest(payload("g", a))
		r.ingest(payload("g", a))
		held, err := db.W.BeginTxx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Rollback()
		// What an UPDATE of the row takes, as resolving it does.
		if _, err := held.Exec(`SELECT id FROM alerts WHERE fingerprint = $1 FOR NO KEY UPDATE`, alerts.Fingerprint(a)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.in.Flush(ctx); err != nil {
			t.Fatalf("flush with the alert row held: %v", err)
		}
		if n, _ := storedRepeats(t, db, alerts.Fingerprint(a)); n != 1 {
			t.Fatalf("the held alert got %d repeats written, want 1", n)
		}
	})
}

// While flushes fail (the database is gone), repeats are not piled up in memory: they take
// the writer like everything else, and the webhook answers 503 so Alertmanager retries.
func TestRepeatsTakeTheWriterWhileFlushesFail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("A", "api", "prod", "warning", t0.Add(-time.Minute))
		r.ingest(payload("g", a))
		r.ingest(payload("g", a)) // one repeat waiting in memory
		db.Close()
		if err := r.in.Flush(context.Background()); err == nil {
			t.Fatal("flush with the database closed succeeded")
		}
		if _, err := r.in.Ingest(context.Background(), payload("g", a)); err == nil {
			t.Fatal("a repeat was answered while flushes fail: want it to take the writer and fail")
		}
	})
}

// Once the writer is closed (the process is stopping and the last flush may have run), a
// repeat is no longer answered from memory, where its count would be lost.
func TestRepeatsAreNotAnsweredFromMemoryOnceTheWriterClosed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("DiskFull", "db", "prod", "critical", t0.Add(-time.Minute))
		r.ingest(payload("g", a))
		r.ingest(payload("g", a)) // known: answered from memory
		r.gc.Close()
		if _, err := r.in.Ingest(context.Background(), payload("g", a)); !errors.Is(err, store.ErrOverloaded) {
			t.Fatalf("repeat after the writer closed: %v, want it refused as overloaded (503)", err)
		}
	})
}

// Only the stored start is learned. The later start the other Alertmanager of an HA pair may
// send is a repeat while the occurrence fires, but once another replica resolved it before
// that start, the same notification is a new occurrence — which a replica that had learned
// the later start would have answered from memory as a repeat.
func TestALaterStartIsNotAnsweredFromMemory(t *testing.T) {
	clock := testkit.NewClock(t0)
	rs := twoReplicas(t, clock, &warningLog{}, testOptions())
	early, late := t0.Add(-10*time.Minute), t0.Add(-2*time.Minute)
	a := fire("CPUHigh", "api", "prod", "warning", early)
	b := a
	b.StartsAt = late
	rs[0].ingest(payload("g", a))
	wantResult(t, "the HA twin's later start", rs[0].ingest(payload("g", b)), 1, 0, 1, 0)
	clock.Advance(time.Minute)
	wantResult(t, "resolve on the other replica, ending before the later start",
		rs[1].ingest(payload("g", resolve(a, t0.Add(-5*time.Minute)))), 1, 0, 0, 1)
	wantResult(t, "the later start again on the first replica", rs[0].ingest(payload("g", b)), 1, 1, 0, 0)
}

// An incident deleted through another replica: the first notification of its alerts may
// still be taken as a repeat, but the flush finds the row gone, and the next one is stored.
func TestAlertsOfAnIncidentDeletedElsewhereAreStoredAgainAfterAFlush(t *testing.T) {
	clock := testkit.NewClock(t0)
	rs := twoReplicas(t, clock, &warningLog{}, testOptions())
	a := fire("CPUHigh", "api", "prod", "warning", t0.Add(-time.Minute))
	id := rs[0].ingest(payload("g", a)).Incidents[0]
	if _, err := rs[1].m.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	rs[0].ingest(payload("g", a))
	if err := rs[0].in.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := rs[0].ingest(payload("g", a))
	wantResult(t, "after the flush found the row gone", res, 1, 1, 0, 0)
	if len(res.Incidents) != 1 || res.Incidents[0] == id {
		t.Fatalf("stored in incidents %v, want a new one (not the deleted %d)", res.Incidents, id)
	}
}

// Counts that wait too long for their flush (a stuck queue, a stalled database) stop
// repeats from being answered from memory: they take the writer, which writes them at once.
func TestRepeatsTakeTheWriterWhileCountsWaitTooLong(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("A", "api", "prod", "warning", t0.Add(-time.Minute))
		r.ingest(payload("g", a))
		r.ingest(payload("g", a)) // from memory, and no flusher runs here
		time.Sleep(time.Second)   // older than counts may wait
		r.ingest(payload("g", a))
		if n, _ := storedRepeats(t, db, alerts.Fingerprint(a)); n != 1 {
			t.Fatalf("%d repeats in the database before any flush, want the one the writer counted", n)
		}
	})
}

// After the last flush of a shutdown nothing is counted in memory any more.
func TestNothingIsCountedInMemoryAfterTheLastFlush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("A", "api", "prod", "warning", t0.Add(-time.Minute))
		r.ingest(payload("g", a))
		r.ingest(payload("g", a))
		r.in.FlushLast()
		r.ingest(payload("g", a))
		if n, _ := storedRepeats(t, db, alerts.Fingerprint(a)); n != 2 {
			t.Fatalf("%d repeats in the database after the last flush and one more repeat, want 2", n)
		}
		if r.in.UnwrittenRepeats() != 0 {
			t.Fatalf("%d alerts with unwritten repeats after the last flush", r.in.UnwrittenRepeats())
		}
	})
}
