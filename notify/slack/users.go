package slack

import (
	"context"
	"strings"
	"time"

	"firebreak/text"
)

// userNameTTL is how long a fetched display name is used before users.info is asked again.
const userNameTTL = 24 * time.Hour

// maxUserName bounds a name as it goes onto the timeline.
const maxUserName = 80

// user is the Slack user behind a request: the id Slack signed, and the user name the same
// request carried (used only when Slack cannot tell the display name).
type user struct {
	ID   string
	Name string
}

// displayName names a Slack user on the timeline and in messages: the display name users.info
// gives (else the real name, else the user name), kept in the database so people are named
// even while Slack is unreachable. Never a bare id: without any name from Slack it is the
// user name the request carried, and failing that "Slack user <id>".
func (s *Service) displayName(ctx context.Context, u user) string {
	cached, err := getCachedUser(ctx, s.deps.DB.R, u.ID)
	if err != nil {
		s.log.Warn("slack: reading a cached user name failed", "user", u.ID, "err", err)
	}
	if cached != nil && s.now().Sub(cached.FetchedAt) < userNameTTL {
		return cached.Name
	}
	name := ""
	err = s.call("users.info", "", func() error {
		info, err := s.api.GetUserInfoContext(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, n := range []string{info.Profile.DisplayName, info.Profile.RealName, info.RealName, info.Name} {
			if n = text.OneLine(n, maxUserName); n != "" {
				name = n
				break
			}
		}
		return nil
	})
	if err != nil || name == "" {
		s.log.Warn("slack: users.info failed; naming the user by what the request said", "user", u.ID, "err", err)
		switch {
		case cached != nil:
			return cached.Name
		case strings.TrimSpace(u.Name) != "":
			return text.OneLine(u.Name, maxUserName)
		}
		return "Slack user " + u.ID
	}
	if err := putCachedUser(ctx, s.deps.DB.W, u.ID, name, s.now()); err != nil {
		s.log.Warn("slack: caching a user name failed", "user", u.ID, "err", err)
	}
	return name
}
