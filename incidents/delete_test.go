package incidents

import (
	"context"
	"errors"
	"testing"

	"firebreak/store"
	"firebreak/store/storetest"
)

func TestDeleteRemovesTheIncidentAndItsTimelineOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, _ := newTestManager(db, clockAt)
		test, err := m.Declare(ctx, "alice", DeclareInput{Title: "Trying Firebreak", Severity: "sev4", Service: "example"})
		if err != nil {
			t.Fatal(err)
		}
		kept, err := m.Declare(ctx, "bob", DeclareInput{Title: "Real outage", Severity: "sev1", Service: "checkout"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Transition(ctx, test.ID, Resolve, "alice", "just a test"); err != nil {
			t.Fatal(err)
		}
		removed, err := m.Delete(ctx, test.ID)
		if err != nil {
			t.Fatalf("delete: %v", err)
		}
		if removed.Title != "Trying Firebreak" {
			t.Errorf("delete returned %q", removed.Title)
		}
		if _, err := m.Get(ctx, test.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted incident still readable: %v", err)
		}
		var events int
		if err := db.R.GetContext(ctx, &events, db.R.Rebind(`SELECT COUNT(*) FROM timeline_events WHERE incident_id = ?`), test.ID); err != nil {
			t.Fatal(err)
		}
		if events != 0 {
			t.Errorf("%d timeline events of the deleted incident remain", events)
		}
		if _, err := m.Get(ctx, kept.ID); err != nil {
			t.Errorf("the other incident went too: %v", err)
		}
		if tl, _ := m.Timeline(ctx, kept.ID); len(tl) != 1 {
			t.Errorf("the other incident's timeline has %d events, want 1", len(tl))
		}
		if _, err := m.Delete(ctx, test.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleting twice: %v, want ErrNotFound", err)
		}
	})
}
