package slack_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
)

// An alert storm's lines are recorded together: Slack queues one delivery job per incident
// for them, not two statements a line, and replies to none of them (they are counted in
// the message); a line that deserves a reply among them still gets it, in its place.
func TestLinesRecordedTogetherQueueOneJobAnIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		r.stop() // the outbox stays as queued
		checkout := r.declare("Checkout is down", incidents.Sev2, "checkout")
		search := r.declare("Search is slow", incidents.Sev3, "search")
		var recs []incidents.Recording
		for i := range 20 {
			for _, inc := range []incidents.Incident{checkout, search} {
				recs = append(recs, incidents.Recording{Incident: inc, Event: incidents.Event{At: time.Now(),
					Actor: incidents.ActorAlertmanager, Kind: incidents.KindAlertFiring, Text: fmt.Sprintf("Alert %d is firing.", i)}})
			}
		}
		recs = append(recs, incidents.Recording{Incident: checkout, Event: incidents.Event{At: time.Now(),
			Actor: "Carol", Kind: incidents.KindNote, Text: "Looking at the load balancer."}})
		counted := &storetest.Counting{}
		err := db.InTx(context.Background(), func(q store.Querier) error {
			counted.Querier = q
			return r.incidents.RecordManyTx(context.Background(), counted, recs)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := counted.Matching("INSERT INTO outbox_jobs"); got != 2 {
			t.Fatalf("%d delivery jobs queued for %d lines of two incidents, want one an incident", got, len(recs))
		}
		if got := counted.Matching("INSERT INTO slack_replies"); got != 1 {
			t.Fatalf("%d thread replies queued, want one: the note's", got)
		}
		var pending []int64
		if err := db.R.Select(&pending, `SELECT CAST(SUBSTR(coalesce_key, 10) AS BIGINT) FROM outbox_jobs
			WHERE status = 'pending' AND coalesce_key LIKE 'incident:%' ORDER BY 1`); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(pending) != fmt.Sprint([]int64{checkout.ID, search.ID}) {
			t.Fatalf("pending delivery jobs for incidents %v, want one each for %d and %d", pending, checkout.ID, search.ID)
		}
	})
}
