package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"firebreak/tokens"
)

// SessionAuthenticator finds who holds a web UI session. Roles map onto the API's scopes, so
// the answer is a Principal like a token's.
type SessionAuthenticator interface {
	// Session returns the principal of the live session named by id; ok is false when there
	// is no such session (unknown, expired, ended, or its user disabled). err is for a
	// failure to look it up, such as an unavailable database.
	Session(ctx context.Context, id string) (p tokens.Principal, ok bool, err error)
}

// SessionCookie names the cookie that carries a web UI session.
const SessionCookie = "firebreak_session"

// requireSession lets a request to a web UI page through only with a live session, and
// sends a browser without one to /login, back to the page it asked for after logging in.
func (s *Server) requireSession(c *fiber.Ctx) error {
	if s.deps.Accounts != nil {
		p, ok, err := s.proxyPrincipal(c)
		if err != nil {
			return err
		}
		if ok {
			c.Locals(principalKey, p)
			c.Locals(localsProxy, true)
			return c.Next()
		}
	}
	if id := c.Cookies(SessionCookie); id != "" {
		p, ok, err := s.deps.Sessions.Session(c.UserContext(), id)
		if err != nil {
			return err
		}
		if ok {
			c.Locals(principalKey, p)
			return c.Next()
		}
	}
	return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), http.StatusSeeOther)
}
