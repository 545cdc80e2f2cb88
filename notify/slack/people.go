package slack

import (
	"context"
	"slices"
	"strings"
	"sync"
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

// groupTTL is how long a user group's members are trusted before they are fetched again.
const groupTTL = 5 * time.Minute

// groupCache holds the members of the responders' user groups, fetched with
// usergroups.users.list.
type groupCache struct {
	clock func() time.Time
	mu    sync.Mutex
	byID  map[string]groupMembers
}

type groupMembers struct {
	users     []string
	fetchedAt time.Time
}

func newGroupCache(clock func() time.Time) *groupCache {
	return &groupCache{clock: clock, byID: map[string]groupMembers{}}
}

func (g *groupCache) get(id string) ([]string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.byID[id]
	if !ok || g.clock().Sub(m.fetchedAt) > groupTTL {
		return nil, false
	}
	return m.users, true
}

func (g *groupCache) put(id string, users []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.byID[id] = groupMembers{users: users, fetchedAt: g.clock()}
}

// isGroup reports whether a responders entry is a user group (S…) rather than a user.
func isGroup(id string) bool { return strings.HasPrefix(id, "S") }

// groupMembersOf lists a user group's members, from the cache when fresh.
func (s *Service) groupMembersOf(ctx context.Context, group string) ([]string, error) {
	if users, ok := s.groups.get(group); ok {
		return users, nil
	}
	var users []string
	err := s.call("usergroups.users.list", "", func() error {
		var err error
		users, err = s.api.GetUserGroupMembersContext(ctx, group)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.groups.put(group, users)
	return users, nil
}

// mayRespond reports whether a Slack user may acknowledge, remediate, resolve or roll back:
// anyone when slack.responders is empty, else the users listed and the members of the user
// groups listed. A group that cannot be read counts as not listing the user, and the error
// says so.
func (s *Service) mayRespond(ctx context.Context, userID string) (bool, error) {
	if len(s.cfg.Responders) == 0 || slices.Contains(s.cfg.Responders, userID) {
		return true, nil
	}
	var firstErr error
	for _, r := range s.cfg.Responders {
		if !isGroup(r) {
			continue
		}
		members, err := s.groupMembersOf(ctx, r)
		if err != nil {
			s.log.Warn("slack: reading a responders user group failed", "group", r, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if slices.Contains(members, userID) {
			return true, nil
		}
	}
	return false, firstErr
}

// responderUsers are the users to invite to an incident channel: the users listed and the
// members of the user groups listed, each once.
func (s *Service) responderUsers(ctx context.Context) ([]string, error) {
	var out []string
	for _, r := range s.cfg.Responders {
		if !isGroup(r) {
			out = append(out, r)
			continue
		}
		members, err := s.groupMembersOf(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, members...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
