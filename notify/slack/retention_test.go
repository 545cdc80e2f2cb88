package slack_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"firebreak/incidents"
	slack "firebreak/notify/slack"
	"firebreak/store"
	"firebreak/store/storetest"
)

// The retention clean-up deletes thread replies posted or given up before the cutoff and
// display names fetched before it; replies still to post stay whatever their age.
func TestRetentionDeletesPostedRepliesAndStaleUserNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cutoff := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
		old, recent := cutoff.Add(-time.Hour), cutoff.Add(time.Hour)
		inc, err := incidents.NewManager(db, func() time.Time { return old }).Declare(ctx, "carol",
			incidents.DeclareInput{Title: "Checkout is down", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []struct {
			text    string
			at      time.Time
			ts      any
			skipped bool
		}{
			{"old posted", old, "1.000001", false},
			{"old given up", old, nil, true},
			{"old still to post", old, nil, false},
			{"recent posted", recent, "1.000002", false},
		} {
			_, err := db.W.ExecContext(ctx, db.W.Rebind(`INSERT INTO slack_replies (incident_id, kind, text, created_at, ts, skipped)
				VALUES (?, 'note', ?, ?, ?, ?)`), inc.ID, r.text, r.at, r.ts, r.skipped)
			if err != nil {
				t.Fatal(err)
			}
		}
		for user, at := range map[string]time.Time{"U0OLD0001": old, "U0RECENT1": recent} {
			if _, err := db.W.ExecContext(ctx, db.W.Rebind(`INSERT INTO slack_users (user_id, display_name, fetched_at) VALUES (?, ?, ?)`),
				user, user, at); err != nil {
				t.Fatal(err)
			}
		}

		var removed slack.Removed
		err = db.InTx(ctx, func(q store.Querier) error {
			removed, err = slack.DeleteOldTx(ctx, q, cutoff, 100)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if removed != (slack.Removed{Replies: 2, Users: 1}) {
			t.Errorf("removed %+v, want 2 replies and 1 user", removed)
		}
		var replies, users []string
		if err := db.R.SelectContext(ctx, &replies, `SELECT text FROM slack_replies ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		if err := db.R.SelectContext(ctx, &users, `SELECT user_id FROM slack_users`); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(replies, []string{"old still to post", "recent posted"}) || !slices.Equal(users, []string{"U0RECENT1"}) {
			t.Errorf("kept replies %q and users %q", replies, users)
		}
	})
}
