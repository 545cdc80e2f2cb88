package slack

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"firebreak/incidents"
	"firebreak/postmortem"
	"firebreak/store"
)

// Kinds of the reminder replies (slack_replies.kind).
const (
	replyAckReminder   = "ack_reminder"
	replyPostmortemDue = "postmortem_due"
)

// remindersPerRun bounds the incidents one run reminds about, so a backlog (Slack turned on
// over a database of old drafts, or the scheduler down for days) goes out over a few runs
// instead of as one burst that Slack's rate limits would stretch out anyway.
const remindersPerRun = 50

// RemindUnacknowledgedTx queues, in the scheduler's transaction, a reply in the thread of
// every incident nobody has acknowledged for every (incidents.ack_reminder) — "Nobody has
// acknowledged this sev1 incident for 15 minutes" — and again after each further every. It
// returns the incidents it reminded about. Reminders are recorded with the replies, so a
// tick run twice, or by two replicas one after the other, reminds once.
func (s *Service) RemindUnacknowledgedTx(ctx context.Context, q store.Querier, at time.Time, every time.Duration) ([]int64, error) {
	due, err := s.deps.Incidents.UnacknowledgedTx(ctx, q, at.Add(-every), remindersPerRun)
	if err != nil {
		return nil, err
	}
	var reminded []int64
	for _, inc := range due {
		body := fmt.Sprintf(":alarm_clock: Nobody has acknowledged this %s incident for %s. Acknowledge it with the button above or `/incident ack %d`.",
			inc.Severity, spoken(at.Sub(inc.OpenedAt)), inc.ID)
		if err := s.queueReply(ctx, q, inc.ID, targetThread, replyAckReminder, body, at); err != nil {
			return nil, err
		}
		if err := s.deps.Incidents.MarkRemindedTx(ctx, q, inc.ID, incidents.ReminderAck, at); err != nil {
			return nil, err
		}
		reminded = append(reminded, inc.ID)
	}
	return reminded, nil
}

// RemindPostmortemsTx queues, in the scheduler's transaction, a reminder about every sev1
// and sev2 postmortem still a draft dueAfter (postmortem.due_after) after its incident
// resolved, and again after each further dueAfter: a reply in the incident's thread, and in
// its own channel when it has one not archived, with the postmortem's link. An incident
// Firebreak never posted to Slack (it predates the Slack section) has no thread to remind
// in: it is only recorded as reminded. It returns the incidents it reminded about.
func (s *Service) RemindPostmortemsTx(ctx context.Context, q store.Querier, at time.Time, dueAfter time.Duration) ([]int64, error) {
	due, err := postmortem.DueTx(ctx, q, at.Add(-dueAfter), remindersPerRun)
	if err != nil {
		return nil, err
	}
	var reminded []int64
	for _, d := range due {
		if err := s.remindPostmortem(ctx, q, d, at); err != nil {
			return nil, err
		}
		if err := s.deps.Incidents.MarkRemindedTx(ctx, q, d.IncidentID, incidents.ReminderPostmortemDue, at); err != nil {
			return nil, err
		}
		reminded = append(reminded, d.IncidentID)
	}
	return reminded, nil
}

func (s *Service) remindPostmortem(ctx context.Context, q store.Querier, d postmortem.Due, at time.Time) error {
	main, err := getMessage(ctx, q, d.IncidentID, roleService)
	if err != nil {
		return err
	}
	if main == nil {
		s.log.Debug("slack: a postmortem is due but its incident was never posted to Slack; no reminder", "incident", d.IncidentID)
		return nil
	}
	link := s.cfg.PublicURL + "/incidents/" + strconv.FormatInt(d.IncidentID, 10) + "/postmortem"
	body := fmt.Sprintf(":spiral_note_pad: The postmortem of this %s incident is still a draft %s after it was resolved. Write it up and publish it: <%s>",
		d.Severity, spoken(at.Sub(d.ResolvedAt)), link)
	if err := s.queueReply(ctx, q, d.IncidentID, targetThread, replyPostmortemDue, body, at); err != nil {
		return err
	}
	c, err := getIncidentChannel(ctx, q, d.IncidentID)
	if err != nil || !c.created() || c.archiving() {
		return err
	}
	return s.queueReply(ctx, q, d.IncidentID, targetIncidentChannel, replyPostmortemDue, body, at)
}

// queueReply queues a reply and the job that posts it, in the caller's transaction.
func (s *Service) queueReply(ctx context.Context, q store.Querier, incidentID int64, target, kind, body string, at time.Time) error {
	if err := insertReplyTo(ctx, q, incidentID, target, kind, body, at); err != nil {
		return err
	}
	_, err := s.deps.Outbox.EnqueueCoalescedTx(ctx, q, JobKind, job{IncidentID: incidentID}, coalesceKey(incidentID))
	return err
}

// spoken writes a duration as people say it, in at most two units, rounded down: "15
// minutes", "1 hour 5 minutes", "5 days", "2 days 3 hours".
func spoken(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute"
	}
	units := []struct {
		name string
		size time.Duration
	}{{"day", 24 * time.Hour}, {"hour", time.Hour}, {"minute", time.Minute}}
	for i, u := range units {
		n := int64(d / u.size)
		if n == 0 && i < len(units)-1 {
			continue
		}
		out := plural(n, u.name)
		if i+1 < len(units) {
			if rest := int64(d % u.size / units[i+1].size); rest > 0 {
				out += " " + plural(rest, units[i+1].name)
			}
		}
		return out
	}
	return ""
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}
