package alerts_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
)

// ingestAll posts every payload at once, each from its own goroutine, through the
// ingester chosen for it, and returns the results in payload order.
func ingestAll(t *testing.T, ps []alerts.Payload, via func(i int) *alerts.Ingester) []alerts.Result {
	t.Helper()
	results := make([]alerts.Result, len(ps))
	errs := make([]error, len(ps))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = via(i).Ingest(context.Background(), ps[i])
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
	}
	return results
}

// checkOneIncident asserts that the payloads of one new group opened exactly one incident
// holding all of their alerts, and that every answer named it.
func checkOneIncident(t *testing.T, db *store.DB, m *incidents.Manager, in *alerts.Ingester, groupKey string, results []alerts.Result) {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	if err := db.R.SelectContext(ctx, &ids, db.R.Rebind(`SELECT id FROM incidents WHERE group_key = ?`), groupKey); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("group %s has %d incidents %v, want exactly one", groupKey, len(ids), ids)
	}
	id := ids[0]
	news := 0
	for i, res := range results {
		if !sameIDs(res.Incidents, []int64{id}) {
			t.Fatalf("payload %d answered incidents %v, want [%d]", i, res.Incidents, id)
		}
		news += res.New
	}
	as, err := in.ForIncident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != len(results) || news != len(results) {
		t.Fatalf("incident %d holds %d alerts and %d were counted new, want %d", id, len(as), news, len(results))
	}
	evs, err := m.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(eventsOfKind(evs, incidents.KindOpened)); n != 1 {
		t.Fatalf("incident %d was opened %d times: %v", id, n, kinds(evs))
	}
	// Every other alert is on the timeline: the first ones a line each, the rest summed up.
	lines := len(eventsOfKind(evs, incidents.KindAlertFiring))
	summed := 0
	for _, ev := range eventsOfKind(evs, incidents.KindAlertsFiredSummary) {
		var n int
		if _, err := fmt.Sscanf(ev.Text, "%d more", &n); err != nil {
			t.Fatalf("summary line %q: %v", ev.Text, err)
		}
		summed += n
	}
	if lines != min(len(results)-1, 20) || lines+summed != len(results)-1 {
		t.Fatalf("incident %d has %d alert_firing lines and %d alerts summed up, want %d in all, at most 20 lines",
			id, lines, summed, len(results)-1)
	}
}

// groupPayloads are n payloads of one brand-new group, one different alert each.
func groupPayloads(groupKey, service string, n int) []alerts.Payload {
	ps := make([]alerts.Payload, n)
	for i := range ps {
		ps[i] = payload(groupKey, fire("InstanceDown", service, "production", "critical", t0.Add(-time.Minute),
			"instance", fmt.Sprintf("%s-%02d:9100", service, i)))
	}
	return ps
}

func TestConcurrentPayloadsOfANewGroupOpenOneIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		results := ingestAll(t, groupPayloads("g-new", "edge", 50), func(int) *alerts.Ingester { return r.in })
		checkOneIncident(t, db, r.m, r.in, "g-new", results)
		if n := r.count("incidents"); n != 1 {
			t.Fatalf("%d incidents, want 1", n)
		}
	})
}

// TestTwoReplicasOpenOneIncident runs two Firebreak replicas against one PostgreSQL
// database, each with its own pool, manager and four group-commit workers, and sends the
// payloads of new groups to both at once.
func TestTwoReplicasOpenOneIncident(t *testing.T) {
	t.Parallel() // one of the slow stories; they overlap each other
	driver, dsn := storetest.DSN(t, store.Postgres)
	ctx := context.Background()
	var replicas [2]*rig
	clock := testkit.NewClock(t0)
	for i := range replicas {
		db, err := store.Open(ctx, driver, dsn)
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("replica %d: migrate: %v", i, err)
		}
		replicas[i] = newRigWith(t, db, clock, 4)
	}
	// Several rounds, each a new group of its own service, so a race has several chances
	// to show.
	for round := 0; round < 5; round++ {
		groupKey := fmt.Sprintf("g-round-%d", round)
		results := ingestAll(t, groupPayloads(groupKey, fmt.Sprintf("svc-%d", round), 50),
			func(i int) *alerts.Ingester { return replicas[i%2].in })
		checkOneIncident(t, replicas[0].db, replicas[0].m, replicas[1].in, groupKey, results)
	}
	if n := countRows(t, replicas[0].db, "incidents"); n != 5 {
		t.Fatalf("%d incidents, want one per round", n)
	}
}

// servingWorkers is the number of group-commit workers `firebreak serve` starts: one
// writer for SQLite, four for PostgreSQL.
func servingWorkers(db *store.DB) int {
	if db.Dialect == store.Postgres {
		return 4
	}
	return 1
}

// TestHAPeersDeliverTheSamePayloadAtOnce: an Alertmanager cluster of three sends each
// notification from every peer, within milliseconds. Whichever copy commits first stores
// the alerts; the others are repeats, never errors (an error is a 5xx and a retry storm).
func TestHAPeersDeliverTheSamePayloadAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const peers, rounds, perPayload = 3, 10, 5
		r := newRigWith(t, db, testkit.NewClock(t0), servingWorkers(db))
		for round := 0; round < rounds; round++ {
			groupKey := fmt.Sprintf("g-ha-%d", round)
			// Round 0 opens an incident; later rounds add new alerts to it, the path where
			// no grouping lock orders the copies.
			p := payload(groupKey)
			for i := 0; i < perPayload; i++ {
				p.Alerts = append(p.Alerts, fire("NodeDown", "fleet", "production", "critical", t0.Add(-time.Minute),
					"instance", fmt.Sprintf("node-%d-%d", round, i)))
			}
			ps := make([]alerts.Payload, peers)
			for i := range ps {
				ps[i] = p
			}
			results := ingestAll(t, ps, func(int) *alerts.Ingester { return r.in })
			news, dedup := 0, 0
			for _, res := range results {
				news += res.New
				dedup += res.Deduplicated
			}
			if news != perPayload || dedup != (peers-1)*perPayload {
				t.Fatalf("round %d: new=%d deduplicated=%d over %d copies, want %d new and the rest deduplicated",
					round, news, dedup, peers, perPayload)
			}
		}
		if n := r.count("alerts"); n != rounds*perPayload {
			t.Fatalf("%d alerts stored, want %d", n, rounds*perPayload)
		}
		if n := r.count("incidents"); n != 1 {
			t.Fatalf("%d incidents, want 1: every round is the fleet service in production", n)
		}
	})
}
