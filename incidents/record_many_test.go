package incidents

import (
	"context"
	"fmt"
	"testing"

	"firebreak/store"
	"firebreak/store/storetest"
)

// Events recorded together land on the timelines in the order given, in one statement, each
// with its own ID; every hook hears of each one in that order, ID included, and every batch
// hook of all of them at once, afterwards.
func TestEventsRecordedTogetherKeepTheirOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m, _ := newTestManager(db, clockAt)
		a, err := m.Declare(ctx, "alice", DeclareInput{Title: "Checkout is failing", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Declare(ctx, "alice", DeclareInput{Title: "Search is slow", Severity: "sev3"})
		if err != nil {
			t.Fatal(err)
		}
		var heard []Event
		m.OnChange(func(_ context.Context, _ store.Querier, inc Incident, ev Event) error {
			if ev.IncidentID != inc.ID {
				return fmt.Errorf("hook heard event of incident %d with incident %d", ev.IncidentID, inc.ID)
			}
			heard = append(heard, ev)
			return nil
		})
		var batches [][]Recording
		m.OnChanges(func(_ context.Context, _ store.Querier, recs []Recording) error {
			if len(heard) != len(recs) {
				return fmt.Errorf("the batch hook ran after %d of %d events' hooks, want after all", len(heard), len(recs))
			}
			batches = append(batches, recs)
			return nil
		})
		var recs []Recording
		for i := range 7 {
			inc := a
			if i%3 == 1 {
				inc = b
			}
			recs = append(recs, Recording{Incident: inc, Event: Event{At: clockAt, Actor: ActorAlertmanager,
				Kind: KindAlertFiring, Text: fmt.Sprintf("line %d", i)}})
		}
		counted := &storetest.Counting{}
		err = db.InTx(ctx, func(q store.Querier) error {
			counted.Querier = q
			return m.RecordManyTx(ctx, counted, recs)
		})
		if err != nil {
			t.Fatal(err)
		}
		if counted.N() != 1 {
			t.Fatalf("%d statements for 7 lines, want one", counted.N())
		}
		if len(heard) != len(recs) {
			t.Fatalf("hooks heard %d events, want %d", len(heard), len(recs))
		}
		if len(batches) != 1 || len(batches[0]) != len(recs) {
			t.Fatalf("the batch hook heard %d batches, want one of all %d events", len(batches), len(recs))
		}
		for i, r := range batches[0] {
			if r.Event.ID != heard[i].ID || r.Incident.ID != heard[i].IncidentID {
				t.Fatalf("the batch hook's event %d is %+v, want %+v", i, r.Event, heard[i])
			}
		}
		stored := map[int64]Event{}
		for _, inc := range []Incident{a, b} {
			evs, err := m.Timeline(ctx, inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				stored[ev.ID] = ev
			}
		}
		for i, ev := range heard {
			want := fmt.Sprintf("line %d", i)
			if ev.Text != want {
				t.Fatalf("hook heard %q in place %d, want %q", ev.Text, i, want)
			}
			if i > 0 && ev.ID <= heard[i-1].ID {
				t.Fatalf("event %q has ID %d, not after %d: IDs must follow the order given", ev.Text, ev.ID, heard[i-1].ID)
			}
			if s, ok := stored[ev.ID]; !ok || s.Text != want || s.IncidentID != ev.IncidentID {
				t.Fatalf("event %d is stored as %+v, want %q on incident %d", ev.ID, s, want, ev.IncidentID)
			}
		}
	})
}
