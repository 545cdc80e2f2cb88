package postmortem_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/postmortem"
	"firebreak/store"
	"firebreak/store/storetest"
)

// dueAt lists the incidents whose postmortem reminder is due at, with period every.
func (s *story) dueAt(at time.Time, every time.Duration) []int64 {
	s.t.Helper()
	var ids []int64
	err := s.db.InTx(context.Background(), func(q store.Querier) error {
		due, err := postmortem.DueTx(context.Background(), q, at.Add(-every), 100)
		for _, d := range due {
			ids = append(ids, d.IncidentID)
		}
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return ids
}

func (s *story) reminded(id int64, at time.Time) {
	s.t.Helper()
	err := s.db.InTx(context.Background(), func(q store.Querier) error {
		return s.m.MarkRemindedTx(context.Background(), q, id, incidents.ReminderPostmortemDue, at)
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// A sev1 or sev2 postmortem still a draft is due due_after after its incident resolved, and
// again one due_after after each reminder; a published one, one of a sev3 incident and one
// of an incident still open never are. Writing in a draft does not make it less due.
func TestDraftPostmortemsAreDueOncePerPeriod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		ctx := context.Background()
		const due = 120 * time.Hour
		resolvedAt := at(13, 0, 0)
		declare := func(title, sev string) int64 {
			inc, err := s.m.Declare(ctx, "bob", incidents.DeclareInput{Title: title, Severity: sev, Service: "checkout"})
			if err != nil {
				t.Fatal(err)
			}
			return inc.ID
		}
		s.set(at(12, 0, 0))
		draft, written, published, minor := declare("Checkout down", "sev1"), declare("Search slow", "sev2"),
			declare("Cart errors", "sev2"), declare("Typo on the banner", "sev3")
		declare("Payments flaky", "sev2") // still open
		for _, id := range []int64{draft, written, published, minor} {
			s.do(resolvedAt, id, incidents.Resolve, "bob", "")
		}
		s.edit(written, "alice", `{"root_cause":"A cache stampede."}`)
		if _, err := s.pm.Publish(ctx, published, "carol"); err != nil {
			t.Fatal(err)
		}

		if got := s.dueAt(resolvedAt.Add(due-time.Minute), due); len(got) != 0 {
			t.Errorf("a minute before due: %v, want none", got)
		}
		got := s.dueAt(resolvedAt.Add(due), due)
		if !slices.Equal(got, []int64{draft, written}) {
			t.Fatalf("when due: %v, want the drafts %d and %d", got, draft, written)
		}
		s.reminded(draft, resolvedAt.Add(due))
		s.reminded(written, resolvedAt.Add(due))
		if got := s.dueAt(resolvedAt.Add(2*due-time.Minute), due); len(got) != 0 {
			t.Errorf("before the next period: %v, want none", got)
		}
		if got := s.dueAt(resolvedAt.Add(2*due), due); !slices.Equal(got, []int64{draft, written}) {
			t.Errorf("a period after the reminder: %v, want both drafts again", got)
		}
		if _, err := s.pm.Publish(ctx, written, "alice"); err != nil {
			t.Fatal(err)
		}
		if got := s.dueAt(resolvedAt.Add(30*due), due); !slices.Equal(got, []int64{draft}) {
			t.Errorf("after publishing %d: %v, want only %d", written, got, draft)
		}
	})
}
