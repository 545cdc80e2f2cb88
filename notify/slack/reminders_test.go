package slack_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"firebreak/incidents"
	slack "firebreak/notify/slack"
	"firebreak/postmortem"
	"firebreak/store"
	"firebreak/store/storetest"
)

const (
	ackEvery = 15 * time.Minute
	dueAfter = 120 * time.Hour
)

// inTx runs fn as the scheduler runs a job: in one transaction.
func (r *rig) inTx(fn func(ctx context.Context, q store.Querier) error) {
	r.t.Helper()
	ctx := context.Background()
	if err := r.db.InTx(ctx, func(q store.Querier) error { return fn(ctx, q) }); err != nil {
		r.t.Fatal(err)
	}
}

// remindAck runs the ack reminder job's work at at and returns the incidents it reminded.
func (r *rig) remindAck(at time.Time) []int64 {
	r.t.Helper()
	var ids []int64
	r.inTx(func(ctx context.Context, q store.Querier) (err error) {
		ids, err = r.svc.RemindUnacknowledgedTx(ctx, q, at, ackEvery)
		return err
	})
	return ids
}

// remindPostmortems runs the postmortem reminder job's work at at.
func (r *rig) remindPostmortems(at time.Time) []int64 {
	r.t.Helper()
	var ids []int64
	r.inTx(func(ctx context.Context, q store.Querier) (err error) {
		ids, err = r.svc.RemindPostmortemsTx(ctx, q, at, dueAfter)
		return err
	})
	return ids
}

// stored re-reads an incident as the database has it.
func (r *rig) stored(id int64) incidents.Incident {
	r.t.Helper()
	inc, err := r.incidents.Get(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return inc
}

func (r *rig) transition(id int64, action incidents.Action) {
	r.t.Helper()
	if _, err := r.incidents.Transition(context.Background(), id, action, "Carol", ""); err != nil {
		r.t.Fatalf("%s incident %d: %v", action, id, err)
	}
}

// An incident nobody acknowledges gets a reply in its thread once it has been observed for
// incidents.ack_reminder, and one more after each further period, until someone
// acknowledges it. A tick run twice reminds once.
func TestAckRemindersRepeatUntilSomeoneAcknowledges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		inc := r.declare("Checkout is down", incidents.Sev1, "checkout")
		other := r.declare("Search is slow", incidents.Sev3, "search")
		m := r.message("#checkout", inc.ID)
		r.transition(other.ID, incidents.Acknowledge)
		opened := r.stored(inc.ID).OpenedAt

		if got := r.remindAck(opened.Add(ackEvery - time.Second)); len(got) != 0 {
			t.Fatalf("before 15 minutes: reminded %v", got)
		}
		if got := r.remindAck(opened.Add(ackEvery)); !slices.Equal(got, []int64{inc.ID}) {
			t.Fatalf("at 15 minutes: reminded %v, want %d (not the acknowledged %d)", got, inc.ID, other.ID)
		}
		if got := r.remindAck(opened.Add(ackEvery)); len(got) != 0 {
			t.Errorf("the same tick again reminded %v", got)
		}
		r.waitFor("the reminder", func() bool { return len(r.threadTexts(m)) == 1 })
		want := fmt.Sprintf(":alarm_clock: Nobody has acknowledged this sev1 incident for 15 minutes. "+
			"Acknowledge it with the button above or `/incident ack %d`.", inc.ID)
		if got := r.threadTexts(m)[0]; got != want {
			t.Errorf("reminder %q, want %q", got, want)
		}

		if got := r.remindAck(opened.Add(2*ackEvery - time.Second)); len(got) != 0 {
			t.Errorf("before the next period: reminded %v", got)
		}
		if got := r.remindAck(opened.Add(2*ackEvery + 10*time.Second)); !slices.Equal(got, []int64{inc.ID}) {
			t.Fatalf("at 30 minutes: reminded %v", got)
		}
		r.waitFor("the second reminder", func() bool { return len(r.threadTexts(m)) == 2 })
		if got := r.threadTexts(m)[1]; !strings.Contains(got, "for 30 minutes.") {
			t.Errorf("second reminder %q, want it to say 30 minutes", got)
		}

		r.command(alice, "C0GENERAL", fmt.Sprintf("ack %d", inc.ID))
		if got := r.remindAck(opened.Add(10 * ackEvery)); len(got) != 0 {
			t.Errorf("after the acknowledgement: reminded %v", got)
		}
		r.waitFor("the acknowledgement's reply", func() bool { return len(r.threadTexts(m)) == 3 })
		if got := r.threadTexts(m)[2]; got != ":eyes: Acknowledged by Alice." {
			t.Errorf("last reply %q", got)
		}
	})
}

// A sev1 or sev2 postmortem still a draft due_after after the incident resolved is
// reminded in the incident's thread and, sent to the channel, in its own channel, with the
// postmortem's link; again after each further due_after; never once published. An incident
// never posted to Slack gets no reminder.
func TestPostmortemRemindersGoToTheThreadAndTheIncidentChannel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, func(c *slack.Config) {
			c.IncidentChannels = &slack.IncidentChannels{MinSeverity: incidents.Sev2, Prefix: "inc-"}
		})
		ctx := context.Background()
		inc := r.declare("Checkout is down", incidents.Sev1, "checkout")
		m := r.message("#checkout", inc.ID)
		name := fmt.Sprintf("inc-%d-checkout-is-down", inc.ID)
		r.waitFor("the incident channel", func() bool { return r.fake.ChannelID(name) != "" })
		ch := r.fake.ChannelID(name)
		summary := r.message(ch, inc.ID)
		r.transition(inc.ID, incidents.Resolve)
		unposted := r.declare("Cart errors", incidents.Sev2, "cart")
		um := r.message("#incidents", unposted.ID)
		r.transition(unposted.ID, incidents.Resolve)
		r.waitFor("the resolutions replied", func() bool { return len(r.threadTexts(m)) == 1 && len(r.threadTexts(um)) == 1 })
		r.waitFor("every delivery done", func() bool { return pendingJobs(t, db) == 0 })
		r.inTx(func(ctx context.Context, q store.Querier) error {
			// As if it had been resolved before Slack was configured.
			_, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM slack_messages WHERE incident_id = ?`), unposted.ID)
			return err
		})
		resolved := *r.stored(inc.ID).ResolvedAt
		if later := *r.stored(unposted.ID).ResolvedAt; later.After(resolved) {
			resolved = later
		}

		if got := r.remindPostmortems(resolved.Add(dueAfter - time.Second)); len(got) != 0 {
			t.Fatalf("before due: reminded %v", got)
		}
		if got := r.remindPostmortems(resolved.Add(dueAfter)); !slices.Equal(got, []int64{inc.ID, unposted.ID}) {
			t.Fatalf("when due: reminded %v, want %d and %d", got, inc.ID, unposted.ID)
		}
		if got := r.remindPostmortems(resolved.Add(dueAfter)); len(got) != 0 {
			t.Errorf("the same tick again reminded %v", got)
		}
		want := fmt.Sprintf(":spiral_note_pad: The postmortem of this sev1 incident is still a draft 5 days after it was resolved. "+
			"Write it up and publish it: <https://firebreak.example/incidents/%d/postmortem>", inc.ID)
		r.waitFor("the reminders", func() bool { return len(r.threadTexts(m)) == 2 && len(r.fake.Thread(ch, summary.TS)) == 1 })
		if got := r.threadTexts(m)[1]; got != want {
			t.Errorf("thread reminder %q, want %q", got, want)
		}
		if got := r.fake.Thread(ch, summary.TS)[0]; got.Text != want || !got.Broadcast {
			t.Errorf("incident channel reminder %q (sent to the channel: %v), want %q sent to the channel", got.Text, got.Broadcast, want)
		}
		if n := countReplies(t, db, unposted.ID, "thread") + countReplies(t, db, unposted.ID, "incident_channel"); n != 1 {
			t.Errorf("%d replies for the incident Slack does not know of, want only its resolution", n)
		}

		if got := r.remindPostmortems(resolved.Add(2*dueAfter - time.Second)); len(got) != 0 {
			t.Errorf("before the next period: reminded %v", got)
		}
		if got := r.remindPostmortems(resolved.Add(2 * dueAfter)); !slices.Equal(got, []int64{inc.ID, unposted.ID}) {
			t.Errorf("a period later: reminded %v", got)
		}
		r.waitFor("the second reminder", func() bool { return len(r.threadTexts(m)) == 3 })
		if got := r.threadTexts(m)[2]; !strings.Contains(got, "still a draft 10 days after it was resolved") {
			t.Errorf("second reminder %q", got)
		}
		pm := postmortem.New(db, r.incidents, r.tracker, nil)
		if _, err := pm.Publish(ctx, inc.ID, "Carol"); err != nil {
			t.Fatal(err)
		}
		if got := r.remindPostmortems(resolved.Add(10 * dueAfter)); !slices.Equal(got, []int64{unposted.ID}) {
			t.Errorf("after publishing %d: reminded %v", inc.ID, got)
		}
	})
}

// An incident's own channel is archived archive_after after the incident resolved, once;
// the channel of an incident still open is not, and one reopened between the queueing and
// the archiving is left open and queued again after it resolves again. Reminders no longer
// go to an archived channel.
func TestIncidentChannelsAreArchivedOnceAfterResolution(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, func(c *slack.Config) {
			c.IncidentChannels = &slack.IncidentChannels{MinSeverity: incidents.Sev2, Prefix: "inc-"}
		})
		const after = 168 * time.Hour
		queue := func(at time.Time) []int64 {
			var ids []int64
			r.inTx(func(ctx context.Context, q store.Querier) (err error) {
				ids, err = r.svc.QueueArchivesTx(ctx, q, at, at.Add(-after))
				return err
			})
			return ids
		}
		channelOf := func(inc incidents.Incident) string {
			var id string
			r.waitFor("the incident channel", func() bool {
				id = r.fake.ChannelID(fmt.Sprintf("inc-%d-%s", inc.ID, strings.ToLower(strings.ReplaceAll(inc.Title, " ", "-"))))
				return id != "" && len(r.fake.Messages(id)) > 0
			})
			return id
		}
		done := r.declare("Checkout down", incidents.Sev1, "checkout")
		open := r.declare("Search down", incidents.Sev1, "search")
		doneCh, openCh := channelOf(done), channelOf(open)
		r.transition(done.ID, incidents.Resolve)
		resolved := *r.stored(done.ID).ResolvedAt

		if got := queue(resolved.Add(after - time.Second)); len(got) != 0 {
			t.Fatalf("before a week: queued %v", got)
		}
		if got := queue(resolved.Add(after)); !slices.Equal(got, []int64{done.ID}) {
			t.Fatalf("a week on: queued %v, want only the resolved %d", got, done.ID)
		}
		r.waitFor("the channel archived", func() bool { return r.fake.Archived(doneCh) })
		if got := queue(resolved.Add(3 * after)); len(got) != 0 {
			t.Errorf("later: queued %v again", got)
		}
		r.waitFor("the archiving recorded", func() bool { return archivedAt(t, db, done.ID) })
		if n := len(r.fake.OKCalls("conversations.archive")); n != 1 || r.fake.Archived(openCh) {
			t.Errorf("%d archive calls (the open incident's channel archived: %v), want 1", n, r.fake.Archived(openCh))
		}

		// Reminded after the archiving: the thread only.
		m := r.message("#checkout", done.ID)
		r.inTx(func(ctx context.Context, q store.Querier) error {
			_, err := r.svc.RemindPostmortemsTx(ctx, q, resolved.Add(2*after), dueAfter)
			return err
		})
		r.waitFor("the reminder in the thread", func() bool {
			return slices.ContainsFunc(r.threadTexts(m), func(s string) bool { return strings.Contains(s, "The postmortem of this sev1") })
		})
		if n := countReplies(t, db, done.ID, "incident_channel"); n != 0 {
			t.Errorf("%d replies queued for the archived channel", n)
		}

		// Reopened after the archiving was queued, before it was done: the channel stays.
		r.transition(open.ID, incidents.Resolve)
		reopenedAt := *r.stored(open.ID).ResolvedAt
		r.stop()
		if got := queue(reopenedAt.Add(after)); !slices.Equal(got, []int64{open.ID}) {
			t.Fatalf("queued %v, want %d", got, open.ID)
		}
		r.transition(open.ID, incidents.Reopen)
		r.start()
		r.waitFor("the archive job done", func() bool { return archiveJobsDone(t, db) == 2 })
		if r.fake.Archived(openCh) {
			t.Fatal("the channel of a reopened incident was archived")
		}
		r.transition(open.ID, incidents.Resolve)
		again := *r.stored(open.ID).ResolvedAt
		if got := queue(again.Add(after)); !slices.Equal(got, []int64{open.ID}) {
			t.Fatalf("after resolving again: queued %v, want %d", got, open.ID)
		}
		r.waitFor("the channel archived", func() bool { return r.fake.Archived(openCh) })
	})
}

func archivedAt(t *testing.T, db *store.DB, incidentID int64) bool {
	t.Helper()
	var n int
	err := db.R.GetContext(context.Background(), &n, db.R.Rebind(`SELECT COUNT(*) FROM slack_incident_channels
		WHERE incident_id = ? AND archived_at IS NOT NULL`), incidentID)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func archiveJobsDone(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	err := db.R.GetContext(context.Background(), &n, db.R.Rebind(`SELECT COUNT(*) FROM outbox_jobs WHERE kind = ? AND status = 'done'`),
		slack.ArchiveJobKind)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pendingJobs counts the outbox jobs still to deliver.
func pendingJobs(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.R.GetContext(context.Background(), &n, `SELECT COUNT(*) FROM outbox_jobs WHERE status = 'pending'`); err != nil {
		t.Fatal(err)
	}
	return n
}

func countReplies(t *testing.T, db *store.DB, incidentID int64, target string) int {
	t.Helper()
	var n int
	err := db.R.GetContext(context.Background(), &n, db.R.Rebind(`SELECT COUNT(*) FROM slack_replies WHERE incident_id = ? AND target = ?`),
		incidentID, target)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
