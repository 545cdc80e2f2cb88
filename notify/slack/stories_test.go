package slack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"firebreak/deploys"
	"firebreak/incidents"
	slack "firebreak/notify/slack"
	"firebreak/notify/slack/slackfake"
	"firebreak/store"
	"firebreak/store/storetest"
)

// A new incident posts one message with its buttons; /incident ack updates that message in
// place and replies in its thread, naming the person by display name.
func TestAckUpdatesTheMessageAndRepliesInItsThread(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		inc := r.declare("Checkout is down", incidents.Sev2, "checkout")
		m := r.message("#checkout", inc.ID)
		if got := buttonIDs(m); got != "firebreak_ack firebreak_resolve" {
			t.Errorf("buttons of an observing incident without suspects: %q", got)
		}
		for _, want := range []string{fmt.Sprintf("#%d Checkout is down", inc.ID), "sev2", "observing", "checkout", "production",
			"Alerts: 0 firing, 0 resolved", fmt.Sprintf("https://firebreak.example/incidents/%d", inc.ID)} {
			if !strings.Contains(m.BlocksText(), want) {
				t.Errorf("the message does not show %q:\n%s", want, m.BlocksText())
			}
		}

		reply := r.command(alice, "C0GENERAL", fmt.Sprintf("ack %d", inc.ID))
		if reply.ResponseType != slackapi.ResponseTypeInChannel || !strings.Contains(reply.Text, "acknowledged by Alice") {
			t.Errorf("answer to ack: %+v", reply)
		}
		r.waitFor("the message updated and a thread reply", func() bool {
			return r.current(m).Updates > 0 && len(r.threadTexts(m)) == 1
		})
		now := r.current(m)
		if got := buttonIDs(now); got != "firebreak_resolve" {
			t.Errorf("buttons of a responding incident: %q", got)
		}
		if !strings.Contains(now.BlocksText(), "responding") {
			t.Errorf("the updated message does not say responding:\n%s", now.BlocksText())
		}
		if got := r.threadTexts(m); got[0] != ":eyes: Acknowledged by Alice." {
			t.Errorf("thread reply: %q", got)
		}
		if n := len(r.topMessages("#checkout")); n != 1 {
			t.Errorf("%d top-level messages, want 1", n)
		}
		timeline, _ := r.incidents.Timeline(context.Background(), inc.ID)
		if last := timeline[len(timeline)-1]; last.Actor != "Alice" || last.Kind != incidents.KindAcknowledged {
			t.Errorf("timeline ends with %+v, want Alice acknowledging", last)
		}
	})
}

// Pressing Resolve (replaying the button's action_id and value from the posted blocks)
// resolves the incident once; pressing it again, or Acknowledge on the stale message,
// answers with what happened instead of an error.
func TestPressingResolveTwiceResolvesOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		inc := r.declare("Search is slow", incidents.Sev3, "search")
		m := r.message("#incidents", inc.ID)
		if b, _ := m.Button(slack.ActionResolve); b.Value != fmt.Sprint(inc.ID) || b.Confirm == "" {
			t.Errorf("Resolve button %+v: want the incident id as value and a confirmation", b)
		}
		if answer, _ := r.press(bob, m, slack.ActionResolve); answer != nil {
			t.Errorf("a button's HTTP answer: %+v, want empty", answer)
		}
		got, err := r.incidents.Get(context.Background(), inc.ID)
		if err != nil || got.Status != incidents.Resolved {
			t.Fatalf("after Resolve: %+v %v", got, err)
		}
		r.waitFor("the message without buttons and the reply", func() bool {
			return len(r.current(m).Buttons()) == 0 && len(r.threadTexts(m)) == 1
		})
		if got := r.threadTexts(m)[0]; got != ":white_check_mark: Resolved by Bob Builder." {
			t.Errorf("reply %q: Bob has no display name, so his real name", got)
		}

		_, again := r.press(bob, m, slack.ActionResolve)
		_, ack := r.press(alice, m, slack.ActionAcknowledge)
		r.waitFor("answers to the stale buttons", func() bool { return len(r.responses(again)) == 1 && len(r.responses(ack)) == 1 })
		for _, url := range []string{again, ack} {
			if got := r.responses(url)[0]; !strings.Contains(got, fmt.Sprintf("Incident #%d is resolved: it was already resolved by Bob Builder at <!date^", inc.ID)) {
				t.Errorf("answer to a stale button: %q", got)
			}
		}
		timeline, _ := r.incidents.Timeline(context.Background(), inc.ID)
		resolved := 0
		for _, ev := range timeline {
			if ev.Kind == incidents.KindResolved {
				resolved++
			}
		}
		if resolved != 1 {
			t.Errorf("%d resolved events, want 1", resolved)
		}
	})
}

// An incident with a suspected deploy of a service with a rollback hook gets a Roll back
// button whose confirmation names the deploy; the suspect is in the message, not repeated
// in the thread; pressing it requests the rollback once.
func TestRollbackButtonNamesTheSuspectAndRequestsOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		finished := time.Now().Add(-2 * time.Minute)
		d, err := r.tracker.Record(context.Background(), deploys.Input{Service: "checkout", Environment: "production", Version: "1.4.2",
			PreviousVersion: "1.4.1", Author: "erin", Commit: "abc123def4567890", FinishedAt: &finished})
		if err != nil {
			t.Fatal(err)
		}
		inc := r.declare("Checkout errors", incidents.Sev2, "checkout")
		m := r.message("#checkout", inc.ID)
		b, ok := m.Button(slack.ActionRollback)
		if !ok || b.Value != fmt.Sprintf("%d:%d", inc.ID, d.ID) || !strings.Contains(b.Confirm, "Roll checkout 1.4.2 (production) back to 1.4.1?") {
			t.Fatalf("Roll back button %+v", b)
		}
		for _, want := range []string{"Suspected deploys", "checkout 1.4.2 (production): deployed 2 min before impact started", "by erin", "abc123def456"} {
			if !strings.Contains(m.BlocksText(), want) {
				t.Errorf("the message does not show %q:\n%s", want, m.BlocksText())
			}
		}
		r.press(alice, m, slack.ActionRollback)
		r.waitFor("the rollback reply", func() bool {
			for _, txt := range r.threadTexts(m) {
				if strings.Contains(txt, "Rollback of checkout 1.4.2 (production) to 1.4.1 requested by Alice") {
					return true
				}
			}
			return false
		})
		for _, txt := range r.threadTexts(m) {
			if strings.Contains(txt, "Suspected deploy") {
				t.Errorf("the suspect shown in the message was replied too: %q", txt)
			}
		}
		_, again := r.press(alice, m, slack.ActionRollback)
		r.waitFor("the answer to a second press", func() bool { return len(r.responses(again)) == 1 })
		if got := r.responses(again)[0]; !strings.Contains(got, "already requested") {
			t.Errorf("second press: %q", got)
		}
		rbs, _ := deploysRollbacks(t, db, inc.ID)
		if rbs != 1 {
			t.Errorf("%d rollbacks recorded, want 1", rbs)
		}
	})
}

func deploysRollbacks(t *testing.T, db *store.DB, incidentID int64) (int, error) {
	var n int
	err := db.R.GetContext(context.Background(), &n, db.R.Rebind(`SELECT COUNT(*) FROM rollbacks WHERE incident_id = ?`), incidentID)
	return n, err
}

// Slack answering 429 with Retry-After: the post is tried again no sooner than Slack said,
// and the message arrives once.
func TestRateLimitIsWaitedOutThenDelivered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		r.fake.Fail("chat.postMessage", 1, 429, 1)
		inc := r.declare("Rate limited", incidents.Sev3, "")
		r.message("#incidents", inc.ID)
		calls := r.fake.Calls("chat.postMessage")
		if len(calls) != 2 || calls[0].Status != 429 || !calls[1].OK {
			t.Fatalf("chat.postMessage calls: %v", calls)
		}
		if gap := calls[1].At.Sub(calls[0].At); gap < time.Second {
			t.Errorf("retried %s after a 429 with Retry-After: 1", gap)
		}
		if n := len(r.topMessages("#incidents")); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})
}

// buttonIDs lists a message's buttons by action id.
func buttonIDs(m slackfake.Message) string {
	var ids []string
	for _, b := range m.Buttons() {
		ids = append(ids, b.ActionID)
	}
	return strings.Join(ids, " ")
}
