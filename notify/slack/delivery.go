package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	slackapi "github.com/slack-go/slack"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
)

// repliesPerRead bounds how many pending replies one read takes.
const repliesPerRead = 50

// Handle brings one incident's Slack messages up to date: it is the outbox handler of
// JobKind. It reads the incident as it is now, so however many changes queued jobs, the
// one delivered sends the newest state: the message is posted once and then updated only
// when what it shows changed, the incident channel is created when due, and the queued
// thread replies are posted in order. Every step is recorded as it succeeds, so a retry
// resumes where the failed attempt stopped.
func (s *Service) Handle(ctx context.Context, j outbox.Job) (retry bool, err error) {
	var p job
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return false, fmt.Errorf("decode %s job %d: %w", JobKind, j.ID, err)
	}
	err = s.sync(ctx, p.IncidentID)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, incidents.ErrNotFound):
		s.log.Info("slack: the incident is gone; nothing to send", "incident", p.IncidentID)
		return false, nil
	}
	return retryable(err) || store.IsUnavailable(err), fmt.Errorf("incident %d: %w", p.IncidentID, err)
}

func (s *Service) sync(ctx context.Context, id int64) error {
	inc, err := s.deps.Incidents.Get(ctx, id)
	if err != nil {
		return err
	}
	main, err := getMessage(ctx, s.deps.DB.R, id, roleService)
	if err != nil {
		return err
	}
	// Read before the view: every suspect reply committed by now is in the view too.
	shownUpTo, err := lastReplyID(ctx, s.deps.DB.R, id)
	if err != nil {
		return err
	}
	v, err := s.view(ctx, inc)
	if err != nil {
		return err
	}
	if !main.posted() {
		posted, err := s.postOnce(ctx, id, roleService, s.channelFor(inc.Service), render(v))
		if err != nil {
			return err
		}
		if posted {
			// The suspects matched so far are in the message; a reply would repeat them.
			if err := skipReplies(ctx, s.deps.DB.W, id, string(deploys.KindDeploySuspected), shownUpTo); err != nil {
				return err
			}
		}
		if main, err = getMessage(ctx, s.deps.DB.R, id, roleService); err != nil {
			return err
		}
	}
	if err := s.ensureIncidentChannel(ctx, inc, &v); err != nil {
		return err
	}
	if err := s.updateIfChanged(ctx, main, render(v)); err != nil {
		return err
	}
	if v.ChannelID != "" {
		summary, err := s.incidentChannelSummary(ctx, id)
		if err != nil {
			return err
		}
		if err := s.updateIfChanged(ctx, summary, render(v)); err != nil {
			return err
		}
	}
	return s.postReplies(ctx, main)
}

// view reads what the incident's message shows.
func (s *Service) view(ctx context.Context, inc incidents.Incident) (incidentView, error) {
	v := incidentView{Inc: inc, CanRollback: s.cfg.RollbackServices[inc.Service] && s.deps.Rollbacks != nil, PublicURL: s.cfg.PublicURL}
	var err error
	if s.deps.Tracker != nil {
		if v.Suspects, err = s.deps.Tracker.Suspects(ctx, inc.ID); err != nil {
			return v, err
		}
	}
	if s.deps.Rollbacks != nil && len(v.Suspects) > 0 {
		v.Remedies = s.deps.Rollbacks.RemediesFor(v.Suspects[0].Deploy)
	}
	if v.Alerts, err = alerts.CountForIncident(ctx, s.deps.DB.R, inc.ID); err != nil {
		return v, err
	}
	ch, err := getIncidentChannel(ctx, s.deps.DB.R, inc.ID)
	if err != nil {
		return v, err
	}
	if ch.created() {
		v.ChannelID = ch.ChannelID.String
	}
	return v, nil
}

// postOnce posts an incident's message of a role unless it is known to be posted, and
// reports whether it posted it now. At most once: the row saying a post is under way is
// committed before the post, and the ts after it. A retry that finds the row without a ts
// (the process stopped, or the answer was lost, between the two) first looks for the message
// in the channel by the metadata every post carries, and posts only if it is not there. A
// post Slack certainly refused (it answered with an error or a rate limit) drops the row.
func (s *Service) postOnce(ctx context.Context, id int64, role, channel string, r rendered) (bool, error) {
	m, err := getMessage(ctx, s.deps.DB.R, id, role)
	if err != nil || m.posted() {
		return false, err
	}
	if m != nil {
		found, err := s.findPosted(ctx, m, postedMatch(id, role, 0))
		if err != nil {
			return false, err
		}
		if found {
			return false, nil
		}
		channel = m.Channel
	}
	if err := s.paced("chat.postMessage", channel); err != nil {
		return false, err
	}
	if err := markPosting(ctx, s.deps.DB.W, id, role, channel, s.now()); err != nil {
		return false, err
	}
	var chID, ts string
	err = s.call("chat.postMessage", channel, func() error {
		var err error
		chID, ts, err = s.api.PostMessageContext(ctx, channel, slackapi.MsgOptionText(r.Text, false),
			slackapi.MsgOptionBlocks(r.Blocks...), slackapi.MsgOptionMetadata(metadata(id, role, 0)))
		return err
	})
	if err != nil {
		if notSent(err) {
			if ferr := forgetPosting(ctx, s.deps.DB.W, id, role); ferr != nil {
				s.log.Warn("slack: forgetting a refused post failed; the retry looks for it first", "incident", id, "err", ferr)
			}
		}
		return false, err
	}
	if err := recordPosted(ctx, s.deps.DB.W, id, role, chID, ts, r.Digest); err != nil {
		return true, err
	}
	if chID != channel {
		if err := rememberChannelID(ctx, s.deps.DB.W, channel, chID); err != nil {
			s.log.Warn("slack: recording a channel id failed", "channel", channel, "err", err)
		}
	}
	return true, nil
}

// updateIfChanged sends chat.update when the message shows something else than it did. A
// message Slack no longer has is left alone (someone deleted it).
func (s *Service) updateIfChanged(ctx context.Context, m *message, r rendered) error {
	if !m.posted() || m.Rendered == r.Digest {
		return nil
	}
	err := s.call("chat.update", m.Channel, func() error {
		_, _, _, err := s.api.UpdateMessageContext(ctx, m.Channel, m.TS.String, slackapi.MsgOptionText(r.Text, false),
			slackapi.MsgOptionBlocks(r.Blocks...))
		return err
	})
	if err != nil && !retryable(err) {
		s.log.Error("slack: Slack refused to update an incident's message; it stays as it was", "incident", m.IncidentID,
			"role", m.Role, "err", err)
		return recordRendered(ctx, s.deps.DB.W, m.IncidentID, m.Role, r.Digest)
	}
	if err != nil {
		return err
	}
	return recordRendered(ctx, s.deps.DB.W, m.IncidentID, m.Role, r.Digest)
}

// postReplies posts the incident's queued thread replies, oldest first, one at a time.
func (s *Service) postReplies(ctx context.Context, main *message) error {
	for {
		batch, err := pendingReplies(ctx, s.deps.DB.R, main.IncidentID, repliesPerRead)
		if err != nil || len(batch) == 0 {
			return err
		}
		for _, r := range batch {
			thread := main
			if r.Target == targetIncidentChannel {
				if thread, err = s.incidentChannelSummary(ctx, r.IncidentID); err != nil {
					return err
				}
				if thread == nil {
					s.log.Info("slack: a reply for the incident's channel has no channel to go to; skipped", "incident", r.IncidentID,
						"reply", r.ID)
					if err := skipReply(ctx, s.deps.DB.W, r.ID); err != nil {
						return err
					}
					continue
				}
			}
			if err := s.postReply(ctx, thread, r); err != nil {
				return err
			}
		}
	}
}

// postReply posts one reply in the message's thread, at most once as postOnce does. A reply
// for the incident's own channel is also sent to the channel, where its people look.
func (s *Service) postReply(ctx context.Context, main *message, r reply) error {
	if r.PostingAt.Valid {
		m := &message{IncidentID: r.IncidentID, Channel: r.Channel.String, PostingAt: r.PostingAt.Time.UTC(), TS: main.TS}
		found, err := s.findReply(ctx, m, r.ID)
		if err != nil || found {
			return err
		}
	}
	if err := s.paced("chat.postMessage", main.Channel); err != nil {
		return err
	}
	if err := markReplyPosting(ctx, s.deps.DB.W, r.ID, main.Channel, s.now()); err != nil {
		return err
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(r.Text, false), slackapi.MsgOptionTS(main.TS.String),
		slackapi.MsgOptionMetadata(metadata(r.IncidentID, roleReply, r.ID))}
	if r.Target == targetIncidentChannel {
		opts = append(opts, slackapi.MsgOptionBroadcast())
	}
	var ts string
	err := s.call("chat.postMessage", main.Channel, func() error {
		var err error
		_, ts, err = s.api.PostMessageContext(ctx, main.Channel, opts...)
		return err
	})
	switch {
	case err != nil && notSent(err) && !retryable(err):
		s.log.Error("slack: Slack refused a thread reply; it is skipped", "incident", r.IncidentID, "reply", r.ID, "err", err)
		return skipReply(ctx, s.deps.DB.W, r.ID)
	case err != nil && notSent(err):
		if ferr := forgetReplyPosting(ctx, s.deps.DB.W, r.ID); ferr != nil {
			s.log.Warn("slack: forgetting a refused reply failed; the retry looks for it first", "reply", r.ID, "err", ferr)
		}
		return err
	case err != nil:
		return err
	}
	return recordReplyPosted(ctx, s.deps.DB.W, r.ID, ts)
}

// roleReply marks thread replies in message metadata.
const roleReply = "reply"

// metadata marks a message as Firebreak's: which incident, which of its messages.
func metadata(incidentID int64, role string, replyID int64) slackapi.SlackMetadata {
	p := map[string]any{"incident_id": strconv.FormatInt(incidentID, 10), "role": role}
	if replyID != 0 {
		p["reply_id"] = strconv.FormatInt(replyID, 10)
	}
	return slackapi.SlackMetadata{EventType: metadataType, EventPayload: p}
}

// postedMatch recognises the metadata of one of Firebreak's messages.
func postedMatch(incidentID int64, role string, replyID int64) func(slackapi.Message) bool {
	want := metadata(incidentID, role, replyID).EventPayload
	return func(m slackapi.Message) bool {
		if m.Metadata.EventType != metadataType {
			return false
		}
		for k, v := range want {
			if fmt.Sprint(m.Metadata.EventPayload[k]) != v {
				return false
			}
		}
		return true
	}
}

// paced returns the wait Slack asked for on method and channel, as outbox.RetryAfter, or nil.
func (s *Service) paced(method, channel string) error {
	if d := s.pace.wait(method, channel); d > 0 {
		return outbox.RetryAfter(d, fmt.Errorf("%s on %s: waiting out Slack's rate limit", method, channel))
	}
	return nil
}
