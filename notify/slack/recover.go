package slack

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
)

// Looking for a post whose answer was lost reads the channel's history from a little before
// the post was attempted, at most this many pages.
const (
	recoverySlack = time.Minute
	maxSearchPage = 5
	searchPage    = 200
)

// findPosted looks in the channel for the message m says was being posted, and records it
// when found. A channel Slack will not let Firebreak read (no channels:history scope) cannot
// be searched: the message is then posted again, and the log says why.
func (s *Service) findPosted(ctx context.Context, m *message, match func(slackapi.Message) bool) (bool, error) {
	chID, err := s.channelID(ctx, m.Channel)
	if err != nil {
		return s.unsearchable(m, err)
	}
	oldest := unixTS(m.PostingAt.Add(-recoverySlack))
	cursor := ""
	for page := 0; page < maxSearchPage; page++ {
		var resp *slackapi.GetConversationHistoryResponse
		err := s.call("conversations.history", chID, func() error {
			var err error
			resp, err = s.api.GetConversationHistoryContext(ctx, &slackapi.GetConversationHistoryParameters{
				ChannelID: chID, Oldest: oldest, Inclusive: true, Limit: searchPage, Cursor: cursor, IncludeAllMetadata: true})
			return err
		})
		if err != nil {
			return s.unsearchable(m, err)
		}
		for _, msg := range resp.Messages {
			if match(msg) {
				s.log.Info("slack: found the message whose post went unanswered; not posting it again", "incident", m.IncidentID,
					"role", m.Role, "ts", msg.Timestamp)
				return true, recordPosted(ctx, s.deps.DB.W, m.IncidentID, m.Role, chID, msg.Timestamp, "")
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		cursor = resp.ResponseMetaData.NextCursor
	}
	return false, nil
}

// findReply looks in the message's thread for a reply whose post went unanswered.
func (s *Service) findReply(ctx context.Context, m *message, replyID int64) (bool, error) {
	match := postedMatch(m.IncidentID, roleReply, replyID)
	cursor := ""
	for page := 0; page < maxSearchPage; page++ {
		var msgs []slackapi.Message
		var more bool
		err := s.call("conversations.replies", m.Channel, func() error {
			var err error
			msgs, more, cursor, err = s.api.GetConversationRepliesContext(ctx, &slackapi.GetConversationRepliesParameters{
				ChannelID: m.Channel, Timestamp: m.TS.String, Oldest: unixTS(m.PostingAt.Add(-recoverySlack)), Inclusive: true,
				Limit: searchPage, Cursor: cursor, IncludeAllMetadata: true})
			return err
		})
		if err != nil {
			return s.unsearchable(m, err)
		}
		for _, msg := range msgs {
			if match(msg) {
				return true, recordReplyPosted(ctx, s.deps.DB.W, replyID, msg.Timestamp)
			}
		}
		if !more || cursor == "" {
			break
		}
	}
	return false, nil
}

// unsearchable decides what a failed search means: Slack down or rate limiting is retried
// later; a refusal (missing scope, not in the channel) means the channel cannot be searched,
// and the message is posted again rather than never.
func (s *Service) unsearchable(m *message, err error) (bool, error) {
	if retryable(err) {
		return false, err
	}
	s.log.Warn("slack: cannot look for a message whose post went unanswered; posting it again (give the app "+
		"channels:history and groups:history to avoid a possible duplicate)", "incident", m.IncidentID, "role", m.Role, "err", err)
	return false, nil
}

// channelID turns a configured channel ("#incidents", "incidents" or an id) into its id:
// from the id Slack answered an earlier post with, else by listing the channels.
func (s *Service) channelID(ctx context.Context, channel string) (string, error) {
	if isChannelID(channel) {
		return channel, nil
	}
	if id, err := knownChannelID(ctx, s.deps.DB.R, channel); err != nil || id != "" {
		return id, err
	}
	id, err := s.findChannelByName(ctx, strings.TrimPrefix(channel, "#"))
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", slackapi.SlackErrorResponse{Err: "channel_not_found"}
	}
	return id, rememberChannelID(ctx, s.deps.DB.W, channel, id)
}

// findChannelByName lists the channels Firebreak can see for one named name; "" when none.
func (s *Service) findChannelByName(ctx context.Context, name string) (string, error) {
	cursor := ""
	for page := 0; page < 50; page++ {
		var chans []slackapi.Channel
		err := s.call("conversations.list", "", func() error {
			var err error
			chans, cursor, err = s.api.GetConversationsContext(ctx, &slackapi.GetConversationsParameters{
				Cursor: cursor, ExcludeArchived: true, Limit: 1000, Types: []string{"public_channel", "private_channel"}})
			return err
		})
		if err != nil {
			return "", err
		}
		for _, c := range chans {
			if c.Name == name {
				return c.ID, nil
			}
		}
		if cursor == "" {
			break
		}
	}
	return "", nil
}

// isChannelID recognises Slack's conversation ids (C…, G…, D…).
func isChannelID(s string) bool {
	if len(s) < 7 || !strings.ContainsRune("CGD", rune(s[0])) {
		return false
	}
	for _, r := range s[1:] {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// unixTS writes a time as Slack's timestamps are written.
func unixTS(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + fmt.Sprintf("%06d", t.Nanosecond()/1000)
}
