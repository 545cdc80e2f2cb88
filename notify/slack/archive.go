package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
)

// ArchiveJobKind is the outbox kind that archives an incident's own channel.
const ArchiveJobKind = "slack.archive"

// archivesPerRun bounds the channels one run queues for archiving.
const archivesPerRun = 100

// QueueArchivesTx queues, in the scheduler's transaction, the archiving of every incident
// channel whose incident resolved at or before cutoff (now minus
// slack.incident_channels.archive_after), once per channel: the channel is marked queued in
// the same transaction, and the outbox job calls conversations.archive. It returns the
// incidents whose channels it queued.
func (s *Service) QueueArchivesTx(ctx context.Context, q store.Querier, at, cutoff time.Time) ([]int64, error) {
	var ids []int64
	err := q.SelectContext(ctx, &ids, q.Rebind(`SELECT slack_incident_channels.incident_id FROM slack_incident_channels
		JOIN incidents ON incidents.id = slack_incident_channels.incident_id
		WHERE slack_incident_channels.channel_id IS NOT NULL AND slack_incident_channels.archive_queued_at IS NULL
		  AND slack_incident_channels.archived_at IS NULL AND incidents.status = 'resolved' AND incidents.resolved_at <= ?
		ORDER BY slack_incident_channels.incident_id LIMIT ?`), cutoff.UTC(), archivesPerRun)
	if err != nil {
		return nil, fmt.Errorf("list incident channels to archive: %w", err)
	}
	for _, id := range ids {
		if err := markArchiveQueued(ctx, q, id, at); err != nil {
			return nil, err
		}
		if _, _, err := s.deps.Outbox.EnqueueTx(ctx, q, ArchiveJobKind, job{IncidentID: id}, ""); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// archiver delivers ArchiveJobKind jobs.
type archiver struct{ s *Service }

// Handle archives the incident's channel, unless the incident was reopened since the job
// was queued: then the channel stays, and is queued again after the incident next resolves.
// A channel Slack says is archived already counts as archived.
func (a archiver) Handle(ctx context.Context, j outbox.Job) (retry bool, err error) {
	s := a.s
	var p job
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return false, fmt.Errorf("decode %s job %d: %w", ArchiveJobKind, j.ID, err)
	}
	c, err := getIncidentChannel(ctx, s.deps.DB.R, p.IncidentID)
	if err != nil {
		return store.IsUnavailable(err), err
	}
	if !c.created() || c.ArchivedAt.Valid {
		return false, nil
	}
	inc, err := s.deps.Incidents.Get(ctx, p.IncidentID)
	if errors.Is(err, incidents.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return store.IsUnavailable(err), err
	}
	if inc.Open() {
		s.log.Info("slack: not archiving the channel of an incident reopened since", "incident", inc.ID, "channel", c.ChannelID.String)
		return false, unqueueArchive(ctx, s.deps.DB.W, inc.ID)
	}
	channel := c.ChannelID.String
	err = s.call("conversations.archive", channel, func() error { return s.api.ArchiveConversationContext(ctx, channel) })
	if apiError(err) == "already_archived" {
		err = nil
	}
	if err != nil {
		if !retryable(err) {
			s.log.Error("slack: Slack refused to archive an incident channel; it stays open", "incident", inc.ID, "channel", channel, "err", err)
		}
		return retryable(err), fmt.Errorf("archive the channel of incident %d: %w", inc.ID, err)
	}
	s.log.Info("slack: archived an incident channel", "incident", inc.ID, "channel", channel)
	return false, markArchived(ctx, s.deps.DB.W, inc.ID, s.now())
}

// incidentChannelSummary is the summary message pinned in the incident's own channel, when
// the channel takes messages: created, summary posted, and not archived or about to be.
// nil otherwise.
func (s *Service) incidentChannelSummary(ctx context.Context, incidentID int64) (*message, error) {
	c, err := getIncidentChannel(ctx, s.deps.DB.R, incidentID)
	if err != nil || !c.created() || c.archiving() {
		return nil, err
	}
	m, err := getMessage(ctx, s.deps.DB.R, incidentID, roleIncidentChannel)
	if err != nil || !m.posted() {
		return nil, err
	}
	return m, nil
}

func markArchiveQueued(ctx context.Context, q store.Querier, incidentID int64, at time.Time) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_incident_channels SET archive_queued_at = ? WHERE incident_id = ?`), at.UTC(), incidentID)
	if err != nil {
		return fmt.Errorf("queue the archiving of the channel of incident %d: %w", incidentID, err)
	}
	return nil
}

func unqueueArchive(ctx context.Context, q store.Querier, incidentID int64) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_incident_channels SET archive_queued_at = NULL WHERE incident_id = ?`), incidentID)
	if err != nil {
		return fmt.Errorf("unqueue the archiving of the channel of incident %d: %w", incidentID, err)
	}
	return nil
}

func markArchived(ctx context.Context, q store.Querier, incidentID int64, at time.Time) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_incident_channels SET archived_at = ? WHERE incident_id = ?`), at.UTC(), incidentID)
	if err != nil {
		return fmt.Errorf("record the channel of incident %d as archived: %w", incidentID, err)
	}
	return nil
}
