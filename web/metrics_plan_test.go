package web

import (
	"context"
	"strings"
	"testing"

	"firebreak/store"
	"firebreak/store/storetest"
)

// TestOpenIncidentsGaugeReadsAnIndex: the gauge is read at every scrape, and the incidents
// table only grows; its query must read the partial index of open incidents (migration
// 0007), not every incident ever recorded.
func TestOpenIncidentsGaugeReadsAnIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var plan []string
		switch db.Dialect {
		case store.SQLite:
			var rows []struct {
				ID, Parent, NotUsed int
				Detail              string
			}
			if err := db.R.SelectContext(ctx, &rows, "EXPLAIN QUERY PLAN "+openIncidentsQuery); err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				plan = append(plan, r.Detail)
			}
		case store.Postgres:
			// On a table this small the planner would rightly scan it; forbidding that shows
			// whether an index can answer at all.
			tx, err := db.W.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			if err := tx.SelectContext(ctx, &plan, "EXPLAIN "+openIncidentsQuery); err != nil {
				t.Fatal(err)
			}
		}
		joined := strings.Join(plan, "\n")
		if !strings.Contains(joined, "incidents_open_severity") || strings.Contains(joined, "Seq Scan") {
			t.Fatalf("the open-incidents query does not read incidents_open_severity:\n%s", joined)
		}
	})
}
