package postmortem_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"firebreak/incidents"
	"firebreak/postmortem"
	"firebreak/store"
	"firebreak/store/storetest"
)

// edit decodes a PUT body and applies it as actor.
func (s *story) edit(id int64, actor, body string) postmortem.Report {
	s.t.Helper()
	e, err := postmortem.DecodeEdit([]byte(body))
	if err != nil {
		s.t.Fatalf("decode %s: %v", body, err)
	}
	r, err := s.pm.Update(context.Background(), id, e, actor)
	if err != nil {
		s.t.Fatalf("update with %s: %v", body, err)
	}
	return r
}

// TestPartialEditChangesOnlyWhatItCarries: each PUT changes the keys it carries and leaves
// the others as they were; null clears a text, [] or null the action items, and the last
// editor and time are kept.
func TestPartialEditChangesOnlyWhatItCarries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		inc := s.declare("bob", "Search is slow", "search", at(11, 50, 0))
		r, err := s.pm.Get(context.Background(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.RootCause != "" || len(r.ActionItems) != 0 || r.UpdatedAt != nil || r.Status != postmortem.Draft {
			t.Fatalf("a postmortem nobody wrote: %+v", r.Parts)
		}

		s.set(at(13, 0, 0))
		r = s.edit(inc.ID, "alice", `{"root_cause":"An index was dropped.","action_items":[{"text":"Restore the index","owner":"alice","due":"2026-03-09"},{"text":"Alert on slow queries","done":true}]}`)
		if r.RootCause != "An index was dropped." || len(r.ActionItems) != 2 || *r.ActionItems[0].Due != "2026-03-09" ||
			r.ActionItems[1].Due != nil || !r.ActionItems[1].Done || r.ActionItems[1].Owner != "" {
			t.Fatalf("after the first edit: %+v", r.Parts)
		}

		s.set(at(13, 5, 0))
		r = s.edit(inc.ID, "bob", `{"went_well":"Paging worked."}`)
		if r.RootCause != "An index was dropped." || r.WentWell != "Paging worked." || len(r.ActionItems) != 2 {
			t.Fatalf("an edit of went_well changed other parts: %+v", r.Parts)
		}
		if *r.UpdatedBy != "bob" || !r.UpdatedAt.Equal(at(13, 5, 0)) {
			t.Fatalf("last edit: %v by %v, want 13:05 by bob", r.UpdatedAt, *r.UpdatedBy)
		}

		r = s.edit(inc.ID, "bob", `{"action_items":[{"text":"Alert on slow queries","done":true}],"root_cause":null}`)
		if r.RootCause != "" || r.WentWell != "Paging worked." || len(r.ActionItems) != 1 || r.ActionItems[0].Text != "Alert on slow queries" {
			t.Fatalf("after replacing the items and clearing root_cause: %+v", r.Parts)
		}
		r = s.edit(inc.ID, "bob", `{"action_items":[]}`)
		if len(r.ActionItems) != 0 || r.WentWell != "Paging worked." {
			t.Fatalf("after emptying the items: %+v", r.Parts)
		}
		r = s.edit(inc.ID, "bob", `{}`)
		if r.WentWell != "Paging worked." {
			t.Fatalf("an empty edit changed something: %+v", r.Parts)
		}
	})
}

// TestBadEditsAreRefusedNamingTheField: every mistake in a PUT body is an ErrInvalid whose
// message names the field, and nothing is stored.
func TestBadEditsAreRefusedNamingTheField(t *testing.T) {
	long := strings.Repeat("é", postmortem.MaxText+1)
	many := "[" + strings.TrimSuffix(strings.Repeat(`{"text":"x"},`, postmortem.MaxActionItems+1), ",") + "]"
	cases := []struct{ name, body, want string }{
		{"empty body", ``, "empty"},
		{"not an object", `["root_cause"]`, "not a JSON object"},
		{"null", `null`, "null"},
		{"broken JSON", `{"root_cause":`, "JSON"},
		{"trailing data", `{"root_cause":"a"} {}`, "after"},
		{"unknown field", `{"root_cause":"a","severity":"sev1"}`, `unknown field "severity"`},
		{"wrong type", `{"went_well":42}`, "went_well must be a string"},
		{"too long", `{"got_lucky":"` + long + `"}`, "got_lucky is 50001 characters long"},
		{"NUL", `{"root_cause":"a\u0000b"}`, "root_cause contains a NUL"},
		{"items not a list", `{"action_items":{"text":"x"}}`, "action_items must be a list"},
		{"item not an object", `{"action_items":["x"]}`, "action_items[0] must be an object"},
		{"item unknown field", `{"action_items":[{"text":"x"},{"text":"y","priority":1}]}`, `action_items[1] has an unknown field "priority"`},
		{"item without text", `{"action_items":[{"owner":"alice"}]}`, "action_items[0].text is required"},
		{"item blank text", `{"action_items":[{"text":"  "}]}`, "action_items[0].text is required"},
		{"due not a date", `{"action_items":[{"text":"x","due":"next week"}]}`, `action_items[0].due "next week" is not a date`},
		{"due not a real day", `{"action_items":[{"text":"x","due":"2026-02-30"}]}`, `action_items[0].due "2026-02-30"`},
		{"due with a time", `{"action_items":[{"text":"x","due":"2026-03-01T00:00:00Z"}]}`, "action_items[0].due"},
		{"due a number", `{"action_items":[{"text":"x","due":20260301}]}`, "action_items[0].due must be a string"},
		{"done a string", `{"action_items":[{"text":"x","done":"yes"}]}`, "action_items[0].done must be true or false"},
		{"too many items", `{"action_items":` + many + `}`, "at most 200"},
	}
	for _, c := range cases {
		_, err := postmortem.DecodeEdit([]byte(c.body))
		if !errors.Is(err, postmortem.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrInvalid mentioning %q", c.name, err, c.want)
		}
	}
}

// TestEditsOfUnknownIncidentsAreNotFound: reading, editing or publishing the postmortem of
// an incident that does not exist is incidents.ErrNotFound, and stores nothing.
func TestEditsOfUnknownIncidentsAreNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		ctx := context.Background()
		e, _ := postmortem.DecodeEdit([]byte(`{"root_cause":"x"}`))
		if _, err := s.pm.Get(ctx, 404); !errors.Is(err, incidents.ErrNotFound) {
			t.Errorf("get: %v", err)
		}
		if _, err := s.pm.Update(ctx, 404, e, "bob"); !errors.Is(err, incidents.ErrNotFound) {
			t.Errorf("update: %v", err)
		}
		if _, err := s.pm.Publish(ctx, 404, "bob"); !errors.Is(err, incidents.ErrNotFound) {
			t.Errorf("publish: %v", err)
		}
		var n int
		if err := db.R.Get(&n, `SELECT COUNT(*) FROM postmortems`); err != nil || n != 0 {
			t.Errorf("%d postmortem rows (%v), want none", n, err)
		}
	})
}

// TestDeletingAnIncidentDeletesItsPostmortem: the schema cascades, so removing a test
// incident leaves no postmortem or action item behind.
func TestDeletingAnIncidentDeletesItsPostmortem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		inc := s.declare("bob", "Test incident", "search", at(11, 59, 0))
		s.edit(inc.ID, "bob", `{"root_cause":"a drill","action_items":[{"text":"nothing"}]}`)
		s.set(at(12, 30, 0))
		if _, err := s.m.Delete(context.Background(), inc.ID); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"postmortems", "postmortem_action_items"} {
			var n int
			if err := db.R.Get(&n, `SELECT COUNT(*) FROM `+table); err != nil || n != 0 {
				t.Errorf("%s holds %d rows (%v) after the incident was deleted", table, n, err)
			}
		}
	})
}
