package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"firebreak/store"
	"firebreak/store/storetest"
)

// TestReadyAnswersWhileTheWriterIsBusy: on SQLite the writer is one connection, held for
// the whole of a write batch. Readiness must not queue behind it, or a busy server would be
// taken out of the load balancer for being busy.
func TestReadyAnswersWhileTheWriterIsBusy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		tx, err := db.W.BeginTxx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		// A write inside: the transaction holds SQLite's write lock, as a batch does.
		if _, err := tx.Exec(db.W.Rebind("UPDATE incidents SET title = title WHERE id = ?"), 1); err != nil {
			t.Fatal(err)
		}
		resp, err := e.srv.App().Test(httptest.NewRequest("GET", "/-/ready", nil), 10000)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ready while the writer is held: %d, want 200", resp.StatusCode)
		}
	})
}
