package web

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"firebreak/tokens"
)

const principalKey = "firebreak.principal"

// authenticate accepts "Authorization: Bearer <token>", and HTTP basic auth with the token
// as password because Alertmanager's http_config offers that too.
func (s *Server) authenticate(c *fiber.Ctx) error {
	token := presentedToken(c.Get(fiber.HeaderAuthorization))
	if token == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="firebreak"`)
		return fiber.NewError(http.StatusUnauthorized, "missing token: send Authorization: Bearer <token>")
	}
	p, err := s.deps.Auth.Authenticate(c.UserContext(), token)
	if errors.Is(err, tokens.ErrInvalidToken) {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="firebreak"`)
		return fiber.NewError(http.StatusUnauthorized, "invalid token")
	}
	if err != nil {
		return err
	}
	c.Locals(principalKey, p)
	return c.Next()
}

func presentedToken(header string) string {
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "bearer":
		return strings.TrimSpace(rest)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return ""
		}
		_, password, _ := strings.Cut(string(raw), ":")
		return password
	}
	return ""
}

// require refuses the request with 403 unless the token has scope (admin has every scope).
func (s *Server) require(scope tokens.Scope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !principal(c).Scopes.Allows(scope) {
			return fiber.NewError(http.StatusForbidden, "this token lacks the "+string(scope)+" scope")
		}
		return c.Next()
	}
}

func principal(c *fiber.Ctx) tokens.Principal {
	p, _ := c.Locals(principalKey).(tokens.Principal)
	return p
}

// actor names who did something through the API, for the timeline.
func actor(c *fiber.Ctx) string { return principal(c).Name }
