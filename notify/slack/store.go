package slack

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"firebreak/store"
)

// Roles of an incident's messages (slack_messages.role).
const (
	roleService         = "service"
	roleIncidentChannel = "incident_channel"
)

// message is one of an incident's Slack messages as recorded. A row without TS is a post
// whose outcome is not known yet: written before the post, it says a post may have happened.
type message struct {
	IncidentID int64          `db:"incident_id"`
	Role       string         `db:"role"`
	Channel    string         `db:"channel"`
	TS         sql.NullString `db:"ts"`
	PostingAt  time.Time      `db:"posting_at"`
	Rendered   string         `db:"rendered"`
}

// posted reports whether the message is known to be in Slack.
func (m *message) posted() bool { return m != nil && m.TS.Valid && m.TS.String != "" }

func getMessage(ctx context.Context, q store.Querier, incidentID int64, role string) (*message, error) {
	var m message
	err := q.GetContext(ctx, &m, q.Rebind(`SELECT incident_id, role, channel, ts, posting_at, rendered
		FROM slack_messages WHERE incident_id = ? AND role = ?`), incidentID, role)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the %s message of incident %d: %w", role, incidentID, err)
	}
	m.PostingAt = m.PostingAt.UTC()
	return &m, nil
}

// markPosting records, before a post, that one is about to happen.
func markPosting(ctx context.Context, q store.Querier, incidentID int64, role, channel string, at time.Time) error {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO slack_messages (incident_id, role, channel, ts, posting_at, rendered)
		VALUES (?, ?, ?, NULL, ?, '') ON CONFLICT (incident_id, role) DO UPDATE SET channel = excluded.channel,
		posting_at = excluded.posting_at WHERE slack_messages.ts IS NULL`), incidentID, role, channel, at.UTC())
	if err != nil {
		return fmt.Errorf("record the %s message of incident %d as posting: %w", role, incidentID, err)
	}
	return nil
}

// forgetPosting drops the marker of a post Slack certainly refused.
func forgetPosting(ctx context.Context, q store.Querier, incidentID int64, role string) error {
	_, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM slack_messages WHERE incident_id = ? AND role = ? AND ts IS NULL`), incidentID, role)
	if err != nil {
		return fmt.Errorf("forget the %s message of incident %d: %w", role, incidentID, err)
	}
	return nil
}

// recordPosted stores where a message is (the channel id Slack answered and the ts) and
// what it shows.
func recordPosted(ctx context.Context, q store.Querier, incidentID int64, role, channelID, ts, rendered string) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_messages SET channel = ?, ts = ?, rendered = ?
		WHERE incident_id = ? AND role = ?`), channelID, ts, rendered, incidentID, role)
	if err != nil {
		return fmt.Errorf("record the %s message of incident %d: %w", role, incidentID, err)
	}
	return nil
}

// recordRendered stores what an updated message shows now.
func recordRendered(ctx context.Context, q store.Querier, incidentID int64, role, rendered string) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_messages SET rendered = ? WHERE incident_id = ? AND role = ?`),
		rendered, incidentID, role)
	if err != nil {
		return fmt.Errorf("record the %s message of incident %d as updated: %w", role, incidentID, err)
	}
	return nil
}

// Where a reply goes (slack_replies.target).
const (
	// targetThread: the thread of the incident's message in its service's channel.
	targetThread = "thread"
	// targetIncidentChannel: the thread of the summary pinned in the incident's own channel,
	// also sent to the channel.
	targetIncidentChannel = "incident_channel"
)

// reply is a thread reply waiting to be posted, or whose post's outcome is unknown.
type reply struct {
	ID         int64          `db:"id"`
	IncidentID int64          `db:"incident_id"`
	Kind       string         `db:"kind"`
	Text       string         `db:"text"`
	Target     string         `db:"target"`
	CreatedAt  time.Time      `db:"created_at"`
	PostingAt  sql.NullTime   `db:"posting_at"`
	Channel    sql.NullString `db:"channel"`
}

func insertReply(ctx context.Context, q store.Querier, incidentID int64, kind, body string, at time.Time) error {
	return insertReplyTo(ctx, q, incidentID, targetThread, kind, body, at)
}

// insertReplyTo queues a reply to one of the incident's threads (a target*).
func insertReplyTo(ctx context.Context, q store.Querier, incidentID int64, target, kind, body string, at time.Time) error {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO slack_replies (incident_id, kind, text, target, created_at) VALUES (?, ?, ?, ?, ?)`),
		incidentID, kind, body, target, at.UTC())
	if err != nil {
		return fmt.Errorf("queue a Slack reply for incident %d: %w", incidentID, err)
	}
	return nil
}

// pendingReplies are an incident's replies not posted yet, oldest first.
func pendingReplies(ctx context.Context, q store.Querier, incidentID int64, limit int) ([]reply, error) {
	var out []reply
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT id, incident_id, kind, text, target, created_at, posting_at, channel
		FROM slack_replies WHERE incident_id = ? AND ts IS NULL AND skipped = FALSE ORDER BY id LIMIT ?`), incidentID, limit)
	if err != nil {
		return nil, fmt.Errorf("read pending Slack replies of incident %d: %w", incidentID, err)
	}
	return out, nil
}

func markReplyPosting(ctx context.Context, q store.Querier, id int64, channel string, at time.Time) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_replies SET posting_at = ?, channel = ? WHERE id = ?`), at.UTC(), channel, id)
	if err != nil {
		return fmt.Errorf("record Slack reply %d as posting: %w", id, err)
	}
	return nil
}

func forgetReplyPosting(ctx context.Context, q store.Querier, id int64) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_replies SET posting_at = NULL WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("forget Slack reply %d posting: %w", id, err)
	}
	return nil
}

func recordReplyPosted(ctx context.Context, q store.Querier, id int64, ts string) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_replies SET ts = ? WHERE id = ?`), ts, id)
	if err != nil {
		return fmt.Errorf("record Slack reply %d as posted: %w", id, err)
	}
	return nil
}

// skipReplies marks replies that need no post: suspects matched before the incident's
// message was first posted are in that message already. upTo is the newest reply id that
// was committed before the message was rendered.
func skipReplies(ctx context.Context, q store.Querier, incidentID int64, kind string, upTo int64) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_replies SET skipped = TRUE
		WHERE incident_id = ? AND kind = ? AND ts IS NULL AND posting_at IS NULL AND id <= ?`), incidentID, kind, upTo)
	if err != nil {
		return fmt.Errorf("skip Slack replies of incident %d: %w", incidentID, err)
	}
	return nil
}

// skipReply gives up a reply Slack refused.
func skipReply(ctx context.Context, q store.Querier, id int64) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_replies SET skipped = TRUE WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("skip Slack reply %d: %w", id, err)
	}
	return nil
}

// lastReplyID is the newest reply of an incident, posted or not; 0 when none.
func lastReplyID(ctx context.Context, q store.Querier, incidentID int64) (int64, error) {
	var id int64
	err := q.GetContext(ctx, &id, q.Rebind(`SELECT COALESCE(MAX(id), 0) FROM slack_replies WHERE incident_id = ?`), incidentID)
	if err != nil {
		return 0, fmt.Errorf("read the replies of incident %d: %w", incidentID, err)
	}
	return id, nil
}

// incidentChannel is an incident's own channel as recorded.
type incidentChannel struct {
	IncidentID int64          `db:"incident_id"`
	Name       string         `db:"name"`
	ChannelID  sql.NullString `db:"channel_id"`
	Invited    bool           `db:"invited"`
	Pinned     bool           `db:"pinned"`
	// ArchiveQueuedAt is when the archive job was queued; ArchivedAt when Slack archived it.
	ArchiveQueuedAt sql.NullTime `db:"archive_queued_at"`
	ArchivedAt      sql.NullTime `db:"archived_at"`
}

func (c *incidentChannel) created() bool {
	return c != nil && c.ChannelID.Valid && c.ChannelID.String != ""
}

// archiving reports whether the channel is archived or about to be: nothing more goes there.
func (c *incidentChannel) archiving() bool {
	return c != nil && (c.ArchiveQueuedAt.Valid || c.ArchivedAt.Valid)
}

func getIncidentChannel(ctx context.Context, q store.Querier, incidentID int64) (*incidentChannel, error) {
	var c incidentChannel
	err := q.GetContext(ctx, &c, q.Rebind(`SELECT incident_id, name, channel_id, invited, pinned, archive_queued_at, archived_at
		FROM slack_incident_channels WHERE incident_id = ?`), incidentID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the channel of incident %d: %w", incidentID, err)
	}
	return &c, nil
}

// incidentOfChannel is the incident whose own channel is channelID; 0 when it is none.
func incidentOfChannel(ctx context.Context, q store.Querier, channelID string) (int64, error) {
	var id int64
	err := q.GetContext(ctx, &id, q.Rebind(`SELECT incident_id FROM slack_incident_channels WHERE channel_id = ?`), channelID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find the incident of channel %s: %w", channelID, err)
	}
	return id, nil
}

func insertIncidentChannel(ctx context.Context, q store.Querier, incidentID int64, name string, at time.Time) error {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO slack_incident_channels (incident_id, name, created_at) VALUES (?, ?, ?)
		ON CONFLICT (incident_id) DO NOTHING`), incidentID, name, at.UTC())
	if err != nil {
		return fmt.Errorf("record the channel of incident %d: %w", incidentID, err)
	}
	return nil
}

func updateIncidentChannel(ctx context.Context, q store.Querier, c incidentChannel) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE slack_incident_channels SET channel_id = ?, invited = ?, pinned = ?
		WHERE incident_id = ?`), c.ChannelID, c.Invited, c.Pinned, c.IncidentID)
	if err != nil {
		return fmt.Errorf("record the channel of incident %d: %w", c.IncidentID, err)
	}
	return nil
}

// knownChannelID is the id Slack answered a post to the named channel with; "" when none yet.
func knownChannelID(ctx context.Context, q store.Querier, name string) (string, error) {
	var id string
	err := q.GetContext(ctx, &id, q.Rebind(`SELECT channel_id FROM slack_channel_ids WHERE name = ?`), name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the id of channel %s: %w", name, err)
	}
	return id, nil
}

func rememberChannelID(ctx context.Context, q store.Querier, name, id string) error {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO slack_channel_ids (name, channel_id) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET channel_id = excluded.channel_id`), name, id)
	if err != nil {
		return fmt.Errorf("record the id of channel %s: %w", name, err)
	}
	return nil
}

// cachedUser is a Slack user's display name as last fetched.
type cachedUser struct {
	Name      string    `db:"display_name"`
	FetchedAt time.Time `db:"fetched_at"`
}

func getCachedUser(ctx context.Context, q store.Querier, userID string) (*cachedUser, error) {
	var u cachedUser
	err := q.GetContext(ctx, &u, q.Rebind(`SELECT display_name, fetched_at FROM slack_users WHERE user_id = ?`), userID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Slack user %s: %w", userID, err)
	}
	u.FetchedAt = u.FetchedAt.UTC()
	return &u, nil
}

func putCachedUser(ctx context.Context, q store.Querier, userID, name string, at time.Time) error {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO slack_users (user_id, display_name, fetched_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, fetched_at = excluded.fetched_at`),
		userID, name, at.UTC())
	if err != nil {
		return fmt.Errorf("record Slack user %s: %w", userID, err)
	}
	return nil
}
