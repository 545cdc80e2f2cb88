package slack

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"firebreak/incidents"
)

// Slack's limit on a channel name, and how many users one conversations.invite takes.
const (
	maxChannelName   = 80
	maxInvitesAtOnce = 1000
)

// ensureIncidentChannel gives an incident at or above slack.incident_channels.min_severity
// its own channel, once: created (its name stored first, so a retry creates that same
// channel or finds it), the responders invited, the summary posted and pinned. v learns the
// channel, which the service channel's message links to.
func (s *Service) ensureIncidentChannel(ctx context.Context, inc incidents.Incident, v *incidentView) error {
	ic := s.cfg.IncidentChannels
	if ic == nil {
		return nil
	}
	c, err := getIncidentChannel(ctx, s.deps.DB.R, inc.ID)
	if err != nil {
		return err
	}
	if c == nil {
		if !inc.Open() || !inc.Severity.AtLeast(ic.MinSeverity) {
			return nil
		}
		if err := insertIncidentChannel(ctx, s.deps.DB.W, inc.ID, channelName(ic.Prefix, inc.ID, inc.Title), s.now()); err != nil {
			return err
		}
		if c, err = getIncidentChannel(ctx, s.deps.DB.R, inc.ID); err != nil {
			return err
		}
	}
	if !c.created() {
		if err := s.createChannel(ctx, c); err != nil {
			return err
		}
	}
	v.ChannelID = c.ChannelID.String
	if !c.Invited {
		if err := s.inviteResponders(ctx, c.ChannelID.String); err != nil {
			return err
		}
		c.Invited = true
		if err := updateIncidentChannel(ctx, s.deps.DB.W, *c); err != nil {
			return err
		}
	}
	if _, err := s.postOnce(ctx, inc.ID, roleIncidentChannel, c.ChannelID.String, render(*v)); err != nil {
		return err
	}
	if !c.Pinned {
		summary, err := getMessage(ctx, s.deps.DB.R, inc.ID, roleIncidentChannel)
		if err != nil {
			return err
		}
		err = s.call("pins.add", summary.Channel, func() error {
			return s.api.AddPinContext(ctx, summary.Channel, slackapi.NewRefToMessage(summary.Channel, summary.TS.String))
		})
		if err != nil && apiError(err) != "already_pinned" {
			return err
		}
		c.Pinned = true
		return updateIncidentChannel(ctx, s.deps.DB.W, *c)
	}
	return nil
}

// createChannel creates the channel by its stored name; a name already taken is most likely
// this same channel, created by an attempt whose answer was lost, and is looked up.
func (s *Service) createChannel(ctx context.Context, c *incidentChannel) error {
	var id string
	err := s.call("conversations.create", "", func() error {
		ch, err := s.api.CreateConversationContext(ctx, slackapi.CreateConversationParams{ChannelName: c.Name})
		if err == nil {
			id = ch.ID
		}
		return err
	})
	if apiError(err) == "name_taken" {
		if id, err = s.findChannelByName(ctx, c.Name); err == nil && id == "" {
			err = slackapi.SlackErrorResponse{Err: "name_taken"}
		}
	}
	if err != nil {
		return err
	}
	c.ChannelID = sql.NullString{String: id, Valid: true}
	return updateIncidentChannel(ctx, s.deps.DB.W, *c)
}

// inviteResponders invites slack.responders (their user groups' members too).
func (s *Service) inviteResponders(ctx context.Context, channelID string) error {
	users, err := s.responderUsers(ctx)
	if err != nil {
		return err
	}
	for len(users) > 0 {
		n := min(len(users), maxInvitesAtOnce)
		batch := users[:n]
		users = users[n:]
		err := s.call("conversations.invite", channelID, func() error {
			_, err := s.api.ForceInviteUsersToConversationContext(ctx, channelID, batch...)
			return err
		})
		switch apiError(err) {
		case "already_in_channel", "cant_invite_self":
			err = nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// channelName is <prefix><id>-<title words>: lowercase letters, digits and hyphens, at most
// Slack's 80 characters.
func channelName(prefix string, id int64, title string) string {
	name := prefix + strconv.FormatInt(id, 10)
	var slug strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && slug.Len() > 0 {
				slug.WriteByte('-')
			}
			slug.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	if slug.Len() > 0 {
		name += "-" + slug.String()
	}
	if len(name) > maxChannelName {
		name = strings.TrimRight(name[:maxChannelName], "-")
	}
	return name
}
