package incidents_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
)

// TestChangesThroughTheGroupCommitter: serve routes incident changes through the same
// group committer as webhooks on SQLite. Refused transitions must fail alone while the
// others in their batch commit.
func TestChangesThroughTheGroupCommitter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		gc := store.NewGroupCommitter(db, 1, 64, 256, nil)
		t.Cleanup(gc.Close)
		m := incidents.NewManager(db, time.Now)
		m.WriteThrough(gc.Do)
		ctx := context.Background()
		var ids []int64
		for i := 0; i < 10; i++ {
			inc, err := m.Declare(ctx, "alice", incidents.DeclareInput{Title: "t", Severity: "sev2", Service: "svc"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, inc.ID)
		}
		// Each incident acknowledged twice at once: one of each pair wins, one gets 409.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, refusals := 0, 0
		for _, id := range ids {
			for j := 0; j < 2; j++ {
				wg.Add(1)
				go func(id int64) {
					defer wg.Done()
					_, err := m.Transition(ctx, id, incidents.Acknowledge, "bob", "")
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case errors.Is(err, incidents.ErrInvalidTransition):
						refusals++
					default:
						t.Errorf("acknowledge %d: %v", id, err)
					}
				}(id)
			}
		}
		wg.Wait()
		if wins != 10 || refusals != 10 {
			t.Fatalf("%d acknowledged, %d refused; want 10 and 10", wins, refusals)
		}
		for _, id := range ids {
			inc, err := m.Get(ctx, id)
			if err != nil || inc.Status != incidents.Responding {
				t.Fatalf("incident %d: %+v, %v", id, inc, err)
			}
			tl, err := m.Timeline(ctx, id)
			if err != nil || len(tl) != 2 {
				t.Fatalf("incident %d timeline: %d events, %v; want declared and one acknowledged", id, len(tl), err)
			}
		}
	})
}
