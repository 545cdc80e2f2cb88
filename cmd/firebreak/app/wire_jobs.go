package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	slacknotify "firebreak/notify/slack"
	"firebreak/scheduler"
	"firebreak/store"
)

// The jobs that follow incidents, alerts and Slack. Every spec starts at second 0, so the
// replicas' ticks fall together and one of them does each tick's work (scheduler.Job).
const (
	// StaleAlertsJob tells on the timeline which firing alerts Alertmanager stopped sending
	// (alerts.stale_after). Every 5 minutes: a day's threshold needs no finer step.
	StaleAlertsJob  = "stale-alerts"
	staleAlertsSpec = "0 */5 * * * *"
	// staleAlertsBatch bounds the alerts one run marks, as retentionBatch bounds deletes.
	staleAlertsBatch = 5000

	// AckReminderJob reminds in Slack about incidents nobody acknowledged
	// (incidents.ack_reminder). Every minute, so a 15-minute reminder comes at most a
	// minute late.
	AckReminderJob  = "ack-reminders"
	ackReminderSpec = "0 * * * * *"

	// PostmortemReminderJob reminds in Slack about sev1 and sev2 postmortems still drafts
	// (postmortem.due_after).
	PostmortemReminderJob  = "postmortem-reminders"
	postmortemReminderSpec = "0 */10 * * * *"

	// ChannelArchiveJob archives incident channels (slack.incident_channels.archive_after).
	ChannelArchiveJob  = "slack-channel-archive"
	channelArchiveSpec = "0 */10 * * * *"
)

// wireJobs adds the jobs of the sections the config turns on: stale alerts always, the
// Slack reminders with a slack section, archiving with slack.incident_channels.
func wireJobs(a *App) error {
	cfg, log := a.Config, a.log
	staleAfter := time.Duration(cfg.Alerts.StaleAfter)
	jobs := []scheduler.Job{{Name: StaleAlertsJob, Spec: staleAlertsSpec, Run: func(ctx context.Context, q store.Querier, at time.Time) error {
		rep, err := a.Alerts.MarkStaleTx(ctx, q, at, staleAfter, staleAlertsBatch)
		if err == nil && rep.Alerts > 0 {
			log.Info("stale alerts: firing alerts Alertmanager stopped sending", "alerts", rep.Alerts, "told_on_incidents", rep.Incidents,
				"not_sent_for", staleAfter)
		}
		return err
	}}}
	if svc := a.Slack; svc != nil {
		every, due := time.Duration(cfg.Incidents.AckReminder), time.Duration(cfg.Postmortem.DueAfter)
		jobs = append(jobs, scheduler.Job{Name: AckReminderJob, Spec: ackReminderSpec, Run: func(ctx context.Context, q store.Querier, at time.Time) error {
			ids, err := svc.RemindUnacknowledgedTx(ctx, q, at, every)
			if err == nil && len(ids) > 0 {
				log.Info("slack: reminded about incidents nobody acknowledged", "incidents", ids, "every", every)
			}
			return err
		}}, scheduler.Job{Name: PostmortemReminderJob, Spec: postmortemReminderSpec, Run: func(ctx context.Context, q store.Querier, at time.Time) error {
			ids, err := svc.RemindPostmortemsTx(ctx, q, at, due)
			if err == nil && len(ids) > 0 {
				log.Info("slack: reminded about postmortems still drafts", "incidents", ids, "due_after", due)
			}
			return err
		}})
		if ic := cfg.Slack.IncidentChannels; ic != nil {
			after := time.Duration(ic.ArchiveAfter)
			jobs = append(jobs, scheduler.Job{Name: ChannelArchiveJob, Spec: channelArchiveSpec, Run: func(ctx context.Context, q store.Querier, at time.Time) error {
				ids, err := svc.QueueArchivesTx(ctx, q, at, at.Add(-after))
				if err == nil && len(ids) > 0 {
					log.Info("slack: archiving the channels of incidents resolved long enough ago", "incidents", ids, "archive_after", after)
				}
				return err
			}})
		}
	}
	for _, j := range jobs {
		if err := a.Scheduler.Add(j); err != nil {
			return fmt.Errorf("schedule %s: %w", j.Name, err)
		}
	}
	return nil
}

// cleanUpSlack is the Slack part of the retention clean-up: posted thread replies and cached
// display names older than cutoff. It runs with or without a slack section, so turning
// Slack off leaves nothing behind.
func cleanUpSlack(ctx context.Context, q store.Querier, cutoff time.Time, log *slog.Logger) error {
	removed, err := slacknotify.DeleteOldTx(ctx, q, cutoff, retentionBatch)
	if err != nil {
		return err
	}
	if removed.Replies > 0 || removed.Users > 0 {
		log.Info("retention: deleted old Slack rows", "slack_replies", removed.Replies, "slack_users", removed.Users, "before", cutoff)
	}
	return nil
}
