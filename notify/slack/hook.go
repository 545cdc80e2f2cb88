package slack

import (
	"context"
	"strconv"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/text"
)

// job is the payload of a JobKind job: which incident to bring up to date in Slack.
type job struct {
	IncidentID int64 `json:"incident_id"`
}

// coalesceKey keeps one delivery job per incident: only the newest is delivered, one at a
// time and in order.
func coalesceKey(incidentID int64) string { return "incident:" + strconv.FormatInt(incidentID, 10) }

// silent are the timeline events Slack learns of only through the message: alerts joining
// or resolving are counted in it, never replied one by one, so a storm cannot flood the
// thread; the incident's opening is the message itself.
var silent = map[incidents.EventKind]bool{
	incidents.KindAlertFiring:   true,
	incidents.KindAlertResolved: true,
	// A storm's later alerts are summed up on the timeline; the message counts them.
	incidents.KindAlertsFiredSummary:    true,
	incidents.KindAlertsResolvedSummary: true,
	// Said once on the timeline; the message itself shows the incident has no suspect.
	deploys.KindNoDeployRecorded: true,
	incidents.KindOpened:         true,
	incidents.KindDeclared:       true,
}

// OnIncidentChanges is an incidents batch hook, run inside the transaction of every timeline
// event, or once for the events recorded together (an alert storm's lines). It queues the
// thread reply each event deserves, if any, in order, and one job per incident that brings
// its messages up to date: they commit with the change, or nothing does. One job is enough:
// the job renders the incident as it stands when delivered, and a coalesced enqueue would
// supersede the one before anyway (two statements a line, for twenty lines an incident).
func (s *Service) OnIncidentChanges(ctx context.Context, q store.Querier, recs []incidents.Recording) error {
	for _, r := range recs {
		if !silent[r.Event.Kind] {
			if err := insertReply(ctx, q, r.Incident.ID, string(r.Event.Kind), replyText(r.Event), r.Event.At); err != nil {
				return err
			}
		}
	}
	enqueued := make(map[int64]bool, 1)
	for _, r := range recs {
		id := r.Incident.ID
		if enqueued[id] {
			continue
		}
		enqueued[id] = true
		if _, err := s.deps.Outbox.EnqueueCoalescedTx(ctx, q, JobKind, job{IncidentID: id}, coalesceKey(id)); err != nil {
			return err
		}
	}
	return nil
}

// replyIcons start a reply, by what it tells.
var replyIcons = map[incidents.EventKind]string{
	incidents.KindAcknowledged:       ":eyes:",
	incidents.KindRemediationStarted: ":hammer_and_wrench:",
	incidents.KindMitigated:          ":large_green_circle:",
	incidents.KindResolved:           ":white_check_mark:",
	incidents.KindReopened:           ":arrows_counterclockwise:",
	incidents.KindSeverityChanged:    ":arrow_up:",
	incidents.KindAlertsCleared:      ":large_green_circle:",
	alerts.KindStale:                 ":hourglass:",
	deploys.KindDeploySuspected:      ":mag:",
	deploys.KindDeployDuring:         ":package:",
	deploys.KindRollbackRequested:    ":rewind:",
	deploys.KindRollbackSucceeded:    ":rewind:",
	deploys.KindRollbackFailed:       ":x:",
	deploys.KindRollbackUnknown:      ":warning:",
	deploys.KindRollbackCancelled:    ":no_entry_sign:",
}

// replyText is the thread reply for a timeline event, within Slack's limits.
func replyText(ev incidents.Event) string {
	body := cutEscaped(ev.Text, maxReplyText-200)
	switch ev.Kind {
	case incidents.KindNote:
		return ":memo: *" + escape(text.OneLine(ev.Actor, maxUserName)) + "*: " + body
	case incidents.KindStatusUpdate:
		return ":loudspeaker: *Status page update* by " + escape(text.OneLine(ev.Actor, maxUserName)) + ": " + body
	}
	icon := replyIcons[ev.Kind]
	if icon == "" {
		icon = ":small_blue_diamond:"
	}
	return icon + " " + body
}
