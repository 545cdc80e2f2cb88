package incidents

import (
	"context"
	"slices"
	"testing"
	"time"

	"firebreak/store"
	"firebreak/store/storetest"
)

// unacknowledged lists the ids whose ack reminder is due at, with period every.
func unacknowledged(t *testing.T, m *Manager, db *store.DB, at time.Time, every time.Duration) []int64 {
	t.Helper()
	var ids []int64
	err := db.InTx(context.Background(), func(q store.Querier) error {
		list, err := m.UnacknowledgedTx(context.Background(), q, at.Add(-every), 100)
		for _, inc := range list {
			ids = append(ids, inc.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func markReminded(t *testing.T, m *Manager, db *store.DB, id int64, at time.Time) {
	t.Helper()
	err := db.InTx(context.Background(), func(q store.Querier) error {
		return m.MarkRemindedTx(context.Background(), q, id, ReminderAck, at)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// An incident nobody acknowledged is due for a reminder once it has been open for the
// period, and again one period after each reminder; acknowledging it, or automation moving
// it on, ends the reminders.
func TestUnacknowledgedIncidentsAreDueOncePerPeriod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, clock := newTestManager(db, clockAt)
		const every = 15 * time.Minute
		quiet, err := m.Declare(ctx, "carol", DeclareInput{Title: "Checkout slow", Severity: "sev1"})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		acked, _ := m.Declare(ctx, "carol", DeclareInput{Title: "Search down", Severity: "sev2"})
		automated, _ := m.Declare(ctx, "carol", DeclareInput{Title: "Cart errors", Severity: "sev2"})
		if _, err := m.Transition(ctx, acked.ID, Acknowledge, "bob", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Transition(ctx, automated.ID, RemediateByAutomation, ActorAutoRollback, ""); err != nil {
			t.Fatal(err)
		}

		if got := unacknowledged(t, m, db, clockAt.Add(14*time.Minute), every); len(got) != 0 {
			t.Errorf("14 minutes in: due %v, want none", got)
		}
		got := unacknowledged(t, m, db, clockAt.Add(every), every)
		if !slices.Equal(got, []int64{quiet.ID}) {
			t.Fatalf("15 minutes in: due %v, want only the unacknowledged incident %d", got, quiet.ID)
		}
		markReminded(t, m, db, quiet.ID, clockAt.Add(every))
		for _, at := range []time.Duration{every, 20 * time.Minute, 29 * time.Minute} {
			if got := unacknowledged(t, m, db, clockAt.Add(at), every); len(got) != 0 {
				t.Errorf("%s in, reminded at 15 minutes: due %v, want none", at, got)
			}
		}
		if got := unacknowledged(t, m, db, clockAt.Add(30*time.Minute), every); !slices.Equal(got, []int64{quiet.ID}) {
			t.Errorf("30 minutes in: due %v, want %d again", got, quiet.ID)
		}
		markReminded(t, m, db, quiet.ID, clockAt.Add(30*time.Minute))

		if _, err := m.Transition(ctx, quiet.ID, Acknowledge, "bob", ""); err != nil {
			t.Fatal(err)
		}
		if got := unacknowledged(t, m, db, clockAt.Add(2*time.Hour), every); len(got) != 0 {
			t.Errorf("after the acknowledgement: due %v, want none", got)
		}
		if n := countRows(t, db, "incident_reminders"); n != 1 {
			t.Errorf("%d reminder rows, want one per incident and kind", n)
		}
	})
}
