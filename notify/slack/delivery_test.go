package slack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"firebreak/incidents"
	slack "firebreak/notify/slack"
	"firebreak/store"
	"firebreak/store/storetest"
)

// Slack down for a while: nothing is lost and nothing is sent twice; once it is back the
// message is posted once and its thread gets every reply, in the order things happened.
func TestSlackDownThenEveryMessageOnceInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		// Alice's name is known before Slack goes away (from her declaring).
		r.command(alice, "C0GENERAL", "declare sev2 Warm-up")
		r.fake.SetDown(true)
		inc := r.declare("Payments failing", incidents.Sev2, "payments")
		id := inc.ID
		for _, cmd := range []string{"ack %d", "note %d first note", "note %d second note", "update %d We are on it.", "resolve %d fixed"} {
			r.command(alice, "C0GENERAL", fmt.Sprintf(cmd, id))
		}
		r.waitFor("Slack to be tried while down", func() bool { return len(r.fake.Calls()) >= 5 })
		r.fake.SetDown(false)

		m := r.message("#incidents", id)
		want := []string{
			":eyes: Acknowledged by Alice.",
			":memo: *Alice*: first note",
			":memo: *Alice*: second note",
			":loudspeaker: *Status page update* by Alice: We are on it.",
			":white_check_mark: Resolved by Alice: fixed",
		}
		r.waitFor("every reply", func() bool { return len(r.threadTexts(m)) >= len(want) })
		if got := r.threadTexts(m); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("thread:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		mine := 0
		for _, x := range r.topMessages("#incidents") {
			if incidentOf(x) == id {
				mine++
			}
		}
		if mine != 1 {
			t.Errorf("%d top-level messages for the incident, want 1", mine)
		}
		r.waitFor("the message to show it resolved", func() bool { return strings.Contains(r.current(m).BlocksText(), "resolved") })
	})
}

// Slack posted the message but its answer was lost: the retry finds the message in the
// channel by its metadata instead of posting a second one.
func TestALostAnswerNeverPostsTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		r.fake.LoseAnswers("chat.postMessage", 1)
		inc := r.declare("Lost answer", incidents.Sev3, "")
		m := r.message("#incidents", inc.ID)
		r.waitFor("the message's ts recorded", func() bool {
			var ts string
			_ = db.R.GetContext(context.Background(), &ts, db.R.Rebind(`SELECT COALESCE(ts, '') FROM slack_messages WHERE incident_id = ?`), inc.ID)
			return ts == m.TS
		})
		if n := len(r.topMessages("#incidents")); n != 1 {
			t.Errorf("%d messages after a lost answer, want 1:\n%s", n, r.callLog())
		}
		if n := len(r.fake.Calls("conversations.history")); n != 1 {
			t.Errorf("%d history reads, want 1", n)
		}
		// Later changes update that one message.
		r.command(alice, "C0GENERAL", fmt.Sprintf("ack %d", inc.ID))
		r.waitFor("the update", func() bool { return strings.Contains(r.current(m).BlocksText(), "responding") })
	})
}

// Without the history scope the lost post cannot be looked for: it is posted again (the log
// says why) rather than never.
func TestALostAnswerInAnUnreadableChannelIsPostedAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		r.fake.LoseAnswers("chat.postMessage", 1)
		r.fake.MissingScope("conversations.history")
		inc := r.declare("Lost answer, no scope", incidents.Sev3, "")
		r.waitFor("the second post", func() bool { return len(r.fake.OKCalls("chat.postMessage")) == 1 })
		if n := len(r.topMessages("#incidents")); n != 2 {
			t.Errorf("%d messages, want the lost one and its repost", n)
		}
		_ = inc
	})
}

// A restart never posts a second message for an incident: the new process updates the
// message the old one posted.
func TestARestartUpdatesTheSameMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		inc := r.declare("Before the restart", incidents.Sev3, "")
		m := r.message("#incidents", inc.ID)
		r.restart()
		r.command(alice, "C0GENERAL", fmt.Sprintf("ack %d", inc.ID))
		// The fake shows a message a moment before it logs the call that posted it: wait for
		// both, then count.
		r.waitFor("the update and the reply after the restart", func() bool {
			return strings.Contains(r.current(m).BlocksText(), "responding") && len(r.threadTexts(m)) == 1 &&
				len(r.fake.OKCalls("chat.postMessage")) >= 2
		})
		if n := len(r.topMessages("#incidents")); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
		if n := len(r.fake.OKCalls("chat.postMessage")); n != 2 {
			t.Errorf("%d posts, want the message and one reply", n)
		}
	})
}

// A channel configured by id is posted to as it is, and a lost answer is looked for in it
// without listing channels.
func TestChannelsConfiguredByID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, func(c *slack.Config) { c.Channel = "C0OPS0001" })
		r.fake.LoseAnswers("chat.postMessage", 1)
		inc := r.declare("By id", incidents.Sev3, "")
		r.message("C0OPS0001", inc.ID)
		r.waitFor("the lost post found", func() bool { return len(r.fake.OKCalls("conversations.history")) == 1 })
		if n := len(r.fake.Calls("conversations.list")); n != 0 {
			t.Errorf("%d conversations.list calls for a channel given by id", n)
		}
		if n := len(r.topMessages("C0OPS0001")); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})
}
